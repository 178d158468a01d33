package runner

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestParsePerturbations(t *testing.T) {
	ps, err := ParsePerturbations("syscall-delay=2ms, one-cpu,cpu-contention=3,chaos,unbuffered")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.String())
	}
	if got := strings.Join(names, ","); got != "none,syscall-delay=2ms,one-cpu,cpu-contention=3,chaos,unbuffered" {
		t.Errorf("got %s (none must come first when missing)", got)
	}
	if ps[1].Delay != 2*time.Millisecond || ps[3].Threads != 3 {
		t.Errorf("parameters lost: %+v", ps)
	}
	for _, bad := range []string{"syscall-delay", "syscall-delay=0", "syscall-delay=x", "cpu-contention", "cpu-contention=0",
		"one-cpu=2", "none=1", "frob", "chaos,chaos", "syscall-delay=1ms,syscall-delay=1000us"} {
		if _, err := ParsePerturbations(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParsePerturbations(DefaultPerturbations()); err != nil {
		t.Errorf("default set: %v", err)
	}
}

func FuzzParsePerturbations(f *testing.F) {
	for _, s := range []string{DefaultPerturbations(), "syscall-delay=1ms", "cpu-contention=", ",,none,", "one-cpu=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePerturbations(s)
		if err != nil {
			return
		}
		// What parses prints back to something that parses to the same.
		var names []string
		for _, p := range ps {
			names = append(names, p.String())
		}
		again, err := ParsePerturbations(strings.Join(names, ","))
		if err != nil || len(again) != len(ps) {
			t.Fatalf("%q -> %v -> %v, %v", s, names, again, err)
		}
		for i := range ps {
			if again[i] != ps[i] {
				t.Fatalf("%q: %+v != %+v", s, again[i], ps[i])
			}
		}
		if ps[0].Kind != None && !strings.Contains(s, "none") {
			t.Fatalf("%q: baseline not first: %+v", s, ps)
		}
	})
}

func TestParseStatPPID(t *testing.T) {
	for _, c := range []struct {
		stat string
		ppid int
		ok   bool
	}{
		{"1234 (sh) S 99 1234 1234 0 -1", 99, true},
		{"1234 (a) b) (c) R 7 1 1", 7, true},
		{"1234 (sh", 0, false},
		{"1234 (sh) S", 0, false},
		{"1234 (sh) S x", 0, false},
	} {
		ppid, ok := parseStatPPID(c.stat)
		if ppid != c.ppid || ok != c.ok {
			t.Errorf("parseStatPPID(%q) = %d, %v; want %d, %v", c.stat, ppid, ok, c.ppid, c.ok)
		}
	}
}

func FuzzParseStatPPID(f *testing.F) {
	f.Add("1234 (sh) S 99 1234 1234 0 -1")
	f.Add("1 ((()) R 0")
	f.Fuzz(func(t *testing.T, s string) {
		if ppid, ok := parseStatPPID(s); !ok && ppid != 0 {
			t.Fatalf("%q: ppid %d with !ok", s, ppid)
		}
	})
}

// tallies builds a report from counts alone.
func reportOf(ps []Perturbation, counts ...[2]int) *Report {
	ts := make([]*tally, len(counts))
	for i, c := range counts {
		ts[i] = &tally{runs: c[1], failures: c[0], durs: []time.Duration{time.Second, 3 * time.Second}}
	}
	return buildReport(ps, ts, time.Minute, false)
}

func TestRunRejectsBadConfig(t *testing.T) {
	ps, _ := ParsePerturbations("none")
	for _, cfg := range []Config{
		{Command: []string{"true"}, Perturbations: ps, Runs: -1, Duration: time.Second},
		{Command: []string{"true"}, Perturbations: ps, Runs: 1, Duration: -time.Second},
		{Command: []string{"true"}, Perturbations: ps, Runs: 1, Timeout: -time.Second},
		{Command: []string{"true"}, Perturbations: ps, Runs: 1, Parallel: -1},
		{Command: []string{"true"}, Perturbations: ps, Runs: 1, Syscalls: "nosuchcall"},
		{Perturbations: ps, Runs: 1},
	} {
		if rep, err := Run(context.Background(), cfg); err == nil || rep != nil {
			t.Errorf("Run(runs %d, duration %v, timeout %v, parallel %d, syscalls %q, command %q) = %v, %v; want an error",
				cfg.Runs, cfg.Duration, cfg.Timeout, cfg.Parallel, cfg.Syscalls, cfg.Command, rep, err)
		}
	}
}

func TestVerdicts(t *testing.T) {
	ps, _ := ParsePerturbations("none,syscall-delay=1ms,one-cpu,chaos")
	// Fisher two-sided p: 10/20 vs 0/20 = 0.000436; 20/20 vs 10/20 = 0.000436;
	// 7/20 vs 10/20 = 0.5231. Holm over 3 at 5%: 0.000436 < 0.05/3 and
	// < 0.05/2, then 0.52 > 0.05: raises, lowers, no-change.
	rep := reportOf(ps, [2]int{10, 20}, [2]int{0, 20}, [2]int{20, 20}, [2]int{7, 20})
	want := []string{Baseline, Lowers, Raises, NoChange}
	for i, r := range rep.Results {
		if r.Verdict != want[i] {
			t.Errorf("%s: verdict %s, want %s", r.Perturbation, r.Verdict, want[i])
		}
	}
	if p := *rep.Results[1].P; p < 0.000435 || p > 0.000437 {
		t.Errorf("Fisher p = %v, want 0.000436 (exact, computed with rational binomials)", p)
	}
	if rep.Results[0].P != nil {
		t.Error("the baseline has a p-value")
	}
	if rep.Compared != 3 || rep.Results[0].MedianS != 2 {
		t.Errorf("compared %d, median %v", rep.Compared, rep.Results[0].MedianS)
	}
	if !strings.Contains(rep.Results[1].Reading, "vanish when syscalls are slowed") || rep.Results[3].Reading != "" {
		t.Errorf("readings %q / %q", rep.Results[1].Reading, rep.Results[3].Reading)
	}
	if !strings.Contains(rep.Results[2].Reading, "failures grow on one CPU") {
		t.Errorf("one-cpu raises: reading %q", rep.Results[2].Reading)
	}
	if rep.Summary != "timing-sensitive: the failure rate changes under syscall-delay=1ms and one-cpu" {
		t.Errorf("summary %q", rep.Summary)
	}
	three := reportOf(ps, [2]int{10, 20}, [2]int{0, 20}, [2]int{20, 20}, [2]int{0, 20})
	if want := "timing-sensitive: the failure rate changes under syscall-delay=1ms, one-cpu, and chaos"; three.Summary != want {
		t.Errorf("summary %q, want %q", three.Summary, want)
	}

	// Holm makes the same p insignificant in a larger family: 3/20 vs
	// 10/20 has p = 0.0407, below 0.05 alone but not below 0.05/3.
	alone, _ := ParsePerturbations("none,chaos")
	if v := reportOf(alone, [2]int{10, 20}, [2]int{3, 20}).Results[1].Verdict; v != Lowers {
		t.Errorf("one comparison at p=0.04: %s, want lowers", v)
	}
	if v := reportOf(ps, [2]int{10, 20}, [2]int{3, 20}, [2]int{10, 20}, [2]int{10, 20}).Results[1].Verdict; v != NoChange {
		t.Errorf("three comparisons at p=0.04: %s, want no-change after Holm", v)
	}
}
