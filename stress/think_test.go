package stress

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseThink(t *testing.T) {
	good := map[string]Think{
		"":                {},
		"0":               {},
		"const:1ms":       {Dist: "const", A: time.Millisecond},
		"exp:5ms":         {Dist: "exp", A: 5 * time.Millisecond},
		"uniform:1ms-3ms": {Dist: "uniform", A: time.Millisecond, B: 3 * time.Millisecond},
	}
	for in, want := range good {
		got, err := ParseThink(in)
		if err != nil || got != want {
			t.Errorf("ParseThink(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"5ms":             "want DIST:ARG",
		"gauss:5ms":       "unknown distribution",
		"exp:fast":        "invalid duration",
		"exp:-1ms":        "negative",
		"uniform:3ms":     "LOW-HIGH",
		"uniform:3ms-1ms": "below low",
	}
	for in, want := range bad {
		if _, err := ParseThink(in); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseThink(%q) error = %v, want one naming the input and saying %q", in, err, want)
		}
	}
}

func TestThinkSample(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	u := Think{Dist: "uniform", A: time.Millisecond, B: 2 * time.Millisecond}
	e := Think{Dist: "exp", A: time.Millisecond}
	var sum time.Duration
	const n = 20000
	for range n {
		if d := u.Sample(r); d < u.A || d > u.B {
			t.Fatalf("uniform sample %v outside [%v, %v]", d, u.A, u.B)
		}
		sum += e.Sample(r)
	}
	if mean := sum / n; mean < 900*time.Microsecond || mean > 1100*time.Microsecond {
		t.Fatalf("exp:1ms mean over %d samples = %v", n, mean)
	}
	if d := (Think{}).Sample(r); d != 0 {
		t.Fatalf("zero Think sampled %v", d)
	}
}

func FuzzParseThink(f *testing.F) {
	for _, s := range []string{"exp:5ms", "const:1ms", "uniform:1ms-3ms", "uniform:-", "exp:", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThink(s)
		if err != nil {
			return
		}
		again, err := ParseThink(th.String())
		if err != nil || again != th {
			t.Fatalf("ParseThink(%q) = %+v, String %q reparses as %+v, %v", s, th, th.String(), again, err)
		}
		if th.A < 0 || th.B < 0 {
			t.Fatalf("ParseThink(%q) accepted a negative duration", s)
		}
	})
}
