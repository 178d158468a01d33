// Package check materializes crash states and runs a checker on each, in
// parallel, and groups the failing states by cause: which of the
// operations a crash could lose were lost, torn or kept.
package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/heisen-dev/heisen/crash"
)

// Config says how to check states.
type Config struct {
	Check    []string      // the checker's argv
	Tmp      string        // where states are materialized, one fresh directory each
	Parallel int           // checkers at once; 0 means the number of CPUs
	Timeout  time.Duration // per check; a checker that takes longer fails
	// Progress, if set, is called after each state with the counts so far.
	Progress func(checked, failed int)
}

// Result is one checked state.
type Result struct {
	State   *crash.State
	Status  int    // the checker's exit status (128+N when killed by signal N)
	Message string // the checker's stderr, at most MaxMessage bytes
	Err     error  // the state could not be checked (materialize, start, timeout)
}

// Failed says the state fails: the checker exited non-zero or could not
// say.
func (r *Result) Failed() bool { return r.Status != 0 || r.Err != nil }

// MaxMessage is how much of a checker's stderr a Result keeps.
const MaxMessage = 4096

// Report is the outcome of checking the states of a log.
type Report struct {
	Checked int
	Points  int // crash points whose states were listed
	Failing []*Result
	// FailingPoints are the crash points at which some state fails,
	// counting states met again at later points, in order.
	FailingPoints []int
	// Interrupted says the context ended before every state was checked.
	Interrupted bool
}

// Run checks the states of l that o lists.
func Run(ctx context.Context, l *crash.Log, o crash.Options, cfg Config) (*Report, error) {
	if cfg.Parallel <= 0 {
		cfg.Parallel = runtime.NumCPU()
	}
	states := make(chan *crash.State, cfg.Parallel)
	results := make(chan *Result, cfg.Parallel)
	dups := make(chan []*crash.State, 1)
	go func() { dups <- list(ctx, l, o, states) }()
	var wg sync.WaitGroup
	for range cfg.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(ctx, l, cfg, states, results)
		}()
	}
	go func() { wg.Wait(); close(results) }()
	rep := &Report{Points: len(l.PointList(o))}
	var fatal error
	for r := range results {
		rep.Checked++
		if r.Failed() {
			rep.Failing = append(rep.Failing, r)
			if errors.Is(r.Err, errMaterialize) && fatal == nil {
				fatal = r.Err
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(rep.Checked, len(rep.Failing))
		}
	}
	rep.Interrupted = ctx.Err() != nil
	slices.SortFunc(rep.Failing, func(a, b *Result) int {
		if a.State.Point != b.State.Point {
			return a.State.Point - b.State.Point
		}
		return strings.Compare(a.State.ID, b.State.ID)
	})
	rep.FailingPoints = failingPoints(rep.Failing, <-dups)
	return rep, fatal
}

// list sends the states to check on states, closes it, and returns the
// duplicates it met.
func list(ctx context.Context, l *crash.Log, o crash.Options, states chan<- *crash.State) []*crash.State {
	defer close(states)
	var dups []*crash.State
	l.States(o, func(s *crash.State) bool {
		if s.Dup {
			dups = append(dups, s)
			return ctx.Err() == nil
		}
		select {
		case states <- s:
			return true
		case <-ctx.Done():
			return false
		}
	})
	return dups
}

// work checks states until there are no more; once ctx ends it only
// drains them, since an interrupted check is not a result.
func work(ctx context.Context, l *crash.Log, cfg Config, states <-chan *crash.State, results chan<- *Result) {
	for s := range states {
		if ctx.Err() != nil {
			continue
		}
		if r := checkOne(ctx, l, s, cfg); ctx.Err() == nil {
			results <- r
		}
	}
}

// failingPoints lists the points of the failing states and of the
// duplicates of failing states.
func failingPoints(failing []*Result, dups []*crash.State) []int {
	type key struct {
		sum   crash.Sum
		acked int
	}
	failed := map[key]bool{}
	pts := []int{}
	for _, r := range failing {
		failed[key{r.State.Sum, r.State.Acked}] = true
		pts = append(pts, r.State.Point)
	}
	for _, d := range dups {
		if failed[key{d.Sum, d.Acked}] {
			pts = append(pts, d.Point)
		}
	}
	slices.Sort(pts)
	return slices.Compact(pts)
}

var errMaterialize = errors.New("materialize")

// checkOne materializes s into a fresh directory, runs the checker on it
// and removes the directory.
func checkOne(ctx context.Context, l *crash.Log, s *crash.State, cfg Config) *Result {
	r := &Result{State: s}
	dir, err := os.MkdirTemp(cfg.Tmp, "state-")
	if err != nil {
		r.Err = fmt.Errorf("%w: %v", errMaterialize, err)
		return r
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "state")
	acked := filepath.Join(dir, "acked")
	lines := l.AckedLines(s.Point)
	var text []byte
	for _, ln := range lines {
		text = append(append(text, ln...), '\n')
	}
	if err := os.Mkdir(root, 0o755); err != nil {
		r.Err = fmt.Errorf("%w: %v", errMaterialize, err)
		return r
	}
	if err := errors.Join(s.Materialize(root), os.WriteFile(acked, text, 0o644)); err != nil {
		r.Err = fmt.Errorf("%w: %v", errMaterialize, err)
		return r
	}
	r.Status, r.Message, r.Err = run(ctx, cfg, []string{
		"HEISEN_CRASH_STATE=" + root,
		"HEISEN_CRASH_ACKED=" + acked,
		"HEISEN_CRASH_POINT=" + strconv.Itoa(s.Point),
		"HEISEN_CRASH_STATE_ID=" + s.ID,
	})
	return r
}

// leftoverDelay is how long a checker's stderr may stay open after the
// checker exited.
const leftoverDelay = time.Second

// run runs the checker with env added and returns its status and stderr.
func run(ctx context.Context, cfg Config, env []string) (int, string, error) {
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, cfg.Check[0], cfg.Check[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A process the checker left behind may hold its stderr open: its
	// end is not waited for beyond leftoverDelay, and its group is killed.
	cmd.WaitDelay = leftoverDelay
	err := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	msg := strings.TrimSpace(stderr.String())
	var ee *exec.ExitError
	switch {
	case err == nil || errors.Is(err, exec.ErrWaitDelay): // the checker itself exited 0
		return 0, msg, nil
	case ctx.Err() == context.DeadlineExceeded:
		return -1, msg, fmt.Errorf("check timed out after %v", cfg.Timeout)
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), msg, nil
		}
		return ee.ExitCode(), msg, nil
	}
	return -1, msg, fmt.Errorf("run check %s: %w", cfg.Check[0], err)
}

// limitedBuffer keeps the first MaxMessage bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := MaxMessage - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
