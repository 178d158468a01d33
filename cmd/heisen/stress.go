package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/record"
	"github.com/heisen-dev/heisen/stress"
	"github.com/heisen-dev/heisen/trail"
)

const stressAbout = `Replace one file from many processes at once with a chosen strategy and
count the corrupt versions readers and writers see. Every version carries a
header (writer, sequence, length, checksum) and a body derived from it, so
a spliced, truncated or empty file is caught from its bytes alone.

Strategies: timestamp (temp target.<unix seconds>.tmp: the story's bug),
pid, millis, inplace, uuid (target.<pid>.<random hex>.tmp: the story's fix),
atomicfile (this module's library).

Observers: none, strace (writers under strace -f), trail (writers log their
opens and renames), record (heisen record). Each strategy runs once per
observer with the same budget, interleaved in rounds; rates are corrupt
writes per 1,000 with a 95% Wilson interval, and the table gives each
observer's rate and speed as multiples of the unobserved run.

Exit status: 0, or 1 with --expect-clean when any corruption was seen;
2 on usage errors; 130 when interrupted (what was measured is printed).`

// listFlag collects a repeatable flag that also takes comma lists.
type listFlag struct {
	vals []string
	set  bool
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }

func (l *listFlag) Set(s string) error {
	if !l.set {
		l.vals, l.set = nil, true // the first use replaces the default
	}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.vals = append(l.vals, v)
		}
	}
	return nil
}

// stressFlags are the flags of heisen stress.
type stressFlags struct {
	strategies, observers listFlag
	workers, writes       int
	duration              time.Duration
	size, chunk, readers  int
	think, dir            string
	keep, json, clean     bool
}

