package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/crash"
	"github.com/heisen-dev/heisen/crash/capture"
	"github.com/heisen-dev/heisen/crash/check"
)

const crashAbout = `Simulate power loss. WORKLOAD runs once with a directory served by a FUSE
file system that logs every mutation with its data and every durability
point (fsync, fdatasync, fsync of a directory, sync, syncfs). Then, for each
crash point (after each operation), every state the crash model allows is
rebuilt from the log in a fresh directory and CHECK runs on it with:

  HEISEN_CRASH_STATE   the directory holding the state
  HEISEN_CRASH_ACKED   a file with the lines WORKLOAD had printed on stdout
                       before the crash point (what it had reported saved)
  HEISEN_CRASH_POINT   the number of operations before the crash

A state fails when CHECK exits non-zero. WORKLOAD finds the directory in
$HEISEN_CRASH_DIR (or mounted at --dir, seeded with that directory's
contents, which are never written). The mount exists only in a private
mount namespace of a helper process: no other process sees it, and it ends
with heisen, even after SIGKILL. Needs root and /dev/fuse.

Models (docs/crash.md): posix, the strictest POSIX and Linux allow: a
file keeps its bytes as of its last fsync/fdatasync plus any of the later
writes, each whole, in part (4 KiB pieces) or not at all; a directory keeps
its entries as of its last fsync plus a prefix of the later changes to it.
ext4-ordered: ext4 with data=ordered and auto_da_alloc.

The run ends when every process WORKLOAD started has exited; WORKLOAD has
a process group of its own, so it cannot read the terminal (use < FILE).
CHECK is split at spaces (use a script for anything more). O_TMPFILE is
refused with EOPNOTSUPP; programs fall back to named temporary files.
WORKLOAD's stdout is kept in the log, not shown; a program that buffers
stdout must flush each line when it reports it (python3 -u).

With --replay LOG --state ID --into DIR, rebuild one state of a kept log
(the report prints the command) and stop.

Exit status: 0 every state passes, 1 some fail (or WORKLOAD failed, or the
run could not finish), 2 usage, 130 interrupted (a partial report).`

type crashFlags struct {
	check, model, points, dir, log, tmp string
	seed                                uint64
	perPoint, parallel                  int
	timeout                             time.Duration
	json                                bool
	replay, state, into                 string
}

func cmdCrash(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("crash", "--check CHECK -- WORKLOAD [ARGS]", crashAbout, stderr)
	var f crashFlags
	fs.StringVar(&f.check, "check", "", "`CHECK` command run on each state (split at spaces)")
	fs.StringVar(&f.model, "model", "posix", "crash `MODEL`: posix or ext4-ordered")
	fs.StringVar(&f.points, "points", "all", "crash points: all, sync (around durability points) or `N` sampled")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for sampled points and states")
	fs.IntVar(&f.perPoint, "states", 64, "most states per crash point; beyond, extremes, single deviations and random ones")
	fs.StringVar(&f.dir, "dir", "", "mount at `PATH` (an existing directory; its contents seed the file system)")
	fs.StringVar(&f.log, "log", "", "write the operation log to `FILE` and the written bytes to FILE.data (neither may exist), and keep them")
	fs.StringVar(&f.tmp, "tmp", "", "materialize states under `DIR` (default /dev/shm when it is tmpfs)")
	fs.IntVar(&f.parallel, "parallel", 0, "checks at once (default the number of CPUs)")
	fs.DurationVar(&f.timeout, "check-timeout", 30*time.Second, "a check that takes longer fails")
	fs.BoolVar(&f.json, "json", false, "print the report as one JSON object")
	fs.StringVar(&f.replay, "replay", "", "with --state and --into: rebuild a state of the kept `LOG`")
	fs.StringVar(&f.state, "state", "", "the state `ID` to rebuild (from the report)")
	fs.StringVar(&f.into, "into", "", "the `DIR` to rebuild the state in (created; must not exist or be empty)")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	model, err := crash.ModelByName(f.model)
	if err != nil {
		return usageError(stderr, "crash", "--model: %v", err)
	}
	if f.replay != "" || f.state != "" || f.into != "" {
		return crashReplay(f, model, fs.Args(), stdout, stderr)
	}
	return crashRun(ctx, f, model, fs.Args(), stdout, stderr)
}

