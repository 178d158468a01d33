package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/heisen-dev/heisen/trail"
)

const analyzeAbout = `Analyze reads trail files (JSON Lines of file operations written by
atomicfile, heisen stress or heisen record), merges them in time order and
names the races in them, each with the trail lines (file:line) that prove it.
A TRAIL of "-" is standard input.

Errors (races): temp-collision, shared-inode-write, torn-rename,
write-after-rename, lost-update. Warnings (durability or visibility risks):
unsynced-rename, unsynced-dir, in-place-rewrite. Predictions (races that
did not happen in this run but will): predictable-temp, a warning, an
error when two running writers used one temp name; unlocked-update, when
another process replaces the file too, or with --concurrent (you state
that copies of the recorded program run at once) for every unlocked
update, so one worker's trail predicts what its copies would lose.

Findings of one cause form a group: the same kind, program and name
pattern (digits and random parts of the file name abstracted) in the same
directory. The output starts with a summary by kind and group, then shows
each group once with up to 3 examples and their evidence (as many as fit
in about 60 lines; every group gets one); --all lists every finding,
--json every finding with its group, then the summary.

Exit status: 0 when no finding is at or above --fail-on, 1 when one is,
2 on usage errors or unreadable input. Malformed lines are reported on
stderr as file:line and skipped.`

// analyzeTime parses --since and --until as RFC 3339.
type analyzeTime struct{ t *time.Time }

func (a analyzeTime) String() string {
	if a.t == nil || a.t.IsZero() {
		return ""
	}
	return a.t.Format(time.RFC3339Nano)
}

func (a analyzeTime) Set(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return errors.New("want an RFC 3339 time like 2026-11-25T12:00:00Z")
	}
	*a.t = t
	return nil
}

// analyzeStamp prints times as trails write them.
const analyzeStamp = "2006-01-02T15:04:05.000000000Z07:00"

// maxMalformedShown bounds the malformed lines printed; all are counted.
const maxMalformedShown = 20

// analysis is one heisen analyze: its flags, then what each phase of
// cmdAnalyze opens or counts.
type analysis struct {
	stdout, stderr io.Writer
	trails         []string
	jsonOut, all   bool
	failOn         string
	failAt         analyze.Severity
	html, timeline string
	opts           analyze.Options
	readers        []*trail.Reader
	files          []*os.File
	malformed      int64 // malformed lines reported so far
	tl             *analyze.Timeline
	tf             *atomicfile.File
	out            *bufio.Writer
	color          bool
	worst          analyze.Severity
	outErr         error
}

// cmdAnalyze runs the phases of heisen analyze in order: parse the flags,
// open the trails and the outputs, stream the analysis, check what the
// readers saw, then write the timeline, the HTML report and the output.
func cmdAnalyze(_ context.Context, args []string, stdout, stderr io.Writer) int {
	a := &analysis{stdout: stdout, stderr: stderr}
	if code, ok := a.parseFlags(args); !ok {
		return code
	}
	defer a.close()
	rep, err := a.analyze()
	if err == nil {
		err = a.write(rep)
	}
	if e := (*exitError)(nil); errors.As(err, &e) {
		if e.usage {
			return usageError(stderr, "analyze", "%s", e.msg)
		}
		fmt.Fprintf(stderr, "heisen analyze: %s\n", e.msg)
		return e.code
	}
	if a.failOn != "none" && a.worst >= a.failAt && a.worst > 0 {
		return exitFail
	}
	return exitOK
}

