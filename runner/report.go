package runner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/internal/stats"
)

// Alpha is the family-wise error rate of the verdicts: a perturbation is
// said to raise or lower the failure rate when Fisher's exact test against
// the baseline, Holm-corrected over all perturbations compared, is
// significant at this level (95% confidence).
const Alpha = 0.05

// Verdicts.
const (
	Baseline = "baseline"
	Raises   = "raises"
	Lowers   = "lowers"
	NoChange = "no-change"
)

// Result is what one perturbation measured. The JSON names are heisen
// run --json's.
type Result struct {
	Perturbation string  `json:"perturbation"`
	Runs         int     `json:"runs"`
	Failures     int     `json:"failures"`
	Timeouts     int     `json:"timeouts,omitempty"`
	Rate         float64 `json:"rate"`
	CILow        float64 `json:"ci_low"`  // 95% Wilson interval of Rate
	CIHigh       float64 `json:"ci_high"` //
	MedianS      float64 `json:"median_s"`
	// P is Fisher's exact two-sided p-value against the baseline, before
	// the Holm correction; absent for the baseline.
	P       *float64 `json:"p,omitempty"`
	Verdict string   `json:"verdict"`
	Reading string   `json:"reading,omitempty"`
}

// Report is a whole comparison.
type Report struct {
	Results     []Result // in the order of Config.Perturbations; the first None is the baseline
	Compared    int      // perturbations tested against the baseline (the Holm family)
	Elapsed     time.Duration
	Interrupted bool   // cancelled before all runs were done
	Summary     string // one line over all verdicts
}

type tally struct {
	runs, failures, timeouts int
	durs                     []time.Duration
}

func (t *tally) add(o outcome) {
	t.runs++
	if o.failed {
		t.failures++
	}
	if o.timedOut {
		t.timeouts++
	}
	t.durs = append(t.durs, o.dur)
}

func (r *runner) report(elapsed time.Duration, interrupted bool) *Report {
	return buildReport(r.cfg.Perturbations, r.stats, elapsed, interrupted)
}

func buildReport(ps []Perturbation, tallies []*tally, elapsed time.Duration, interrupted bool) *Report {
	rep := &Report{Elapsed: elapsed, Interrupted: interrupted}
	base := slices.IndexFunc(ps, func(p Perturbation) bool { return p.Kind == None })
	var pvals []float64
	var compared []int
	for i, p := range ps {
		t := tallies[i]
		lo, hi := stats.Wilson(t.failures, t.runs, stats.Z95)
		res := Result{
			Perturbation: p.String(), Runs: t.runs, Failures: t.failures, Timeouts: t.timeouts,
			CILow: lo, CIHigh: hi, MedianS: stats.Median(t.durs).Seconds(), Verdict: Baseline,
		}
		if t.runs > 0 {
			res.Rate = float64(t.failures) / float64(t.runs)
		}
		if i != base && base >= 0 {
			b := tallies[base]
			pv := stats.FisherExact(t.failures, t.runs, b.failures, b.runs)
			res.P = &pv
			pvals = append(pvals, pv)
			compared = append(compared, i)
		}
		rep.Results = append(rep.Results, res)
	}
	rep.Compared = len(compared)
	sig := stats.Holm(pvals, Alpha)
	var changed []string
	for j, i := range compared {
		res := &rep.Results[i]
		b := rep.Results[base]
		res.Verdict = NoChange
		if sig[j] {
			res.Verdict = Lowers
			if res.Rate > b.Rate {
				res.Verdict = Raises
			}
			changed = append(changed, res.Perturbation)
		}
		res.Reading = reading(ps[i].Kind, res.Verdict)
	}
	rep.Summary = summary(rep, base, changed)
	return rep
}

// readings interpret each kind's verdicts: [raises, lowers].
var readings = [...][2]string{
	SyscallDelay: {
		"failures grow when syscalls are slowed: timing-sensitive, a race window that widens with syscall latency",
		"failures vanish when syscalls are slowed: timing-sensitive, likely a race between processes that needs them in lockstep (the strace effect)",
	},
	OneCPU: {
		"failures grow on one CPU: depends on scheduling order, likely preemption inside a window that should be atomic",
		"failures vanish on one CPU: needs true parallelism, likely a race between processes or threads running at the same instant",
	},
	CPUContention: {
		"failures grow under CPU contention: sensitive to being descheduled, a race window or a timeout that load stretches",
		"failures fall under CPU contention: needs the processes to run in step, which competing load breaks",
	},
	Chaos: {
		"failures grow when processes are paused at random: a race window or timeout that a stall widens",
		"failures fall when processes are paused at random: needs close alignment in time between processes",
	},
	Unbuffered: {
		"failures grow with unbuffered output: depends on how output is split into writes (interleaving, partial lines)",
		"failures vanish with unbuffered output: depends on buffered output being flushed late (flush order)",
	},
}

// reading is the one-line interpretation of a verdict.
func reading(k Kind, verdict string) string {
	switch verdict {
	case Raises:
		return readings[k][0]
	case Lowers:
		return readings[k][1]
	}
	return ""
}

func summary(rep *Report, base int, changed []string) string {
	if base < 0 || rep.Compared == 0 {
		return "nothing to compare: only the baseline ran"
	}
	b := rep.Results[base]
	total, failures := 0, 0
	for _, r := range rep.Results {
		total += r.Runs
		failures += r.Failures
	}
	switch {
	case failures == 0:
		return fmt.Sprintf("no failures in %d runs under any perturbation", total)
	case failures == total:
		return fmt.Sprintf("every one of %d runs failed under every perturbation: a deterministic failure, not a timing one", total)
	case len(changed) == 0 && b.Failures > 0:
		return fmt.Sprintf("the failure rate (%.0f%% at baseline) does not depend on any perturbation tried: likely not timing (random input, environment), or too few runs to tell", 100*b.Rate)
	case len(changed) == 0:
		return "no significant change against the baseline"
	}
	return fmt.Sprintf("timing-sensitive: the failure rate changes under %s", joinAnd(changed))
}

// joinAnd joins names as prose: "a", "a and b", "a, b, and c".
func joinAnd(s []string) string {
	switch len(s) {
	case 1:
		return s[0]
	case 2:
		return s[0] + " and " + s[1]
	}
	return strings.Join(s[:len(s)-1], ", ") + ", and " + s[len(s)-1]
}