func crashReplay(f crashFlags, model *crash.Model, argv []string, stdout, stderr io.Writer) int {
	if f.replay == "" || f.state == "" || f.into == "" || len(argv) > 0 {
		return usageError(stderr, "crash", "--replay LOG, --state ID and --into DIR go together, with no WORKLOAD")
	}
	l, err := crash.ReadLog(f.replay)
	if err != nil {
		fmt.Fprintf(stderr, "heisen crash: %v\n", err)
		return exitUsage
	}
	st, err := l.Replay(model, f.state)
	if err != nil {
		return usageError(stderr, "crash", "--state: %v", err)
	}
	if err := os.Mkdir(f.into, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		fmt.Fprintf(stderr, "heisen crash: --into: %v\n", err)
		return exitUsage
	}
	if ents, err := os.ReadDir(f.into); err != nil || len(ents) > 0 {
		fmt.Fprintf(stderr, "heisen crash: --into %s: not an empty directory (nothing is overwritten)\n", f.into)
		return exitUsage
	}
	if err := st.Materialize(f.into); err != nil {
		fmt.Fprintf(stderr, "heisen crash: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "state %s (crash after %s, %s acknowledged) is in %s\n", st.ID, plural(st.Point, "operation"), plural(st.Acked, "line"), f.into)
	for _, ln := range l.AckedLines(st.Point) {
		fmt.Fprintf(stdout, "  acknowledged: %s\n", ln)
	}
	return exitOK
}

func crashRun(ctx context.Context, f crashFlags, model *crash.Model, argv []string, stdout, stderr io.Writer) int {
	points, err := crash.ParsePoints(f.points)
	switch {
	case err != nil:
		return usageError(stderr, "crash", "%v", err)
	case len(argv) == 0:
		return usageError(stderr, "crash", "no WORKLOAD to run (heisen crash --check CHECK -- WORKLOAD [ARGS])")
	case f.check == "":
		return usageError(stderr, "crash", "--check CHECK is required: the command that says whether a state is good")
	case f.perPoint < 1:
		return usageError(stderr, "crash", "--states must be at least 1")
	}
	checkArgv := strings.Fields(f.check)
	if _, err := exec.LookPath(checkArgv[0]); err != nil {
		return usageError(stderr, "crash", "--check %q: %v", checkArgv[0], err)
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return usageError(stderr, "crash", "WORKLOAD %q: %v", argv[0], err)
	}
	if f.log != "" {
		for _, p := range []string{f.log, crash.DataPath(f.log)} {
			if _, err := os.Lstat(p); err == nil {
				return usageError(stderr, "crash", "--log: %s exists (nothing is overwritten)", p)
			}
		}
	}
	if err := capture.Check(); err != nil {
		fmt.Fprintf(stderr, "heisen crash: %v\n", err)
		return exitFail
	}
	run, err := newCrashRun(f)
	if err != nil {
		return usageError(stderr, "crash", "%v", err)
	}
	defer run.cleanup()
	return run.do(ctx, f, model, points, argv, checkArgv, stdout, stderr)
}

// crashDirs is one run's scratch space and where its log goes.
type crashDirs struct {
	work, mount, log, states string
	keepLog                  bool // --log was given
	keepWork                 bool // the default log is in work and must stay
}

func newCrashRun(f crashFlags) (*crashDirs, error) {
	work, err := os.MkdirTemp("", "heisen-crash-")
	if err != nil {
		return nil, err
	}
	d := &crashDirs{work: work, mount: filepath.Join(work, "dir"), log: filepath.Join(work, "crash.log"), keepLog: f.log != ""}
	if f.log != "" {
		if d.log, err = filepath.Abs(f.log); err != nil {
			return d, err
		}
	}
	if f.dir != "" {
		if d.mount, err = filepath.Abs(f.dir); err != nil {
			return d, err
		}
		if fi, err := os.Stat(d.mount); err != nil || !fi.IsDir() {
			return d, fmt.Errorf("--dir %s: not an existing directory", f.dir)
		}
	} else if err := os.Mkdir(d.mount, 0o755); err != nil {
		return d, err
	}
	if err := os.Mkdir(filepath.Join(work, "backing"), 0o755); err != nil {
		return d, err
	}
	tmp := f.tmp
	if tmp == "" {
		tmp = defaultStateDir()
	}
	d.states, err = os.MkdirTemp(tmp, "heisen-crash-states-")
	return d, err
}

// defaultStateDir is /dev/shm when it is a tmpfs, the temp directory
// otherwise.
func defaultStateDir() string {
	var st unix.Statfs_t
	if unix.Statfs("/dev/shm", &st) == nil && st.Type == unix.TMPFS_MAGIC {
		return "/dev/shm"
	}
	return os.TempDir()
}

func (d *crashDirs) cleanup() {
	if d.states != "" {
		os.RemoveAll(d.states)
	}
	if d.keepWork {
		os.RemoveAll(filepath.Join(d.work, "backing"))
		os.Remove(filepath.Join(d.work, "dir"))
		return
	}
	os.RemoveAll(d.work)
}

func (d *crashDirs) do(ctx context.Context, f crashFlags, model *crash.Model, points crash.Points, argv, checkArgv []string, stdout, stderr io.Writer) int {
	self, err := crashSelf("crash-serve")
	if err != nil {
		fmt.Fprintf(stderr, "heisen crash: %v\n", err)
		return exitFail
	}
	cfg := capture.Config{Command: argv, Mount: d.mount, Backing: filepath.Join(d.work, "backing"), Log: d.log, Grace: 2 * time.Second}
	start := time.Now()
	runErr := capture.Run(ctx, self, cfg, os.Stdin, stderr)
	ran := time.Since(start)
	l, err := crash.ReadLog(d.log)
	if err != nil {
		fmt.Fprintf(stderr, "heisen crash: %v\n", errors.Join(runErr, err))
		return exitFail
	}
	rep := &crashReport{Model: model.String(), Log: d.log, Workload: workloadOf(l), RunSeconds: ran.Seconds()}
	if runErr != nil {
		rep.Workload.Error = strings.TrimPrefix(rep.Workload.Error+"; "+runErr.Error(), "; ")
	}
	if ctx.Err() == nil { // a log that stops short is checked up to where it stops
		o := crash.Options{Model: model, Points: points, PerPoint: f.perPoint, Seed: f.seed}
		start = time.Now()
		res, err := check.Run(ctx, l, o, check.Config{Check: checkArgv, Tmp: d.states, Parallel: f.parallel, Timeout: f.timeout})
		if err != nil {
			fmt.Fprintf(stderr, "heisen crash: %v\n", err)
			return exitFail
		}
		rep.CheckSeconds = time.Since(start).Seconds()
		rep.add(l, model, res)
	}
	rep.Interrupted = ctx.Err() != nil
	if len(rep.Groups) > 0 && !d.keepLog {
		d.keepWork = true
	}
	if !d.keepLog && !d.keepWork {
		rep.Log = "" // removed with the scratch directory
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		rep.print(stdout, d.keepLog || d.keepWork)
	}
	switch {
	case rep.Interrupted:
		fmt.Fprintln(stderr, "heisen crash: interrupted; the report is partial")
		return exitInterrupted
	case rep.Failed > 0 || !rep.Workload.Complete || rep.Workload.Status != 0:
		return exitFail
	}
	return exitOK
}

func cmdCrashServe(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg capture.Config
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &cfg) != nil || len(cfg.Command) == 0 {
		fmt.Fprintln(stderr, "heisen crash-serve: internal command; takes one JSON config")
		return exitUsage
	}
	if err := capture.Serve(cfg, os.Stdin, os.Stderr); err != nil {
		fmt.Fprintf(stderr, "heisen crash: %v\n", err)
		return exitFail
	}
	return exitOK
}

// crashSelf is how to start this binary's hidden command name; argv[0] is
// kept so a test binary standing in for heisen dispatches it too.
func crashSelf(name string) (capture.Exec, error) {
	exe, err := os.Executable()
	if err != nil {
		return capture.Exec{}, err
	}
	return capture.Exec{Path: exe, Args: []string{os.Args[0], name}}, nil
}
