package stress

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/internal/stats"
)

// Observers lists what can watch the writers of a run, unobserved first:
//
//	none    nothing
//	strace  each writer runs under strace -f -o /dev/null: every syscall stops twice
//	trail   each writer appends an event per open, close and rename to one trail file
//	record  heisen record's eBPF recorder watches the writers
var Observers = []string{"none", "strace", "trail", "record"}

// ErrObserverMissing is wrapped by the note a Plan gives for an observer
// this machine cannot run (strace not installed, record not built).
var ErrObserverMissing = errors.New("observer not available")

// A Plan runs every strategy under every observer with the same budget.
// Each cell's budget is split into Rounds runs and the rounds interleave
// the cells (round 1 of every cell, then round 2, …), so that a machine
// that slows down midway slows every cell alike.
type Plan struct {
	Strategies []string
	Observers  []string
	Rounds     int    // 0 picks 3 when comparing observers, else 1
	Config     Config // the budget and workload; Strategy, Observer, Wrap and Trail are set per cell
	// Dir holds one subdirectory per run ("timestamp-trail-1"), each with
	// its target, trail and any corrupt versions saved.
	Dir string
	// Record attaches heisen record's recorder for the "record" observer;
	// without it that observer is skipped with a note.
	Record Attach
	// Progress, when set, receives each run's progress with its cell and
	// round (counted from 1).
	Progress func(strategy, observer string, round, rounds int, p Progress)
}

// Summary is one cell of a plan: one strategy under one observer, every
// round added up.
type Summary struct {
	Strategy, Observer string
	Writers            int
	Writes, Failed     int    // Failed as in Result: the system's errors, not collisions
	FirstErr           string // the first of those errors
	Collided           int
	Elapsed            time.Duration // time the writers ran, all rounds
	Corrupt            []Corruption
	Explained          int // corruptions linked to an analyze finding (trail observer)
	// Predicted holds one prediction of each kind analyze made from the
	// rounds' trails (Result.Predicted), the first of each.
	Predicted   []*analyze.Finding
	Trail       string // the trail file every round appended to ("" without one)
	Runs        int    // rounds that ran; 0 when a stop came first
	Interrupted bool
}

// Rate is corruptions per 1,000 writes.
func (s *Summary) Rate() float64 {
	if s.Writes == 0 {
		return 0
	}
	return 1000 * float64(len(s.Corrupt)) / float64(s.Writes)
}

// CI is the 95% Wilson interval of Rate, per 1,000 writes.
func (s *Summary) CI() (lo, hi float64) {
	lo, hi = stats.Wilson(min(len(s.Corrupt), s.Writes), s.Writes, stats.Z95)
	return 1000 * lo, 1000 * hi
}

// WritesPerSecond is the writers' combined throughput.
func (s *Summary) WritesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Writes) / s.Elapsed.Seconds()
}

// Ratios compares s with the unobserved cell of the same strategy: the
// corruption rate and the throughput as multiples of base's. A ratio is
// NaN when base's figure is zero.
func (s *Summary) Ratios(base *Summary) (rate, speed float64) {
	rate, speed = math.NaN(), math.NaN()
	if r := base.Rate(); r > 0 {
		rate = s.Rate() / r
	}
	if w := base.WritesPerSecond(); w > 0 {
		speed = s.WritesPerSecond() / w
	}
	return rate, speed
}

