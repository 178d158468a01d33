package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/heisen-dev/heisen/record"
	"github.com/heisen-dev/heisen/trail"
)

const recordAbout = `Record the file operations of COMMAND and every process it starts into a
trail (JSON Lines, one event per line) that "heisen analyze" reads.
COMMAND is held before exec until recording has started, so its first
syscall is in the trail. With --pid or --all and no COMMAND, record until
interrupted.

Backends: ebpf (default; root, a kernel with BTF; does not slow the
command down measurably) and ptrace (any Linux; stops the command at every
traced syscall, so it changes timing and can hide the races you look for).

Paths are absolute, resolved in the kernel from the file, dirfd or working
directory at the time of the call. Pipes, sockets and devices are not
recorded. Events lost because the reader fell behind are counted per CPU,
written to the trail as a loss record and reported on stderr.

When the trail goes to stdout, COMMAND's stdout goes to stderr. If the
trail's reader goes away (record -o - | head -1), COMMAND and every
process it started are stopped. SIGINT or SIGTERM to heisen record stop
them too: SIGTERM to each, SIGKILL 5 s later to any left.

When the trail cannot be written whole (a full disk), it keeps only whole
lines, and the last line on stderr says how many events are missing and
why: "trail incomplete: N events not written: ...".

Exit status: COMMAND's (128+N when killed by signal N); 1 when recording
failed or the trail is incomplete and COMMAND succeeded (a failed
COMMAND's status is kept); 1 when the trail's reader went away; 2 on usage
errors; 130 when interrupted.`

// recordFlags are heisen record's flags, as parsed.
type recordFlags struct {
	fs              *flag.FlagSet
	out, backend    string
	paths, pids     listFlag
	all, probeStats bool
	ringSize        int
}

func newRecordFlags(stderr io.Writer) *recordFlags {
	f := &recordFlags{fs: newFlagSet("record", "-- COMMAND [ARGS]", recordAbout, stderr)}
	fs := f.fs
	fs.StringVar(&f.out, "o", "-", "write the trail to `FILE` (- for stdout)")
	fs.Var(&f.paths, "path", "record only paths under `DIR` (repeatable)")
	fs.Var(&f.pids, "pid", "record process `PID` and what it starts from now on (repeatable)")
	fs.BoolVar(&f.all, "all", false, "record every process on the machine")
	fs.StringVar(&f.backend, "backend", "ebpf", "`ebpf` or ptrace")
	fs.IntVar(&f.ringSize, "ring-size", record.DefaultRingSize, "eBPF ring buffer `BYTES` (a power of two, at least 4096)")
	fs.BoolVar(&f.probeStats, "probe-stats", false, "print what loading the eBPF programs took and what they cost in the kernel (ns per run) on stderr")
	return f
}

// cmdRecord records the command (or the processes) the flags name into a
// trail: check the flags, open the trail, record, then report what was
// recorded and choose the exit status (the command's own when all went
// well).
func cmdRecord(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newRecordFlags(stderr)
	if code, ok := parse(f.fs, args, stdout); !ok {
		return code
	}
	cfg, msg := f.config()
	if msg != "" {
		return usageError(stderr, "record", "%s", msg)
	}
	argv := f.fs.Args()
	if len(argv) > 0 {
		if err := lookCommand(argv[0]); err != nil {
			fmt.Fprintf(stderr, "heisen record: cannot start %s: %v\n", argv[0], err)
			return exitFail
		}
	}
	// A write to a closed pipe then fails with EPIPE instead of killing
	// heisen silently (record -o - | head -1), and the command is stopped.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)

	w, cmdOut, created, err := f.openTrail(stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "heisen record: %v\n", err)
		return exitFail
	}
	code, st, err := runRecord(ctx, f.backend, cfg, argv, cmdOut, stderr, w)
	werr := w.Close()
	started := code >= 0 || st.Events > 0
	if !started && created {
		os.Remove(f.out) // the command never ran: leave no empty trail
	}
	if f.probeStats {
		printLoad(stderr, st.Load)
	}
	if started {
		printRecordSummary(stderr, st, w.Unwritten())
	}
	return f.status(ctx, stderr, code, len(argv) > 0, err, werr, w.Unwritten())
}

