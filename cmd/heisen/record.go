package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

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

When the trail goes to stdout, COMMAND's stdout goes to stderr.

Exit status: COMMAND's (128+N when killed by signal N); 1 when recording
failed; 2 on usage errors; 130 when interrupted without COMMAND.`

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error {
	*m = append(*m, s)
	return nil
}

func cmdRecord(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("record", "-- COMMAND [ARGS]", recordAbout, stderr)
	out := fs.String("o", "-", "write the trail to `FILE` (- for stdout)")
	var paths, pids multiFlag
	fs.Var(&paths, "path", "record only paths under `DIR` (repeatable)")
	fs.Var(&pids, "pid", "record process `PID` and what it starts from now on (repeatable)")
	all := fs.Bool("all", false, "record every process on the machine")
	backend := fs.String("backend", "ebpf", "`ebpf` or ptrace")
	ringSize := fs.Int("ring-size", record.DefaultRingSize, "eBPF ring buffer `BYTES` (a power of two, at least 4096)")
	probeStats := fs.Bool("probe-stats", false, "print what the eBPF programs cost in the kernel (ns per run) on stderr")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	cfg := record.Config{All: *all, RingSize: *ringSize, ProbeStats: *probeStats}
	for _, p := range pids {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return usageError(stderr, "record", "--pid %q is not a process id", p)
		}
		cfg.PIDs = append(cfg.PIDs, n)
	}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return usageError(stderr, "record", "--path %q: %v", p, err)
		}
		cfg.Paths = append(cfg.Paths, abs)
	}
	if *ringSize < 4096 || *ringSize&(*ringSize-1) != 0 {
		return usageError(stderr, "record", "--ring-size %d is not a power of two of at least 4096", *ringSize)
	}
	argv := fs.Args()
	if len(argv) == 0 && len(cfg.PIDs) == 0 && !cfg.All {
		return usageError(stderr, "record", "give a COMMAND after --, or --pid, or --all")
	}
	if *backend != "ebpf" && *backend != "ptrace" {
		return usageError(stderr, "record", "--backend %q: want ebpf or ptrace", *backend)
	}
	if *backend == "ptrace" && (len(argv) == 0 || cfg.All || len(cfg.PIDs) > 0) {
		return usageError(stderr, "record", "--backend ptrace records a COMMAND only (no --pid, no --all)")
	}

	var w *trail.Writer
	cmdOut := stdout
	if *out == "-" {
		w = trail.NewWriter(stdout, trail.Buffered())
		cmdOut = stderr // keep the trail parseable
	} else {
		var err error
		if w, err = trail.Create(*out, trail.Buffered()); err != nil {
			fmt.Fprintf(stderr, "heisen record: %v\n", err)
			return exitFail
		}
	}

	code, st, err := runRecord(ctx, *backend, cfg, argv, cmdOut, stderr, w)
	err = errors.Join(err, w.Close())
	for _, p := range st.Probes {
		var per float64
		if p.Runs > 0 {
			per = float64(p.Runtime.Nanoseconds()) / float64(p.Runs)
		}
		fmt.Fprintf(stderr, "heisen record: probe %s: %d runs, %v, %.0f ns/run\n", p.Name, p.Runs, p.Runtime, per)
	}
	fmt.Fprintf(stderr, "heisen record: %d events", st.Events)
	if st.Calls > st.Events {
		fmt.Fprintf(stderr, " for %d calls (consecutive writes coalesced)", st.Calls)
	}
	if st.NoPath > 0 {
		fmt.Fprintf(stderr, ", %d calls with an unreadable path skipped", st.NoPath)
	}
	if st.Lost > 0 {
		fmt.Fprintf(stderr, ", lost %d (per CPU: %v); the trail has loss records", st.Lost, st.LostPerCPU)
	}
	fmt.Fprintln(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "heisen record: %v\n", err)
		if errors.Is(err, record.ErrUnavailable) && *backend == "ebpf" {
			fmt.Fprintln(stderr, "heisen record: --backend ptrace works without it, but slows every traced syscall")
		}
		if code <= 0 {
			return exitFail
		}
	}
	return code
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
