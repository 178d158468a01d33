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

A replace that fails for a reason of the system (a full disk, a
permission) counts as failed: the table gains a failed column and names
the first error, and the exit status is 1. A rename that finds its temp
gone because a writer with the same temp name renamed it first is the race
itself, not a failure.

Exit status: 0; 1 when a write failed, a run could not go on (the rows
measured before are printed), or with --expect-clean when any corruption
was seen; 2 on usage errors; 130 when interrupted (what was measured is
printed).`

// stressFlags are the flags of heisen stress.
type stressFlags struct {
	strategies, observers listFlag
	writers, writes       int
	duration              time.Duration
	size, chunk, readers  int
	think, dir            string
	keep, json, clean     bool
}

// cmdStress runs the plan the flags describe and reports it: parse and
// check the flags, set up the run directory and the observers, execute
// with a live line, print, and choose the exit status.
func cmdStress(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("stress", "", stressAbout, stderr)
	f := newStressFlags(fs)
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	plan, err := f.plan(fs)
	if err != nil {
		return usageError(stderr, "stress", "%v", err)
	}
	dir, cleanup, err := runDir(f.dir, f.keep)
	if err != nil {
		printError(stderr, "stress", err)
		return exitFail
	}
	defer cleanup()
	plan.Dir = dir
	notes := useRecord(plan)
	live := newLiveLine(stderr)
	plan.Progress = func(s, o string, round, rounds int, p stress.Progress) {
		label := s + "/" + o
		if rounds > 1 {
			label += fmt.Sprintf(" round %d/%d", round, rounds)
		}
		live.show(label, p)
	}
	cells, planNotes, runErr := plan.Execute(ctx)
	live.clear()
	if err := f.report(stdout, stderr, cells, append(notes, planNotes...), dir); err != nil {
		printError(stderr, "stress", err)
		return exitFail
	}
	return f.status(ctx, stderr, cells, runErr)
}

func newStressFlags(fs *flag.FlagSet) *stressFlags {
	f := &stressFlags{
		strategies: listFlag{vals: []string{"timestamp", "uuid", "atomicfile"}, commas: true},
		observers:  listFlag{vals: []string{"trail"}, commas: true},
	}
	fs.Var(&f.strategies, "strategy", "strategy `S` to run; repeat or give a comma list: "+strings.Join(stress.Strategies, ", "))
	fs.IntVar(&f.writers, "writers", 4, "writer `processes`")
	fs.IntVar(&f.writers, "workers", 4, "the former name of --writers")
	fs.IntVar(&f.writes, "writes", 0, "replaces per writer `N` (default 500 unless --duration)")
	fs.DurationVar(&f.duration, "duration", 0, "run each strategy × observer for `D` instead of --writes")
	fs.IntVar(&f.size, "size", 4096, "`bytes` per version, at least 64")
	fs.IntVar(&f.chunk, "chunk", 1024, "write each version in pieces of `bytes` (0: one write)")
	fs.IntVar(&f.readers, "readers", 1, "reader `processes` checking every version of the target")
	fs.StringVar(&f.think, "think", "0", "pause between a writer's writes, `DIST`: exp:5ms, const:1ms, uniform:1ms-3ms")
	fs.StringVar(&f.dir, "dir", "", "run in `DIR` (default: a fresh temp dir, removed afterwards unless --keep)")
	fs.BoolVar(&f.keep, "keep", false, "keep the temp dir: targets, trails and every corrupt version")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per strategy × observer instead of the table")
	fs.BoolVar(&f.clean, "expect-clean", false, "exit 1 when any corruption is seen")
	fs.Var(&f.observers, "observe", "observers `O`, comma list: "+strings.Join(stress.Observers, ", "))
	return f
}

// useRecord attaches heisen record's recorder to the plan when it asks
// for it, or drops its column with a note saying what is missing.
func useRecord(plan *stress.Plan) (notes []string) {
	if !slices.Contains(plan.Observers, "record") {
		return nil
	}
	if err := recordAvailable(); err != nil {
		// The first line says what is missing; a verifier log would
		// bury the table.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		if !strings.HasPrefix(msg, "record:") {
			msg = "record: " + msg
		}
		plan.Observers = slices.DeleteFunc(plan.Observers, func(o string) bool { return o == "record" })
		return []string{strings.TrimRight(msg, ": ") + "; its column is skipped"}
	}
	plan.Record = recordAttach
	return nil
}

// report prints the cells as JSON or as the table, with the notes.
func (f *stressFlags) report(stdout, stderr io.Writer, cells []*stress.Summary, notes []string, dir string) error {
	kept := f.keep || f.dir != ""
	if !f.json {
		printSummary(stdout, cells, notes, kept)
		if kept {
			fmt.Fprintf(stdout, "\nRuns, trails and corrupt versions are in %s\n", dir)
		}
		return nil
	}
	// stdout stays pure JSON; what was skipped goes beside it.
	for _, n := range notes {
		fmt.Fprintf(stderr, "heisen stress: %s\n", n)
	}
	return writeJSON(stdout, cells, kept)
}

// status is the exit status: a run that could not go on, an interruption,
// failed writes, and with --expect-clean any corruption.
func (f *stressFlags) status(ctx context.Context, stderr io.Writer, cells []*stress.Summary, runErr error) int {
	if runErr != nil {
		printError(stderr, "stress", runErr)
		return exitFail
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	if failed, first := failedWrites(cells); failed > 0 {
		fmt.Fprintf(stderr, "heisen stress: %s failed, the first with: %s\n", plural(failed, "write"), first)
		return exitFail
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
	// A zero given is an error, not the default: only a flag left out
	// takes it.
	set := setFlags(fs)
	switch {
	case set["writes"] && set["duration"]:
		return nil, errors.New("give --writes or --duration, not both")
	case set["writes"] && (f.writes < 1 || f.writes > stress.MaxWrites):
		return nil, fmt.Errorf("--writes %d: want 1 to %d", f.writes, stress.MaxWrites)
	case set["duration"] && f.duration <= 0:
		return nil, fmt.Errorf("--duration %s: want a positive duration", f.duration)
	case !set["writes"] && !set["duration"]:
		f.writes = 500
	}
	switch {
	case f.writers < 1 || f.writers > stress.MaxWriters:
		return nil, fmt.Errorf("--writers %d: want 1 to %d", f.writers, stress.MaxWriters)
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
			Writers: f.writers, Writes: f.writes, Duration: f.duration,
			Size: f.size, Chunk: f.chunk, Readers: f.readers, Think: think, Self: self,
		},
	}, nil
}

// selfExec starts writers and readers as this very binary running the hidden
// stress-worker command. argv[0] is kept as we were started, so a binary
// that dispatches on its name (a testscript test binary) does the same.
func selfExec() (stress.Exec, error) {
	exe, err := os.Executable()
	if err != nil {
		return stress.Exec{}, fmt.Errorf("find own executable to start writers and readers: %w", err)
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

// failedWrites totals the failed writes of every cell and returns the
// first cell's first error.
func failedWrites(cells []*stress.Summary) (n int, first string) {
	for _, c := range cells {
		n += c.Failed
		if first == "" {
			first = c.FirstErr
		}
	}
	return n, first
}

// jsonCell is the --json form of a Summary, with exactly the keys the
// docs/stress.md documents.
type jsonCell struct {
	Strategy   string  `json:"strategy"`
	Observer   string  `json:"observer"`
	Writers    int     `json:"writers"`
	Workers    int     `json:"workers"` // Writers again, under the key of earlier versions
	Writes     int     `json:"writes"`
	Failed     int     `json:"failed"`
	Corrupt    int     `json:"corrupt"`
	Rate       float64 `json:"rate_per_1000"`
	CILow      float64 `json:"ci_low"`
	CIHigh     float64 `json:"ci_high"`
	WritesPerS float64 `json:"writes_per_s"`
	Explained  int     `json:"explained"`
	Trail      *string `json:"trail"`
	FirstError *string `json:"first_error"`
}

func writeJSON(w io.Writer, cells []*stress.Summary, kept bool) error {
	enc := json.NewEncoder(w)
	for _, c := range cells {
		lo, hi := c.CI()
		j := jsonCell{
			Strategy: c.Strategy, Observer: c.Observer, Writers: c.Writers, Workers: c.Writers, Writes: c.Writes,
			Failed: c.Failed, Corrupt: len(c.Corrupt), Rate: round(c.Rate(), 3), CILow: round(lo, 3), CIHigh: round(hi, 3),
			WritesPerS: round(c.WritesPerSecond(), 1), Explained: c.Explained,
		}
		if c.Trail != "" && kept {
			j.Trail = &c.Trail
		}
		if c.FirstErr != "" {
			j.FirstError = &c.FirstErr
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
		if c.Failed > 0 {
			fmt.Fprintf(w, "%s/%s: %d of %d writes failed, the first with: %s\n", c.Strategy, c.Observer, c.Failed, c.Writes, c.FirstErr)
		}
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
	printPredictions(w, cells)
}

// printPredictions says, for each cell whose runs showed no corruption,
// what analyze predicts from its trail: the race the run did not hit.
func printPredictions(w io.Writer, cells []*stress.Summary) {
	for _, c := range cells {
		if len(c.Corrupt) > 0 {
			continue
		}
		for _, f := range c.Predicted {
			fmt.Fprintf(w, "\n%s/%s: 0 corrupt in %d writes, but analyze predicts %s: %s\n", c.Strategy, c.Observer, c.Writes, f.Kind, f.Message)
			if f.Note != "" {
				fmt.Fprintf(w, "  note: %s\n", f.Note)
			}
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

// printTable prints one row per cell; stress and demo share it.
func printTable(w io.Writer, cells []*stress.Summary) {
	cols := tableColumns(cells)
	line := func(val func(column) string) {
		var b strings.Builder
		for i, col := range cols {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%*s", col.width, val(col))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(func(col column) string { return col.name })
	for _, c := range cells {
		line(func(col column) string { return col.val(c) })
	}
	for _, c := range cells {
		if c.Interrupted {
			fmt.Fprintln(w, "* interrupted: the counts are what was measured before the stop")
			break
		}
	}
}

// A column of the table: its heading, its width (negative: left-aligned)
// and its value in a cell's row.
type column struct {
	name  string
	width int
	val   func(c *stress.Summary) string
}

// tableColumns picks the table's columns. Those comparing an observer with
// the unobserved run appear only when some strategy ran unobserved and
// observed, the failed column only when a write failed.
func tableColumns(cells []*stress.Summary) []column {
	base := map[string]*stress.Summary{}
	for _, c := range cells {
		if c.Observer == "none" {
			base[c.Strategy] = c
		}
	}
	compare, failed := false, false
	for _, c := range cells {
		compare = compare || base[c.Strategy] != nil && base[c.Strategy] != c
		failed = failed || c.Failed > 0
	}
	cols := []column{
		{"strategy", -11, func(c *stress.Summary) string {
			if c.Interrupted {
				return c.Strategy + "*"
			}
			return c.Strategy
		}},
		{"observer", -9, func(c *stress.Summary) string { return c.Observer }},
		{"writes", 7, func(c *stress.Summary) string { return fmt.Sprint(c.Writes) }},
	}
	if failed {
		cols = append(cols, column{"failed", 7, func(c *stress.Summary) string { return fmt.Sprint(c.Failed) }})
	}
	cols = append(cols,
		column{"corrupt", 8, func(c *stress.Summary) string { return fmt.Sprint(len(c.Corrupt)) }},
		column{"per 1000", 9, func(c *stress.Summary) string { return fmt.Sprintf("%.2f", c.Rate()) }},
		column{"95% CI", 17, func(c *stress.Summary) string {
			lo, hi := c.CI()
			return fmt.Sprintf("[%.2f, %.2f]", lo, hi)
		}},
		column{"writes/s", 9, func(c *stress.Summary) string { return fmt.Sprintf("%.0f", c.WritesPerSecond()) }},
	)
	if compare {
		ratios := func(c *stress.Summary) (rate, speed string) {
			if b := base[c.Strategy]; b != nil && b != c {
				r, s := c.Ratios(b)
				return ratio(r), ratio(s)
			}
			return "", ""
		}
		cols = append(cols,
			column{"rate ×", 9, func(c *stress.Summary) string { r, _ := ratios(c); return r }},
			column{"speed ×", 9, func(c *stress.Summary) string { _, s := ratios(c); return s }},
		)
	}
	return append(cols, column{"explained", 10, func(c *stress.Summary) string {
		if c.Trail == "" {
			return ""
		}
		return fmt.Sprintf("%d/%d", c.Explained, len(c.Corrupt))
	}})
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