// config turns the flags into a record.Config, or a usage message; the
// rules of the config itself are record's (Config.Validate).
func (f *recordFlags) config() (record.Config, string) {
	cfg := record.Config{All: f.all, RingSize: f.ringSize, ProbeStats: f.probeStats}
	for _, p := range f.pids.vals {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return cfg, fmt.Sprintf("--pid %q is not a process id", p)
		}
		cfg.PIDs = append(cfg.PIDs, n)
	}
	for _, p := range f.paths.vals {
		abs, err := filepath.Abs(p)
		if err != nil {
			return cfg, fmt.Sprintf("--path %q: %v", p, err)
		}
		cfg.Paths = append(cfg.Paths, abs)
	}
	if err := (record.Config{RingSize: f.ringSize}).Validate(); err != nil || f.ringSize == 0 {
		return cfg, fmt.Sprintf("--ring-size %d is not a power of two of at least the page size (%d)", f.ringSize, os.Getpagesize())
	}
	if err := cfg.Validate(); err != nil {
		return cfg, strings.TrimPrefix(err.Error(), "record: ")
	}
	command := f.fs.NArg() > 0
	switch {
	case !command && len(cfg.PIDs) == 0 && !cfg.All:
		return cfg, "give a COMMAND after --, or --pid, or --all"
	case f.backend != "ebpf" && f.backend != "ptrace":
		return cfg, fmt.Sprintf("--backend %q: want ebpf or ptrace", f.backend)
	case f.backend == "ptrace" && (!command || cfg.All || len(cfg.PIDs) > 0):
		return cfg, "--backend ptrace records a COMMAND only (no --pid, no --all)"
	}
	return cfg, ""
}

// lookCommand says why name cannot be started, in words that name it once.
func lookCommand(name string) error {
	_, err := exec.LookPath(name)
	var ee *exec.Error
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err // it names the command again
	} else if errors.As(err, &ee) {
		err = ee.Err
	}
	return err
}

// openTrail opens the trail -o names (stdout for "-", where the command's
// own output then goes to stderr to keep the trail parseable), and says
// whether it created the file.
func (f *recordFlags) openTrail(stdout, stderr io.Writer) (w *trail.Writer, cmdOut io.Writer, created bool, err error) {
	if f.out == "-" {
		return trail.NewWriter(stdout, trail.Buffered()), stderr, false, nil
	}
	_, statErr := os.Lstat(f.out)
	if w, err = trail.Create(f.out, trail.Buffered()); err != nil {
		return nil, nil, false, err
	}
	return w, stdout, errors.Is(statErr, os.ErrNotExist), nil
}

// status says what went wrong, the trail's incompleteness last, and
// returns the exit status: the command's, unless recording failed or was
// cut short.
func (f *recordFlags) status(ctx context.Context, stderr io.Writer, code int, command bool, err, werr error, unwritten uint64) int {
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "heisen record: %s\n", strings.TrimPrefix(line, "record: "))
		}
		if errors.Is(err, record.ErrUnavailable) && f.backend == "ebpf" {
			fmt.Fprintln(stderr, "heisen record: --backend ptrace works without it, but slows every traced syscall")
		}
	}
	readerGone := errors.Is(werr, syscall.EPIPE)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "heisen record: interrupted (%v): stopped the command and every process it started\n", context.Cause(ctx))
	case readerGone && command:
		fmt.Fprintln(stderr, "heisen record: the trail's reader closed the pipe: stopped the command and every process it started")
	}
	if werr != nil {
		// Last, so that it is the line a user sees.
		fmt.Fprintf(stderr, "heisen record: trail incomplete: %s not written: %s\n",
			plural(int(unwritten), "event"), strings.TrimPrefix(werr.Error(), "trail: "))
	}
	switch {
	case ctx.Err() != nil:
		return exitInterrupted
	case readerGone:
		return exitFail
	case (err != nil || werr != nil) && code <= 0:
		return exitFail
	}
	return code
}