func cmdStress(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("stress", "", stressAbout, stderr)
	f := stressFlags{
		strategies: listFlag{vals: []string{"timestamp", "uuid", "atomicfile"}},
		observers:  listFlag{vals: []string{"trail"}},
	}
	fs.Var(&f.strategies, "strategy", "strategy `S` to run; repeat or give a comma list: "+strings.Join(stress.Strategies, ", "))
	fs.IntVar(&f.workers, "workers", 4, "writer `processes`")
	fs.IntVar(&f.writes, "writes", 0, "replaces per worker `N` (default 500 unless --duration)")
	fs.DurationVar(&f.duration, "duration", 0, "run each strategy × observer for `D` instead of --writes")
	fs.IntVar(&f.size, "size", 4096, "`bytes` per version, at least 64")
	fs.IntVar(&f.chunk, "chunk", 1024, "write each version in pieces of `bytes` (0: one write)")
	fs.IntVar(&f.readers, "readers", 1, "reader `processes` checking every version of the target")
	fs.StringVar(&f.think, "think", "0", "pause between a worker's writes, `DIST`: exp:5ms, const:1ms, uniform:1ms-3ms")
	fs.StringVar(&f.dir, "dir", "", "run in `DIR` (default: a fresh temp dir, removed afterwards unless --keep)")
	fs.BoolVar(&f.keep, "keep", false, "keep the temp dir: targets, trails and every corrupt version")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per strategy × observer instead of the table")
	fs.BoolVar(&f.clean, "expect-clean", false, "exit 1 when any corruption is seen")
	fs.Var(&f.observers, "observe", "observers `O`, comma list: "+strings.Join(stress.Observers, ", "))
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	plan, err := f.plan(fs)
	if err != nil {
		return usageError(stderr, "stress", "%v", err)
	}
	dir, cleanup, err := runDir(f.dir, f.keep)
	if err != nil {
		fmt.Fprintf(stderr, "heisen stress: %v\n", err)
		return exitFail
	}
	defer cleanup()
	plan.Dir = dir
	var notes []string
	if slices.Contains(plan.Observers, "record") {
		if err := recordAvailable(); err != nil {
			// The first line says what is missing; a verifier log would
			// bury the table.
			msg, _, _ := strings.Cut(err.Error(), "\n")
			if !strings.HasPrefix(msg, "record:") {
				msg = "record: " + msg
			}
			notes = append(notes, strings.TrimRight(msg, ": ")+"; its column is skipped")
			plan.Observers = slices.DeleteFunc(plan.Observers, func(o string) bool { return o == "record" })
		} else {
			plan.Record = recordAttach
		}
	}
	live := newLiveLine(stderr)
	plan.Progress = func(s, o string, round, rounds int, p stress.Progress) {
		label := s + "/" + o
		if rounds > 1 {
			label += fmt.Sprintf(" round %d/%d", round, rounds)
		}
		live.show(label, p)
	}
	cells, planNotes, err := plan.Execute(ctx)
	notes = append(notes, planNotes...)
	live.clear()
	if err != nil {
		fmt.Fprintf(stderr, "heisen stress: %v\n", err)
		return exitFail
	}
	kept := f.keep || f.dir != ""
	if f.json {
		// stdout stays pure JSON; what was skipped goes beside it.
		for _, n := range notes {
			fmt.Fprintf(stderr, "heisen stress: %s\n", n)
		}
		if err := writeJSON(stdout, cells, kept); err != nil {
			fmt.Fprintf(stderr, "heisen stress: %v\n", err)
			return exitFail
		}
	} else {
		printSummary(stdout, cells, notes, kept)
		if kept {
			fmt.Fprintf(stdout, "\nRuns, trails and corrupt versions are in %s\n", dir)
		}
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	if f.clean {
		for _, c := range cells {
			if len(c.Corrupt) > 0 {
				return exitFail
			}
		}
	}
	return exitOK
}

func (f *stressFlags) plan(fs *flag.FlagSet) (*stress.Plan, error) {
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range f.strategies.vals {
		if !stress.ValidStrategy(s) {
			return nil, fmt.Errorf("unknown strategy %q (want %s)", s, strings.Join(stress.Strategies, ", "))
		}
	}
	for _, o := range f.observers.vals {
		if !stress.ValidObserver(o) {
			return nil, fmt.Errorf("unknown observer %q (want %s)", o, strings.Join(stress.Observers, ", "))
		}
	}
	if len(f.strategies.vals) == 0 || len(f.observers.vals) == 0 {
		return nil, errors.New("--strategy and --observe need at least one name")
	}
	switch {
	case f.writes != 0 && f.duration != 0:
		return nil, errors.New("give --writes or --duration, not both")
	case f.writes < 0 || f.writes > stress.MaxWrites:
		return nil, fmt.Errorf("--writes %d: want 1 to %d", f.writes, stress.MaxWrites)
	case f.duration < 0:
		return nil, fmt.Errorf("--duration %s: want a positive duration", f.duration)
	case f.writes == 0 && f.duration == 0:
		f.writes = 500
	}
	switch {
	case f.workers < 1 || f.workers > stress.MaxWorkers:
		return nil, fmt.Errorf("--workers %d: want 1 to %d", f.workers, stress.MaxWorkers)
	case f.readers < 0:
		return nil, fmt.Errorf("--readers %d: want 0 or more", f.readers)
	case f.size < stress.HeaderSize:
		return nil, fmt.Errorf("--size %d: want at least %d bytes, the header", f.size, stress.HeaderSize)
	case f.size > stress.MaxSize:
		return nil, fmt.Errorf("--size %d: want at most %d bytes", f.size, stress.MaxSize)
	case f.chunk < 0:
		return nil, fmt.Errorf("--chunk %d: want 0 or more", f.chunk)
	}
	think, err := stress.ParseThink(f.think)
	if err != nil {
		return nil, fmt.Errorf("--think: %w", err)
	}
	self, err := selfExec()
	if err != nil {
		return nil, err
	}
	return &stress.Plan{
		Strategies: f.strategies.vals,
		Observers:  f.observers.vals,
		Config: stress.Config{
			Workers: f.workers, Writes: f.writes, Duration: f.duration,
			Size: f.size, Chunk: f.chunk, Readers: f.readers, Think: think, Self: self,
		},
	}, nil
}

// selfExec starts workers as this very binary running the hidden
// stress-worker command. argv[0] is kept as we were started, so a binary
// that dispatches on its name (a testscript test binary) does the same.
func selfExec() (stress.Exec, error) {
	exe, err := os.Executable()
	if err != nil {
		return stress.Exec{}, fmt.Errorf("find own executable to start workers: %w", err)
	}
	return stress.Exec{Path: exe, Args: []string{os.Args[0], "stress-worker"}}, nil
}

// recordAvailable loads heisen record's eBPF programs once to learn
// whether this machine can run them (root, BTF, tracefs).
func recordAvailable() error {
	rec, err := record.New(record.Config{})
	if err != nil {
		return err
	}
	return rec.Close()
}

// recordAttach records the writers with heisen record's eBPF backend: the
// observer that watches from the kernel without stopping anyone. Its trail
// goes where the plan says, and Explain reads it like the writers' own.
func recordAttach(_ context.Context, pids []int, path string) (func() error, error) {
	rec, err := record.New(record.Config{PIDs: pids, Paths: []string{filepath.Dir(path)}})
	if err != nil {
		return nil, err
	}
	w, err := trail.Open(path, trail.Buffered())
	if err != nil {
		rec.Close()
		return nil, err
	}
	// The recording stops when stop is called, not with the command's
	// context: after Ctrl-C it still drains what the kernel holds.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx, w) }()
	return func() error {
		cancel()
		return errors.Join(<-done, w.Close(), rec.Close())
	}, nil
}

// cmdStressWorker is the hidden entry point of worker and reader processes.
func cmdStressWorker(_ context.Context, args []string, stdout, stderr io.Writer) int {
	return stress.WorkerMain(args, os.Stdin, stdout, stderr)
}

// runDir returns the directory runs happen in, and what removes it.
func runDir(dir string, keep bool) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("create run directory: %w", err)
		}
		return dir, func() {}, nil
	}
	d, err := os.MkdirTemp("", "heisen-stress-")
	if err != nil {
		return "", nil, fmt.Errorf("create run directory: %w", err)
	}
	if keep {
		return d, func() {}, nil
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// jsonCell is the --json form of a Summary, with exactly the keys the
// issue fixes.
type jsonCell struct {
	Strategy   string  `json:"strategy"`
	Observer   string  `json:"observer"`
	Workers    int     `json:"workers"`
	Writes     int     `json:"writes"`
	Corrupt    int     `json:"corrupt"`
	Rate       float64 `json:"rate_per_1000"`
	CILow      float64 `json:"ci_low"`
	CIHigh     float64 `json:"ci_high"`
	WritesPerS float64 `json:"writes_per_s"`
	Explained  int     `json:"explained"`
	Trail      *string `json:"trail"`
}

func writeJSON(w io.Writer, cells []*stress.Summary, kept bool) error {
	enc := json.NewEncoder(w)
	for _, c := range cells {
		lo, hi := c.CI()
		j := jsonCell{
			Strategy: c.Strategy, Observer: c.Observer, Workers: c.Workers, Writes: c.Writes,
			Corrupt: len(c.Corrupt), Rate: round(c.Rate(), 3), CILow: round(lo, 3), CIHigh: round(hi, 3),
			WritesPerS: round(c.WritesPerSecond(), 1), Explained: c.Explained,
		}
		if c.Trail != "" && kept {
			j.Trail = &c.Trail
		}
		if err := enc.Encode(j); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
	}
	return nil
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// printSummary prints the table: one row per strategy × observer, with
// each observer's rate and speed relative to the unobserved row of the
// same strategy when there is one.
func printSummary(w io.Writer, cells []*stress.Summary, notes []string, kept bool) {
	printTable(w, cells)
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, c := range cells {
		if len(c.Corrupt) == 0 {
			continue
		}
		k := example(c.Corrupt)
		fmt.Fprintf(w, "\n%s/%s, e.g. corrupt version (%s, seen by %s): %s\n", c.Strategy, c.Observer, k.Kind, k.SeenBy, k.Reason)
		if k.Explain != "" {
			fmt.Fprintf(w, "  bytes: %s\n", k.Explain)
		}
		if kept && k.File != "" {
			fmt.Fprintf(w, "  saved: %s\n", k.File)
		}
		if f := k.Finding; f != nil {
			fmt.Fprintf(w, "  explained by analyze: %s: %s\n", f.Kind, f.Message)
		}
	}
}

// example picks the corruption that shows the most: explained, and
// spliced from more than one writer, over the first one seen.
func example(cs []stress.Corruption) *stress.Corruption {
	best, bestScore := &cs[0], -1
	for i := range cs {
		score := 0
		if cs[i].Finding != nil {
			score += 2
		}
		if len(cs[i].Sources) > 1 {
			score++
		}
		if score > bestScore {
			best, bestScore = &cs[i], score
		}
	}
	return best
}

// printTable prints one row per cell; stress and demo share it. The
// columns comparing an observer with the unobserved run appear only when
// some strategy ran unobserved and observed.
func printTable(w io.Writer, cells []*stress.Summary) {
	base := map[string]*stress.Summary{}
	for _, c := range cells {
		if c.Observer == "none" {
			base[c.Strategy] = c
		}
	}
	compare := false
	for _, c := range cells {
		if b := base[c.Strategy]; b != nil && b != c {
			compare = true
		}
	}
	cols := []string{"strategy", "observer", "writes", "corrupt", "per 1000", "95% CI", "writes/s"}
	if compare {
		cols = append(cols, "rate ×", "speed ×")
	}
	cols = append(cols, "explained")
	widths := []int{-11, -9, 7, 8, 9, 17, 9, 9, 9, 10}
	line := func(vals []string) {
		var b strings.Builder
		for i, v := range vals {
			wd := widths[i]
			if !compare && i >= 7 {
				wd = widths[i+2]
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%*s", wd, v)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(cols)
	for _, c := range cells {
		lo, hi := c.CI()
		name := c.Strategy
		if c.Interrupted {
			name += "*"
		}
		vals := []string{name, c.Observer, fmt.Sprint(c.Writes), fmt.Sprint(len(c.Corrupt)),
			fmt.Sprintf("%.2f", c.Rate()), fmt.Sprintf("[%.2f, %.2f]", lo, hi), fmt.Sprintf("%.0f", c.WritesPerSecond())}
		if compare {
			rateX, speedX := "", ""
			if b := base[c.Strategy]; b != nil && b != c {
				r, s := c.Ratios(b)
				rateX, speedX = ratio(r), ratio(s)
			}
			vals = append(vals, rateX, speedX)
		}
		explained := ""
		if c.Trail != "" {
			explained = fmt.Sprintf("%d/%d", c.Explained, len(c.Corrupt))
		}
		line(append(vals, explained))
	}
	for _, c := range cells {
		if c.Interrupted {
			fmt.Fprintln(w, "* interrupted: the counts are what was measured before the stop")
			break
		}
	}
}

func ratio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

// liveLine is the progress line on stderr, drawn only on a terminal.
type liveLine struct {
	w  io.Writer // nil: not a terminal
	on bool
}

func newLiveLine(stderr io.Writer) *liveLine {
	if isTerminal(stderr) {
		return &liveLine{w: stderr}
	}
	return &liveLine{}
}

func (l *liveLine) show(label string, p stress.Progress) {
	if l.w == nil {
		return
	}
	rate := 0.0
	if p.Writes > 0 {
		rate = 1000 * float64(p.Corrupt) / float64(p.Writes)
	}
	eta := ""
	switch {
	case p.Total > 0 && p.Writes > 0:
		left := time.Duration(float64(p.Elapsed) * float64(p.Total-p.Writes) / float64(p.Writes))
		eta = fmt.Sprintf(", ETA %s", left.Round(100*time.Millisecond))
	case p.Duration > 0:
		eta = fmt.Sprintf(" of %s", p.Duration)
	}
	total := ""
	if p.Total > 0 {
		total = fmt.Sprintf("/%d", p.Total)
	}
	fmt.Fprintf(l.w, "\r\033[K%s: %d%s writes, %d corrupt (%.2f per 1000), %s%s",
		label, p.Writes, total, p.Corrupt, rate, p.Elapsed.Round(100*time.Millisecond), eta)
	l.on = true
}

func (l *liveLine) clear() {
	if l.on {
		fmt.Fprint(l.w, "\r\033[K")
		l.on = false
	}
}
