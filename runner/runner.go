package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/ptrace"
)

// Config is one comparison. Run fills the fields left zero with the
// defaults below and rejects the rest when they make no sense.
type Config struct {
	Command       []string       // program and arguments
	Dir           string         // working directory; empty means the current one
	Env           []string       // nil means os.Environ()
	Perturbations []Perturbation // compared against the first None; empty means None alone

	// Runs is how many times each perturbation runs; 0 means DefaultRuns
	// unless Duration is set. With Duration > 0 rounds (one slot per
	// perturbation) go on until Duration has passed, and Runs, if > 0,
	// caps the runs per perturbation.
	Runs     int
	Duration time.Duration

	Timeout  time.Duration // per run (0 means DefaultTimeout); a run that exceeds it fails and its process group is killed
	Parallel int           // copies started at once in each slot; 0 means 1

	FailIf *regexp.Regexp // a match in stdout or stderr fails a run that exited 0

	// Syscalls are the system calls SyscallDelay holds: a comma-separated
	// list of names, as in syscalls(2), and groups ("file": the calls that
	// name or change files); "" means DefaultSyscalls. Names of a group
	// this architecture lacks (open on arm64) are skipped; an unknown name
	// is an error naming it.
	Syscalls string

	// KeepFailures, if set, is a directory that receives the stdout and
	// stderr of every failing run as <perturbation>-<n>.stdout/.stderr.
	KeepFailures string

	// Record, if set with KeepFailures, records every run and keeps the
	// trail of each failing one as <perturbation>-<n>.trail. A trail covers
	// the run's slot: with Parallel > 1 it holds all the slot's copies
	// (their pids tell them apart). Recording makes every run, the
	// baseline's included, a little slower alike.
	Record Recorder

	// Progress, if set, is called after every run (from one goroutine at a
	// time) with the results so far.
	Progress func(done, total int, so Report)
}

// The defaults of a Config field left zero.
const (
	DefaultRuns     = 20          // per perturbation, when Duration is zero too
	DefaultTimeout  = time.Minute // per run
	DefaultSyscalls = "file"      // what SyscallDelay holds
)

// Run runs the comparison: slots of Parallel copies under one perturbation,
// interleaved round by round (A B C A B C …) so that drift of the machine
// hits every perturbation alike. It returns the report when the runs are
// done; when ctx is cancelled it stops the runs in flight, drops them, and
// returns what was measured before, with Interrupted set. It returns a nil
// report and an error for a Config it rejects or a comparison it cannot
// start, and the report with an error when a run could not be started or
// kept.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	nrs, err := cfg.complete()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "heisen-run-")
	if err != nil {
		return nil, fmt.Errorf("runner: temp dir: %w", err)
	}
	defer os.RemoveAll(work)
	if cfg.KeepFailures != "" {
		if err := os.MkdirAll(cfg.KeepFailures, 0o755); err != nil {
			return nil, fmt.Errorf("runner: --keep-failures: %w", err)
		}
	}
	cpus, err := allowedCPUs()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, syscalls: nrs, work: work, cpus: cpus, stats: make([]*tally, len(cfg.Perturbations))}
	for i := range r.stats {
		r.stats[i] = &tally{}
	}
	return r.rounds(ctx)
}