// parseFlags fills a from the command line; it returns the exit status
// and false when the command is done (help, a usage error).
func (a *analysis) parseFlags(args []string) (int, bool) {
	fs := newFlagSet("analyze", "TRAIL...", analyzeAbout, a.stderr)
	fs.BoolVar(&a.jsonOut, "json", false, "print one JSON object per finding (with its group), then a summary object")
	fs.BoolVar(&a.all, "all", false, "list every finding with its evidence, then the summary (default: the summary, then each group once with up to 3 examples)")
	fs.StringVar(&a.failOn, "fail-on", "error", "exit 1 when a finding is at or above `SEVERITY`: error, warning or none")
	fs.BoolVar(&a.opts.Durability, "durability", false, "expect a directory fsync after every rename (default: only after renames of fsynced sources)")
	fs.BoolVar(&a.opts.Concurrent, "concurrent", false, "copies of the recorded program run at once: every update (a read, then a replace or rewrite) with no lock held across it is an unlocked-update (default: only when the trail shows another process replacing the file)")
	fs.StringVar(&a.html, "html", "", "write a self-contained HTML report, a timeline per finding group, to `FILE`")
	fs.StringVar(&a.timeline, "timeline", "", "write the windows and findings as Chrome trace-event JSON to `FILE` (open in ui.perfetto.dev)")
	var paths listFlag
	fs.Var(&paths, "path", "keep findings whose target is `PATH`, lies under it, or matches it as a glob; repeatable")
	fs.Var(analyzeTime{&a.opts.Since}, "since", "keep findings that end at or after this RFC 3339 `TIME`")
	fs.Var(analyzeTime{&a.opts.Until}, "until", "keep findings that start at or before this RFC 3339 `TIME`")
	if code, ok := parse(fs, args, a.stdout); !ok {
		return code, false
	}
	a.trails, a.opts.Paths = fs.Args(), paths.vals
	if len(a.trails) == 0 {
		return usageError(a.stderr, "analyze", "no trail files given"), false
	}
	var ok bool
	if a.failAt, ok = analyze.ParseSeverity(a.failOn); !ok && a.failOn != "none" {
		return usageError(a.stderr, "analyze", "--fail-on %q: want error, warning or none", a.failOn), false
	}
	return 0, true
}

// analyze opens the trails and the timeline, and runs the analysis with
// findings streaming out as they become final (--json, --all) or only
// counted into their groups (the default), so memory holds the groups,
// not every finding.
func (a *analysis) analyze() (*analyze.Report, error) {
	for _, out := range []struct{ flag, name string }{{"--timeline", a.timeline}, {"--html", a.html}} {
		if in := sameFileAs(out.name, a.trails); out.name != "" && in != "" {
			return nil, usageErr("%s %s is the trail %s: refusing to overwrite an input", out.flag, out.name, in)
		}
	}
	if err := a.openTrails(); err != nil {
		return nil, err
	}
	if err := a.openTimeline(); err != nil {
		return nil, err
	}
	a.out = bufio.NewWriter(a.stdout)
	a.color = colorful(a.stdout)
	a.opts.OnFinding = a.onFinding
	a.opts.Transient = true // onFinding writes each finding out and keeps none
	// The default output reads only the groups' examples in full.
	a.opts.Brief = !a.jsonOut && !a.all && a.tl == nil
	// The analysis keeps little alive (open windows, recent files, groups)
	// and allocates much (an evidence copy per finding): collect less
	// often than Go's default, within a soft limit that keeps the peak
	// RSS under 100 MiB (docs/benchmarks.md). A heap let grow much
	// further runs out of cache and into page faults: at 20 times what
	// is live, a trail with one hot file took 10% more CPU time, one of
	// 200,000 events 50% more.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(64 << 20))
	rep, err := analyze.Run(trail.Merge(a.readers...), a.opts)
	if err != nil {
		return nil, exitErr(exitUsage, "%v", err)
	}
	return rep, a.checkReaders()
}

// openTrails opens every trail ("-" is standard input) with a reader that
// reports its first malformed lines.
func (a *analysis) openTrails() error {
	for _, name := range a.trails {
		var in io.Reader = os.Stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return exitErr(exitUsage, "%v", err)
			}
			a.files = append(a.files, f)
			in = f
		}
		r := trail.NewReader(in, name)
		r.Malformed = func(e *trail.LineError) {
			if a.malformed++; a.malformed <= maxMalformedShown {
				fmt.Fprintf(a.stderr, "%s: malformed line skipped: %s\n", e.Pos, e.Reason)
			}
		}
		a.readers = append(a.readers, r)
	}
	return nil
}

// openTimeline starts the --timeline file, written beside its target and
// put in place only after the analysis: a failed run leaves the old file
// as it was.
func (a *analysis) openTimeline() error {
	if a.timeline == "" {
		return nil
	}
	var err error
	if a.tf, err = atomicfile.Create(a.timeline); err != nil {
		return exitErr(exitUsage, "%v", err)
	}
	a.tl = analyze.NewTimeline(a.tf)
	a.opts.OnWindow = func(w *analyze.Window) {
		if a.opts.KeepWindow(w) {
			a.tl.Window(w)
		}
	}
	return nil
}

