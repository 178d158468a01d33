package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/trail"
)

const analyzeAbout = `Analyze reads trail files (JSON Lines of file operations written by
atomicfile, heisen stress or heisen record), merges them in time order and
names the races in them, each with the trail lines (file:line) that prove it.
A TRAIL of "-" is standard input.

Errors (races): temp-collision, shared-inode-write, torn-rename,
write-after-rename, lost-update. Warnings (durability or visibility risks):
unsynced-rename, unsynced-dir, in-place-rewrite.

Exit status: 0 when no finding is at or above --fail-on, 1 when one is,
2 on usage errors or unreadable input. Malformed lines are reported on
stderr as file:line and skipped.`

// analyzePaths collects repeated --path flags.
type analyzePaths []string

func (p *analyzePaths) String() string { return strings.Join(*p, ",") }
func (p *analyzePaths) Set(s string) error {
	*p = append(*p, s)
	return nil
}

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

func cmdAnalyze(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("analyze", "TRAIL...", analyzeAbout, stderr)
	jsonOut := fs.Bool("json", false, "print one JSON object per finding, then a summary object")
	failOn := fs.String("fail-on", "error", "exit 1 when a finding is at or above `SEVERITY`: error, warning or none")
	durability := fs.Bool("durability", false, "expect a directory fsync after every rename (default: only after renames of fsynced sources)")
	timeline := fs.String("timeline", "", "write the windows and findings as Chrome trace-event JSON to `FILE` (open in ui.perfetto.dev)")
	var opts analyze.Options
	var paths analyzePaths
	fs.Var(&paths, "path", "keep findings whose target is `PATH`, lies under it, or matches it as a glob; repeatable")
	fs.Var(analyzeTime{&opts.Since}, "since", "keep findings that end at or after this RFC 3339 `TIME`")
	fs.Var(analyzeTime{&opts.Until}, "until", "keep findings that start at or before this RFC 3339 `TIME`")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if fs.NArg() == 0 {
		return usageError(stderr, "analyze", "no trail files given")
	}
	failAt, ok := analyze.ParseSeverity(*failOn)
	if !ok && *failOn != "none" {
		return usageError(stderr, "analyze", "--fail-on %q: want error, warning or none", *failOn)
	}
	opts.Durability, opts.Paths = *durability, paths

	readers := make([]*trail.Reader, 0, fs.NArg())
	var shown int64
	for _, name := range fs.Args() {
		var in io.Reader = os.Stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(stderr, "heisen analyze: %v\n", err)
				return exitUsage
			}
			defer f.Close()
			in = f
		}
		r := trail.NewReader(in, name)
		r.Malformed = func(e *trail.LineError) {
			if shown++; shown <= maxMalformedShown {
				fmt.Fprintf(stderr, "%s: malformed line skipped: %s\n", e.Pos, e.Reason)
			}
		}
		readers = append(readers, r)
	}

	var tl *analyze.Timeline
	if *timeline != "" {
		tf, err := os.Create(*timeline)
		if err != nil {
			fmt.Fprintf(stderr, "heisen analyze: %v\n", err)
			return exitUsage
		}
		defer tf.Close()
		tl = analyze.NewTimeline(tf)
		opts.OnWindow = func(w *analyze.Window) {
			if opts.KeepWindow(w) {
				tl.Window(w)
			}
		}
	}

	rep, err := analyze.Run(trail.Merge(readers...), opts)
	if err != nil {
		fmt.Fprintf(stderr, "heisen analyze: %v\n", err)
		return exitUsage
	}
	if shown > maxMalformedShown {
		fmt.Fprintf(stderr, "heisen analyze: %d more malformed lines not shown\n", shown-maxMalformedShown)
	}
	for _, r := range readers {
		if s := r.Stats(); s.Malformed > 0 && s.Events == 0 && s.LossRecords == 0 {
			fmt.Fprintf(stderr, "heisen analyze: %s: not a trail: all %d lines are malformed\n", r.Name(), s.Malformed)
			return exitUsage
		}
	}
	if tl != nil {
		for _, f := range rep.Findings {
			tl.Finding(f)
		}
		if err := tl.Close(); err != nil {
			fmt.Fprintf(stderr, "heisen analyze: write %s: %v\n", *timeline, err)
			return exitFail
		}
	}

	if *jsonOut {
		err = writeAnalyzeJSON(stdout, rep, len(readers))
	} else {
		err = writeAnalyzeText(stdout, rep, len(readers), colorful(stdout))
	}
	if err != nil {
		fmt.Fprintf(stderr, "heisen analyze: %v\n", err)
		return exitFail
	}
	if *failOn != "none" {
		for _, f := range rep.Findings {
			if f.Severity >= failAt {
				return exitFail
			}
		}
	}
	return exitOK
}

