package stress

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Think is the distribution of a writer's pause between two writes. The
// zero Think never pauses: the hot regime where races are frequent. A
// pause moves writers toward the rare regime of the story, where a race
// needs two writes to land in the same second by chance.
type Think struct {
	Dist string        // "", "const", "exp" or "uniform"
	A, B time.Duration // const: A; exp: mean A; uniform: [A, B]
}

// ParseThink parses "const:1ms", "exp:5ms" (exponential with that mean),
// "uniform:1ms-3ms", or "" and "0" for no pause.
func ParseThink(s string) (Think, error) {
	if s == "" || s == "0" || s == "none" {
		return Think{}, nil
	}
	dist, arg, ok := strings.Cut(s, ":")
	if !ok {
		return Think{}, fmt.Errorf("think %q: want DIST:ARG, e.g. exp:5ms, const:1ms or uniform:1ms-3ms", s)
	}
	dur := func(v string) (time.Duration, error) {
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("think %q: %w", s, err)
		}
		if d < 0 {
			return 0, fmt.Errorf("think %q: negative duration %s", s, v)
		}
		return d, nil
	}
	t := Think{Dist: dist}
	var err error
	switch dist {
	case "const", "exp":
		t.A, err = dur(arg)
	case "uniform":
		lo, hi, ok := strings.Cut(arg, "-")
		if !ok {
			return Think{}, fmt.Errorf("think %q: uniform wants LOW-HIGH, e.g. uniform:1ms-3ms", s)
		}
		if t.A, err = dur(lo); err != nil {
			return Think{}, err
		}
		if t.B, err = dur(hi); err != nil {
			return Think{}, err
		}
		if t.B < t.A {
			return Think{}, fmt.Errorf("think %q: high %s is below low %s", s, t.B, t.A)
		}
	default:
		return Think{}, fmt.Errorf("think %q: unknown distribution %q (want const, exp or uniform)", s, dist)
	}
	if err != nil {
		return Think{}, err
	}
	return t, nil
}

// String is the inverse of ParseThink.
func (t Think) String() string {
	switch t.Dist {
	case "":
		return "0"
	case "uniform":
		return fmt.Sprintf("uniform:%s-%s", t.A, t.B)
	}
	return fmt.Sprintf("%s:%s", t.Dist, t.A)
}

// Sample draws one pause.
func (t Think) Sample(r *rand.Rand) time.Duration {
	switch t.Dist {
	case "const":
		return t.A
	case "exp":
		return time.Duration(r.ExpFloat64() * float64(t.A))
	case "uniform":
		return t.A + time.Duration(r.Int64N(int64(t.B-t.A)+1))
	}
	return 0
}