// onFinding takes each finding as the analysis makes it final.
func (a *analysis) onFinding(f *analyze.Finding) {
	a.worst = max(a.worst, f.Severity)
	if a.tl != nil {
		a.tl.Finding(f)
	}
	switch {
	case a.jsonOut:
		a.outErr = cmp.Or(a.outErr, writeAnalyzeJSONFinding(a.out, f))
	case a.all:
		writeAnalyzeFinding(a.out, f, a.color, -1)
	}
}

// checkReaders says what the readers saw that the findings do not: more
// malformed lines than were shown, a file that is no trail at all, times
// that run backwards.
func (a *analysis) checkReaders() error {
	if a.malformed > maxMalformedShown {
		fmt.Fprintf(a.stderr, "heisen analyze: %s not shown\n", plural(int(a.malformed-maxMalformedShown), "more malformed line"))
	}
	for _, r := range a.readers {
		s := r.Stats()
		if s.Malformed > 0 && s.Events == 0 && s.LossRecords == 0 {
			return exitErr(exitUsage, "%s: not a trail: %s, all malformed", r.Name(), plural(int(s.Malformed), "line"))
		}
		if s.Backwards > 0 {
			fmt.Fprintf(a.stderr, "heisen analyze: warning: %s: times run backwards at %s (by up to %v): its events are taken in line order\n",
				r.Name(), plural(int(s.Backwards), "event"), s.MaxBackwards)
		}
	}
	return nil
}

// write puts the timeline in place, writes the HTML report, then the
// output in the form the flags chose.
func (a *analysis) write(rep *analyze.Report) error {
	if a.tl != nil {
		if err := cmp.Or(a.tl.Close(), a.tf.Commit()); err != nil {
			return exitErr(exitFail, "write %s: %v", a.timeline, err)
		}
	}
	if a.html != "" {
		if err := writeHTMLReport(a.html, rep, a.trails); err != nil {
			return exitErr(exitFail, "--html: %v", err)
		}
	}
	n := len(a.readers)
	switch {
	case a.jsonOut:
		a.outErr = cmp.Or(a.outErr, json.NewEncoder(a.out).Encode(map[string]any{"summary": analyzeSummary(rep, n)}))
	case a.all:
		writeAnalyzeSummary(a.out, rep, n, a.color)
	default:
		var sum strings.Builder
		writeAnalyzeSummary(&sum, rep, n, a.color)
		io.WriteString(a.out, sum.String())
		writeAnalyzeGroups(a.out, rep, a.color, strings.Count(sum.String(), "\n"))
	}
	if err := cmp.Or(a.outErr, a.out.Flush()); err != nil {
		return exitErr(exitFail, "%v", err)
	}
	return nil
}

// close closes the trails and drops an uncommitted timeline.
func (a *analysis) close() {
	for _, f := range a.files {
		f.Close()
	}
	if a.tf != nil {
		a.tf.Close()
	}
}

// sameFileAs returns the trail among inputs ("-" is standard input) that
// is the file at out (after symbolic links), or "" when none is.
func sameFileAs(out string, inputs []string) string {
	ofi, err := os.Stat(out)
	if err != nil {
		return "" // not there yet: no input can be it
	}
	for _, in := range inputs {
		var fi os.FileInfo
		if in == "-" {
			fi, err = os.Stdin.Stat()
		} else {
			fi, err = os.Stat(in)
		}
		if err == nil && os.SameFile(ofi, fi) {
			return in
		}
	}
	return ""
}

type analyzeJSONFinding struct {
	Kind     analyze.Kind `json:"kind"`
	Severity string       `json:"severity"`
	Path     string       `json:"path"`
	Group    string       `json:"group"`
	Program  string       `json:"program,omitempty"`
	PIDs     []int        `json:"pids"`
	MorePIDs bool         `json:"more_pids,omitempty"`
	Hosts    []string     `json:"hosts,omitempty"`
	Start    string       `json:"start"` // RFC 3339 UTC, 9 fractional digits as in trails
	End      string       `json:"end"`
	Count    int          `json:"count"`
	Message  string       `json:"message"`
	Note     string       `json:"note,omitempty"`
	Evidence []string     `json:"evidence"`
	Omitted  int          `json:"evidence_omitted,omitempty"`
}

type analyzeJSONGroup struct {
	Group    string       `json:"group"`
	Kind     analyze.Kind `json:"kind"`
	Severity string       `json:"severity"`
	Program  string       `json:"program,omitempty"`
	Name     string       `json:"name"`
	Findings int          `json:"findings"`
	Count    int          `json:"count"`
}