// complete fills the fields left zero with their defaults and checks the
// others; it returns the numbers of the system calls Syscalls names.
func (cfg *Config) complete() ([]int, error) {
	if len(cfg.Command) == 0 {
		return nil, errors.New("runner: no command")
	}
	if cfg.Runs < 0 || cfg.Duration < 0 || cfg.Timeout < 0 || cfg.Parallel < 0 {
		return nil, fmt.Errorf("runner: negative Runs %d, Duration %v, Timeout %v or Parallel %d", cfg.Runs, cfg.Duration, cfg.Timeout, cfg.Parallel)
	}
	if cfg.Runs == 0 && cfg.Duration == 0 {
		cfg.Runs = DefaultRuns
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = 1
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	if len(cfg.Perturbations) == 0 {
		cfg.Perturbations = []Perturbation{{Kind: None}}
	}
	if cfg.Syscalls == "" {
		cfg.Syscalls = DefaultSyscalls
	}
	nrs, err := ptrace.Syscalls(cfg.Syscalls)
	if err != nil {
		return nil, fmt.Errorf("runner: syscalls: %w", err)
	}
	if _, err := exec.LookPath(cfg.Command[0]); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	return nrs, nil
}

// rounds runs round after round, one slot per perturbation, until every
// perturbation has had its runs, Duration has passed, ctx ends or a run
// cannot be started or kept.
func (r *runner) rounds(ctx context.Context) (*Report, error) {
	cfg := r.cfg
	total := 0
	if cfg.Runs > 0 {
		total = cfg.Runs * len(cfg.Perturbations)
	}
	start := time.Now()
	var err error
	more := true
	for round := 0; more && err == nil; round++ {
		if cfg.Duration > 0 && round > 0 && time.Since(start) >= cfg.Duration {
			break
		}
		for i := range cfg.Perturbations {
			if more, err = r.runSlot(ctx, i, total, start); !more || err != nil {
				break
			}
		}
	}
	return r.report(time.Since(start), ctx.Err() != nil), err
}

// runSlot runs perturbation i's slot of a round and tallies its runs,
// keeping the failing ones. It reports whether the rounds go on.
func (r *runner) runSlot(ctx context.Context, i, total int, start time.Time) (more bool, err error) {
	p := r.cfg.Perturbations[i]
	copies := r.cfg.Parallel
	if r.cfg.Runs > 0 {
		copies = min(copies, r.cfg.Runs-r.stats[i].runs)
	}
	if copies <= 0 {
		return false, nil
	}
	outs, trailPath, err := r.slot(ctx, p, copies)
	if ctx.Err() != nil {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, o := range outs {
		r.stats[i].add(o)
		r.done++
		if o.failed {
			if err := r.keep(p, r.stats[i].runs, o, trailPath); err != nil {
				return false, err
			}
		}
		if r.cfg.Progress != nil {
			r.cfg.Progress(r.done, total, *r.report(time.Since(start), false))
		}
	}
	return true, nil
}

type runner struct {
	cfg      Config
	syscalls []int // Config.Syscalls as numbers
	work     string
	cpus     []int
	stats    []*tally
	done     int
	seq      int
}

// outcome is one finished run.
type outcome struct {
	failed, timedOut bool
	code             int
	dur              time.Duration
	stdout, stderr   string // files in the work directory
}

// slot runs copies of the command at once under p. With recording it
// returns the slot's trail file.
func (r *runner) slot(ctx context.Context, p Perturbation, copies int) ([]outcome, string, error) {
	if p.Kind == CPUContention {
		stop, err := r.contend(p.Threads)
		if err != nil {
			return nil, "", err
		}
		defer stop()
	}
	var st *slotTrail
	if r.recording() {
		var err error
		if st, err = r.startTrail(r.seq + 1); err != nil {
			return nil, "", err
		}
	}
	outs := make([]outcome, copies)
	errs := make([]error, copies+1)
	var wg sync.WaitGroup
	for i := range copies {
		r.seq++
		seq := r.seq
		wg.Go(func() { outs[i], errs[i] = r.once(ctx, p, seq) })
	}
	wg.Wait()
	if st == nil {
		return outs, "", errors.Join(errs...)
	}
	errs[copies] = st.stop()
	return outs, st.path, errors.Join(errs...)
}

func (r *runner) recording() bool { return r.cfg.Record != nil && r.cfg.KeepFailures != "" }

// track has the recorder follow pid, when recording.
func (r *runner) track(pid int) error {
	if !r.recording() {
		return nil
	}
	if err := r.cfg.Record.Track(pid); err != nil {
		return fmt.Errorf("runner: --record: %w", err)
	}
	return nil
}

// once runs the command one time under p.
func (r *runner) once(ctx context.Context, p Perturbation, seq int) (outcome, error) {
	o := outcome{
		stdout: filepath.Join(r.work, fmt.Sprintf("%d.stdout", seq)),
		stderr: filepath.Join(r.work, fmt.Sprintf("%d.stderr", seq)),
	}
	stdout, err := os.Create(o.stdout)
	if err != nil {
		return o, fmt.Errorf("runner: %w", err)
	}
	defer stdout.Close()
	stderr, err := os.Create(o.stderr)
	if err != nil {
		return o, fmt.Errorf("runner: %w", err)
	}
	defer stderr.Close()

	argv, env := r.cfg.Command, r.cfg.Env
	if p.Kind == Unbuffered {
		argv, env = unbuffered(argv, env)
	}
	runCtx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	start := time.Now()
	var code int
	if p.Kind == SyscallDelay {
		code, err = r.traced(runCtx, p.Delay, argv, env, stdout, stderr)
	} else {
		code, err = r.plain(runCtx, p, argv, env, stdout, stderr)
	}
	o.dur = time.Since(start)
	if err != nil {
		return o, err
	}
	o.code = code
	o.timedOut = runCtx.Err() != nil && ctx.Err() == nil
	o.failed = code != 0 || o.timedOut || r.matches(o.stdout) || r.matches(o.stderr)
	return o, nil
}

// plain runs argv with os/exec in its own process group, applying the
// perturbations that need no tracer.
func (r *runner) plain(ctx context.Context, p Perturbation, argv, env []string, stdout, stderr *os.File) (int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = r.cfg.Dir, env, stdout, stderr
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	release := func() error { return nil }
	var err error
	if r.recording() {
		if release, err = hold(cmd); err != nil {
			return 0, err
		}
	}
	if p.Kind == OneCPU {
		err = startPinned(cmd, r.cpus[len(r.cpus)-1])
	} else {
		err = cmd.Start()
	}
	if err != nil {
		release()
		return 0, fmt.Errorf("runner: start %s: %w", argv[0], err)
	}
	pgid := cmd.Process.Pid
	if err := errors.Join(r.track(pgid), release()); err != nil {
		unix.Kill(-pgid, unix.SIGKILL)
		cmd.Wait()
		return 0, err
	}
	waited := make(chan struct{})
	var chaosDone chan struct{}
	if p.Kind == Chaos {
		chaosDone = make(chan struct{})
		go func() {
			defer close(chaosDone)
			chaos(waited, pgid, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(pgid))))
		}()
	}
	go func() {
		select {
		case <-ctx.Done():
			unix.Kill(-pgid, unix.SIGKILL)
		case <-waited:
		}
	}()
	err = cmd.Wait()
	close(waited)
	if chaosDone != nil {
		<-chaosDone
	}
	// Whatever the command left running in its group does not outlive
	// the run.
	unix.Kill(-pgid, unix.SIGKILL)
	return exitCode(cmd.ProcessState, err)
}