// Execute runs the plan and returns one Summary per strategy × observer, in
// plan order, and one note per observer it skipped. After ctx ends it
// returns the cells measured so far, the cell under way marked Interrupted
// and the cells not begun left out. On an error it returns the cells with
// a round measured beside it.
func (p *Plan) Execute(ctx context.Context) ([]*Summary, []string, error) {
	var notes []string
	var observers []string
	for _, o := range p.Observers {
		if err := p.observerAvailable(o); err != nil {
			notes = append(notes, err.Error())
			continue
		}
		observers = append(observers, o)
	}
	rounds := p.Rounds
	if rounds <= 0 {
		rounds = 1
		if len(observers) > 1 {
			rounds = 3
		}
	}
	if p.Config.Writes > 0 {
		rounds = min(rounds, p.Config.Writes)
	}
	var cells []*Summary
	for _, s := range p.Strategies {
		for _, o := range observers {
			cells = append(cells, &Summary{Strategy: s, Observer: o, Writers: p.Config.Writers})
		}
	}
	for round := 1; round <= rounds; round++ {
		for _, cell := range cells {
			if ctx.Err() != nil {
				return ran(cells), notes, nil
			}
			cfg := p.Config
			cfg.Strategy, cfg.Observer = cell.Strategy, cell.Observer
			cfg.Dir = filepath.Join(p.Dir, fmt.Sprintf("%s-%s-%d", cell.Strategy, cell.Observer, round))
			if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
				return ran(cells), notes, fmt.Errorf("stress: %w", err)
			}
			// Split the budget: every round gets its share, the last one
			// the remainder, so the cell's total is exactly the budget.
			if cfg.Writes > 0 {
				cfg.Writes = p.Config.Writes / rounds
				if round == rounds {
					cfg.Writes += p.Config.Writes % rounds
				}
			} else {
				cfg.Duration = p.Config.Duration / time.Duration(rounds)
			}
			switch cell.Observer {
			case "strace":
				cfg.Wrap = []string{"strace", "-f", "-o", "/dev/null"}
			case "trail":
				cfg.Trail = filepath.Join(p.Dir, cell.Strategy+"-trail.jsonl")
			case "record":
				cfg.Trail = filepath.Join(p.Dir, cell.Strategy+"-record.jsonl")
				cfg.Attach = p.Record
			}
			if p.Progress != nil {
				cfg.Progress = func(pr Progress) { p.Progress(cell.Strategy, cell.Observer, round, rounds, pr) }
			}
			res, err := Run(ctx, cfg)
			if err != nil {
				return ran(cells), notes, err
			}
			if _, err := Explain(res); err != nil {
				return ran(cells), notes, err
			}
			cell.Add(res)
			if res.Interrupted {
				return ran(cells), notes, nil
			}
		}
	}
	return cells, notes, nil
}

func ran(cells []*Summary) []*Summary {
	return slices.DeleteFunc(cells, func(s *Summary) bool { return s.Runs == 0 })
}

// Add adds the counts of one run to s.
func (s *Summary) Add(r *Result) {
	if s.Strategy == "" {
		s.Strategy, s.Observer, s.Writers = r.Strategy, r.Observer, r.Writers
	}
	for _, c := range r.Corrupt {
		if c.Finding != nil {
			s.Explained++
		}
	}
	s.Runs++
	s.Writes += r.Writes
	s.Failed += r.Failed
	s.Collided += r.Collided
	if s.FirstErr == "" {
		s.FirstErr = r.FirstErr
	}
	s.Elapsed += r.Elapsed
	s.Corrupt = append(s.Corrupt, r.Corrupt...)
	for _, f := range r.Predicted {
		if !slices.ContainsFunc(s.Predicted, func(g *analyze.Finding) bool { return g.Kind == f.Kind }) {
			s.Predicted = append(s.Predicted, f)
		}
	}
	if r.Trail != "" {
		s.Trail = r.Trail
	}
	s.Interrupted = s.Interrupted || r.Interrupted
}

// observerAvailable says why an observer cannot run here, or nil.
func (p *Plan) observerAvailable(name string) error {
	switch name {
	case "none", "trail":
		return nil
	case "strace":
		if _, err := exec.LookPath("strace"); err != nil {
			return fmt.Errorf("strace: not installed (Debian package strace), its column is skipped (%w)", ErrObserverMissing)
		}
		return nil
	case "record":
		if p.Record != nil {
			return nil
		}
		return fmt.Errorf("record: not available yet, its column is skipped (%w)", ErrObserverMissing)
	}
	return fmt.Errorf("unknown observer %q (want one of %v)", name, Observers)
}

// ValidObserver reports whether name is one of Observers.
func ValidObserver(name string) bool { return slices.Contains(Observers, name) }