type analyzeJSONSummary struct {
	Trails      int                `json:"trails"`
	Events      int64              `json:"events"`
	Malformed   int64              `json:"malformed"`
	LossRecords int64              `json:"loss_records"`
	Lost        uint64             `json:"lost"`
	Untraced    map[string]int     `json:"untraced,omitempty"`
	Findings    map[string]int     `json:"findings"`
	Errors      int                `json:"errors"`
	Warnings    int                `json:"warnings"`
	Groups      []analyzeJSONGroup `json:"groups"`
}

func analyzeSummary(rep *analyze.Report, trails int) analyzeJSONSummary {
	s := analyzeJSONSummary{Trails: trails, Events: rep.Stats.Events, Malformed: rep.Stats.Malformed,
		LossRecords: rep.Stats.LossRecords, Lost: rep.Stats.Lost, Untraced: rep.Untraced, Findings: map[string]int{}, Groups: []analyzeJSONGroup{}}
	for _, g := range rep.Groups {
		s.Findings[string(g.Kind)] += g.Findings
		if g.Severity == analyze.Error {
			s.Errors += g.Findings
		} else {
			s.Warnings += g.Findings
		}
		s.Groups = append(s.Groups, analyzeJSONGroup{Group: g.ID(), Kind: g.Kind, Severity: g.Severity.String(),
			Program: g.Program, Name: g.Name, Findings: g.Findings, Count: g.Count})
	}
	return s
}

func writeAnalyzeJSONFinding(w io.Writer, f *analyze.Finding) error {
	ev := make([]string, len(f.Evidence))
	for i := range f.Evidence {
		ev[i] = f.Evidence[i].Pos.String()
	}
	return json.NewEncoder(w).Encode(analyzeJSONFinding{Kind: f.Kind, Severity: f.Severity.String(), Path: f.Path,
		Group: f.Group, Program: f.Program, PIDs: f.PIDs, MorePIDs: f.MorePIDs, Hosts: f.Hosts,
		Start: f.Start.UTC().Format(analyzeStamp), End: f.End.UTC().Format(analyzeStamp), Count: f.Count,
		Message: f.Message, Note: f.Note, Evidence: ev, Omitted: f.Omitted})
}

const (
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiReset  = "\x1b[0m"
)

func paint(color bool, code, s string) string {
	if !color {
		return s
	}
	return code + s + ansiReset
}

func severityWord(sev analyze.Severity, color bool) string {
	if sev == analyze.Error {
		return paint(color, ansiRed, "error")
	}
	return paint(color, ansiYellow, "warning")
}

// writeAnalyzeSummary writes what was read, then the findings by kind and
// group, one line each.
func writeAnalyzeSummary(w io.Writer, rep *analyze.Report, trails int, color bool) {
	s := analyzeSummary(rep, trails)
	fmt.Fprintf(w, "%s in %s", plural(int(s.Events), "event"), plural(s.Trails, "trail"))
	if !rep.Start.IsZero() {
		fmt.Fprintf(w, ", %s to %s", rep.Start.UTC().Format(analyzeStamp), rep.End.UTC().Format(analyzeStamp))
	}
	fmt.Fprintf(w, "; %s skipped", plural(int(s.Malformed), "malformed line"))
	if s.LossRecords > 0 {
		fmt.Fprintf(w, "; %s lost by the recorder (%s): findings may be missing", plural(int(s.Lost), "event"), plural(int(s.LossRecords), "loss record"))
	}
	if len(rep.Untraced) > 0 {
		calls := make([]string, 0, len(rep.Untraced))
		n := 0
		for sys, k := range rep.Untraced {
			calls = append(calls, sys)
			n += k
		}
		slices.Sort(calls)
		fmt.Fprintf(w, "; %s did I/O the recorder could not see (%s): findings may be missing", plural(n, "process"), strings.Join(calls, ", "))
	}
	fmt.Fprintln(w)
	if len(rep.Groups) == 0 {
		fmt.Fprintln(w, "no findings")
		return
	}
	fmt.Fprintf(w, "%s in %s: %s, %s (", plural(s.Errors+s.Warnings, "finding"), plural(len(rep.Groups), "group"),
		plural(s.Errors, "error"), plural(s.Warnings, "warning"))
	first := true
	for _, k := range analyze.Kinds {
		if n := s.Findings[string(k)]; n > 0 {
			if !first {
				fmt.Fprint(w, ", ")
			}
			first = false
			fmt.Fprintf(w, "%s %d", k, n)
		}
	}
	fmt.Fprintln(w, ")")
	for _, g := range rep.Groups {
		fmt.Fprintf(w, "  %s %s: %s\n", severityWord(g.Severity, color), g.ID(), groupCount(g))
	}
}