func exitCode(ps *os.ProcessState, err error) (int, error) {
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, fmt.Errorf("runner: wait: %w", err)
	}
	if ps.Exited() {
		return ps.ExitCode(), nil
	}
	return -1, nil // killed by a signal
}

// traced runs argv under ptrace, holding every filtered syscall for delay.
func (r *runner) traced(ctx context.Context, delay time.Duration, argv, env []string, stdout, stderr *os.File) (int, error) {
	cmd := &ptrace.Cmd{Path: argv[0], Args: argv, Env: env, Dir: r.cfg.Dir, Stdout: stdout, Stderr: stderr, Setpgid: true}
	cfg := &ptrace.Config{
		Syscalls: r.syscalls,
		Enter:    func(*ptrace.Stop) ptrace.Action { return ptrace.Action{Delay: delay} },
	}
	var trackErr error
	res, err := ptrace.Run(ctx, cmd, cfg, func(pid int) {
		// Before the shim execs the command: the trail starts with it.
		if trackErr = r.track(pid); trackErr != nil {
			unix.Kill(pid, unix.SIGKILL)
		}
	})
	if trackErr != nil {
		return 0, trackErr
	}
	if res.Pid > 0 {
		unix.Kill(-res.Pid, unix.SIGKILL)
	}
	if err != nil && ctx.Err() == nil {
		return 0, fmt.Errorf("runner: %w", err)
	}
	return res.ExitCode(), nil
}

// matches reports whether --fail-if matches the file's contents.
func (r *runner) matches(path string) bool {
	if r.cfg.FailIf == nil {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && r.cfg.FailIf.Match(b)
}

// keep copies a failing run's output into the KeepFailures directory.
func (r *runner) keep(p Perturbation, n int, o outcome, trailPath string) error {
	if r.cfg.KeepFailures == "" {
		return nil
	}
	base := filepath.Join(r.cfg.KeepFailures, fmt.Sprintf("%s-%d", fileSafe(p.String()), n))
	if err := copyFile(o.stdout, base+".stdout"); err != nil {
		return err
	}
	if trailPath != "" {
		if err := copyFile(trailPath, base+".trail"); err != nil {
			return err
		}
	}
	return copyFile(o.stderr, base+".stderr")
}

func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '=' || r == '/' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("runner: keeping a failure: %w", err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return fmt.Errorf("runner: keeping a failure: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("runner: keeping a failure: copy to %s: %w", to, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("runner: keeping a failure: %w", err)
	}
	return nil
}

// unbuffered wraps argv with stdbuf when it exists and sets the variables
// runtimes honour.
func unbuffered(argv, env []string) ([]string, []string) {
	env = append(slices.Clip(env), "PYTHONUNBUFFERED=1")
	if sb, err := exec.LookPath("stdbuf"); err == nil {
		argv = append([]string{sb, "-o0", "-e0"}, argv...)
	}
	return argv, env
}