// printLoad prints where the eBPF backend's start went.
func printLoad(stderr io.Writer, steps []record.LoadStep) {
	for _, s := range steps {
		fmt.Fprintf(stderr, "heisen record: load %s: %.1f ms", s.Name, float64(s.Took.Microseconds())/1000)
		if s.Insns > 0 {
			fmt.Fprintf(stderr, ", %d instructions verified", s.Insns)
		}
		fmt.Fprintln(stderr)
	}
}

// printRecordSummary prints what the trail holds and what was lost.
func printRecordSummary(stderr io.Writer, st record.Stats, unwritten uint64) {
	for _, p := range st.Probes {
		var per float64
		if p.Runs > 0 {
			per = float64(p.Runtime.Nanoseconds()) / float64(p.Runs)
		}
		fmt.Fprintf(stderr, "heisen record: probe %s: %s, %v, %.0f ns/run\n", p.Name, plural(int(p.Runs), "run"), p.Runtime, per)
	}
	fmt.Fprintf(stderr, "heisen record: %s", plural(int(st.Events-min(unwritten, st.Events)), "event"))
	if st.Calls > st.Events {
		fmt.Fprintf(stderr, " for %s (consecutive writes coalesced)", plural(int(st.Calls), "call"))
	}
	if st.NoPath > 0 {
		fmt.Fprintf(stderr, ", %s with an unreadable path skipped", plural(int(st.NoPath), "call"))
	}
	if st.Lost > 0 {
		fmt.Fprintf(stderr, ", lost %d (per CPU: %v); the trail has loss records", st.Lost, st.LostPerCPU)
	}
	fmt.Fprintln(stderr)
	printUntraced(stderr, st)
}

// printUntraced says which processes did file I/O the trail cannot hold:
// one line for io_uring, one for Linux AIO, one for 32-bit system calls.
func printUntraced(stderr io.Writer, st record.Stats) {
	var rings, aio, compat []string
	for _, u := range st.Untraced {
		p := fmt.Sprintf("%d (%s)", u.PID, u.Comm)
		switch u.Sys {
		case "io_uring_setup":
			rings = append(rings, p)
		case "io_setup":
			aio = append(aio, p)
		case "ia32":
			compat = append(compat, p)
		}
	}
	if len(rings) > 0 {
		fmt.Fprintf(stderr, "heisen record: io_uring set up by %s: file I/O through the ring is not recorded\n", listSome(rings))
	}
	if len(aio) > 0 {
		fmt.Fprintf(stderr, "heisen record: Linux AIO (io_setup) set up by %s: file I/O submitted with io_submit is not recorded\n", listSome(aio))
	}
	if st.Compat > 0 {
		fmt.Fprintf(stderr, "heisen record: %d 32-bit system calls not recorded, by %s\n", st.Compat, listSome(compat))
	}
}

// listSome joins the first five items and says how many more there are.
func listSome(items []string) string {
	if len(items) <= 5 {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:5], ", "), len(items)-5)
}

func runRecord(ctx context.Context, backend string, cfg record.Config, argv []string, cmdOut, stderr io.Writer, w *trail.Writer) (int, record.Stats, error) {
	newCmd := func() *exec.Cmd {
		c := exec.Command(argv[0], argv[1:]...)
		c.Stdin, c.Stdout, c.Stderr = os.Stdin, cmdOut, stderr
		return c
	}
	switch {
	case backend == "ptrace":
		return record.RunPtrace(ctx, cfg, newCmd(), w)
	case len(argv) > 0:
		return record.RunCommand(ctx, cfg, newCmd(), w)
	}
	r, err := record.New(cfg)
	if err != nil {
		return -1, record.Stats{}, err
	}
	err = r.Run(ctx, w)
	return exitOK, r.Stats(), errors.Join(err, r.Close())
}