func groupCount(g *analyze.Group) string {
	s := plural(g.Findings, "finding")
	if g.Count != g.Findings {
		s += " (" + plural(g.Count, "occurrence") + ")"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "s") {
		return strconv.Itoa(n) + " " + word + "es"
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// defaultEvidence bounds the evidence lines of an example in the default
// output; --all shows every line a finding keeps.
const defaultEvidence = 6

// defaultLines is what the default output aims to fit in: every group is
// shown with its first example, and further examples (up to
// analyze.MaxExamples) while the output stays within it.
const defaultLines = 60

// writeAnalyzeGroups shows each group once: its examples, each with its
// evidence, and how many findings --all would add. used is the number of
// lines written before.
func writeAnalyzeGroups(w io.Writer, rep *analyze.Report, color bool, used int) {
	examples := make([][]string, len(rep.Groups))
	shown := make([]int, len(rep.Groups))
	for i, g := range rep.Groups {
		for _, f := range g.Examples {
			var b strings.Builder
			writeAnalyzeFinding(&b, f, color, defaultEvidence)
			examples[i] = append(examples[i], b.String())
		}
		shown[i] = 1
		used += 2 + strings.Count(examples[i][0], "\n")
		if g.Findings > 1 {
			used++
		}
	}
	for round := 1; round < analyze.MaxExamples; round++ {
		for i := range rep.Groups {
			if round < len(examples[i]) && shown[i] == round {
				if n := strings.Count(examples[i][round], "\n"); used+n <= defaultLines {
					shown[i]++
					used += n
				}
			}
		}
	}
	for i, g := range rep.Groups {
		fmt.Fprintf(w, "\n%s %s: %s, pids %s\n", severityWord(g.Severity, color), paint(color, ansiBold, g.ID()),
			groupCount(g), analyzePIDs(g.PIDs))
		for _, ex := range examples[i][:shown[i]] {
			io.WriteString(w, ex)
		}
		if more := g.Findings - shown[i]; more > 0 {
			word := "findings"
			if more == 1 {
				word = "finding"
			}
			fmt.Fprintf(w, "  … %d more %s in this group (--all lists every finding)\n", more, word)
		}
	}
}

// writeAnalyzeFinding writes one finding with up to maxEvidence evidence
// lines (all with -1).
func writeAnalyzeFinding(w io.Writer, f *analyze.Finding, color bool, maxEvidence int) {
	fmt.Fprintf(w, "  %s %s %s  %s .. %s  pids %s", severityWord(f.Severity, color), f.Kind, f.Path,
		f.Start.Format("15:04:05.000000"), f.End.Format("15:04:05.000000"), analyzePIDs(f.PIDs))
	if len(f.Hosts) > 0 {
		fmt.Fprintf(w, " on %s", strings.Join(f.Hosts, ", "))
	}
	if f.Count > 1 {
		fmt.Fprintf(w, "  (%d times)", f.Count)
	}
	fmt.Fprintf(w, "\n    %s\n", f.Message)
	if f.Note != "" {
		fmt.Fprintf(w, "    note: %s\n", f.Note)
	}
	omitted := f.Omitted
	for i := range f.Evidence {
		if maxEvidence >= 0 && i == maxEvidence {
			omitted += len(f.Evidence) - i
			break
		}
		e := &f.Evidence[i]
		fmt.Fprintf(w, "    %s %s  %s\n", paint(color, ansiDim, e.Pos.String()), e.TS.Format("15:04:05.000000000"), analyze.Describe(e))
	}
	if omitted > 0 {
		fmt.Fprintf(w, "    … %d more evidence lines\n", omitted)
	}
}

// analyzePIDs lists pids, the first few only: a warning grouped over a long
// run can involve hundreds of processes (--json lists them all).
func analyzePIDs(pids []int) string {
	const show = 8
	var b strings.Builder
	for i, p := range pids {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(pids)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(p))
	}
	return b.String()
}