type analyzeJSONFinding struct {
	Kind     analyze.Kind `json:"kind"`
	Severity string       `json:"severity"`
	Path     string       `json:"path"`
	PIDs     []int        `json:"pids"`
	Hosts    []string     `json:"hosts,omitempty"`
	Start    string       `json:"start"` // RFC 3339 UTC, 9 fractional digits as in trails
	End      string       `json:"end"`
	Count    int          `json:"count"`
	Message  string       `json:"message"`
	Note     string       `json:"note,omitempty"`
	Evidence []string     `json:"evidence"`
	Omitted  int          `json:"evidence_omitted,omitempty"`
}

type analyzeJSONSummary struct {
	Trails      int            `json:"trails"`
	Events      int64          `json:"events"`
	Malformed   int64          `json:"malformed"`
	LossRecords int64          `json:"loss_records"`
	Lost        uint64         `json:"lost"`
	Findings    map[string]int `json:"findings"`
	Errors      int            `json:"errors"`
	Warnings    int            `json:"warnings"`
}

func analyzeSummary(rep *analyze.Report, trails int) analyzeJSONSummary {
	s := analyzeJSONSummary{Trails: trails, Events: rep.Stats.Events, Malformed: rep.Stats.Malformed,
		LossRecords: rep.Stats.LossRecords, Lost: rep.Stats.Lost, Findings: map[string]int{}}
	for _, f := range rep.Findings {
		s.Findings[string(f.Kind)]++
		if f.Severity == analyze.Error {
			s.Errors++
		} else {
			s.Warnings++
		}
	}
	return s
}

func writeAnalyzeJSON(w io.Writer, rep *analyze.Report, trails int) error {
	enc := json.NewEncoder(w)
	for _, f := range rep.Findings {
		ev := make([]string, len(f.Evidence))
		for i := range f.Evidence {
			ev[i] = f.Evidence[i].Pos.String()
		}
		if err := enc.Encode(analyzeJSONFinding{Kind: f.Kind, Severity: f.Severity.String(), Path: f.Path,
			PIDs: f.PIDs, Hosts: f.Hosts, Start: f.Start.UTC().Format(analyzeStamp), End: f.End.UTC().Format(analyzeStamp), Count: f.Count, Message: f.Message, Note: f.Note,
			Evidence: ev, Omitted: f.Omitted}); err != nil {
			return err
		}
	}
	return enc.Encode(map[string]any{"summary": analyzeSummary(rep, trails)})
}

const (
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiReset  = "\x1b[0m"
)

func writeAnalyzeText(w io.Writer, rep *analyze.Report, trails int, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	s := analyzeSummary(rep, trails)
	var b strings.Builder
	fmt.Fprintf(&b, "%d events in %d trail(s)", s.Events, s.Trails)
	if !rep.Start.IsZero() {
		fmt.Fprintf(&b, ", %s to %s", rep.Start.UTC().Format(analyzeStamp), rep.End.UTC().Format(analyzeStamp))
	}
	fmt.Fprintf(&b, "; %d malformed lines skipped", s.Malformed)
	if s.LossRecords > 0 {
		fmt.Fprintf(&b, "; %d events lost by the recorder (%d loss records): findings may be missing", s.Lost, s.LossRecords)
	}
	b.WriteString("\n")
	if len(rep.Findings) == 0 {
		b.WriteString("no findings\n")
	} else {
		fmt.Fprintf(&b, "%d findings: %d errors, %d warnings (", len(rep.Findings), s.Errors, s.Warnings)
		first := true
		for _, k := range analyze.Kinds {
			if n := s.Findings[string(k)]; n > 0 {
				if !first {
					b.WriteString(", ")
				}
				first = false
				fmt.Fprintf(&b, "%s %d", k, n)
			}
		}
		b.WriteString(")\n")
	}
	var last string
	for _, f := range rep.Findings {
		if f.Path != last {
			fmt.Fprintf(&b, "\n%s\n", paint(ansiBold, f.Path))
			last = f.Path
		}
		sev := paint(ansiYellow, "warning")
		if f.Severity == analyze.Error {
			sev = paint(ansiRed, "error")
		}
		fmt.Fprintf(&b, "  %s %s  %s .. %s  pids %s", sev, f.Kind, f.Start.Format("15:04:05.000000"),
			f.End.Format("15:04:05.000000"), analyzePIDs(f.PIDs))
		if len(f.Hosts) > 0 {
			fmt.Fprintf(&b, " on %s", strings.Join(f.Hosts, ", "))
		}
		if f.Count > 1 {
			fmt.Fprintf(&b, "  (%d times)", f.Count)
		}
		fmt.Fprintf(&b, "\n    %s\n", f.Message)
		if f.Note != "" {
			fmt.Fprintf(&b, "    note: %s\n", f.Note)
		}
		for i := range f.Evidence {
			e := &f.Evidence[i]
			fmt.Fprintf(&b, "    %s %s  %s\n", paint(ansiDim, e.Pos.String()), e.TS.Format("15:04:05.000000000"), analyze.Describe(e))
		}
		if f.Omitted > 0 {
			fmt.Fprintf(&b, "    … %d more evidence lines\n", f.Omitted)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
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
