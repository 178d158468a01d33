// Package htmlreport renders the findings of heisen analyze as one
// self-contained HTML file: inline CSS, a few lines of inline script and
// inline SVG timelines, with no reference to anything on a network, so it
// opens on the machine where the trail lives and prints.
//
// Each of a group's examples (up to analyze.MaxExamples; radio buttons
// and CSS show one at a time on screen, and print shows all) has a
// timeline drawn from its evidence: one lane per process, each open→close
// window a bar labelled with its file name, writes as ticks, renames as
// arrows to the target's name, and the time where windows of different
// processes on one name overlap (the race) highlighted. Every mark links
// to its evidence line and back.
package htmlreport

import (
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/trail"
)

// Options describe the run the report is about.
type Options struct {
	Trails []string // the trail files read, named in the header
}

// Write renders rep as HTML to w.
func Write(w io.Writer, rep *analyze.Report, opts Options) error {
	v := view{Trails: opts.Trails, Start: stamp(rep.Start), End: stamp(rep.End), Events: rep.Stats.Events}
	for i, g := range rep.Groups {
		gv := groupView{ID: fmt.Sprintf("g%d", i+1), Name: g.ID(), Kind: string(g.Kind), Severity: g.Severity.String(),
			Findings: g.Findings, Count: g.Count, PIDs: g.PIDs}
		for j, f := range g.Examples {
			id := gv.ID
			if j > 0 {
				id = fmt.Sprintf("%s-x%d", gv.ID, j+1)
			}
			gv.Examples = append(gv.Examples, exampleView{N: j + 1, ID: id, Message: f.Message, Note: f.Note,
				Timeline: timeline(id, f.Evidence)})
		}
		v.Groups = append(v.Groups, gv)
		v.countKind(g)
	}
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000000")
}

type view struct {
	Trails     []string
	Start, End string
	Events     int64
	Kinds      []kindCount
	Groups     []groupView
}

type kindCount struct {
	Kind, Severity string
	Groups, Count  int
}

func (v *view) countKind(g *analyze.Group) {
	i := slices.IndexFunc(v.Kinds, func(k kindCount) bool { return k.Kind == string(g.Kind) })
	if i < 0 {
		v.Kinds = append(v.Kinds, kindCount{Kind: string(g.Kind), Severity: g.Severity.String()})
		i = len(v.Kinds) - 1
	}
	v.Kinds[i].Groups++
	v.Kinds[i].Count += g.Count
}

type groupView struct {
	ID, Name, Kind, Severity string
	Findings, Count          int
	PIDs                     []int
	Examples                 []exampleView // up to analyze.MaxExamples, each with its timeline
}

// An exampleView is one of a group's example findings. The first one's
// marks keep the group's id as their prefix (g1-m0), the others add the
// example's number (g1-x2-m0).
type exampleView struct {
	N             int
	ID            string
	Message, Note string
	Timeline      *timelineView
}

// The timeline's geometry, in SVG user units. The SVG spans the page's
// width, about 1200 pixels at 1280×800, so a unit is about a pixel.
const (
	width    = 1000.0
	laneX    = 120.0 // where time starts, right of the lane labels
	laneH    = 52.0
	barH     = 20.0
	topPad   = 6.0
	axisH    = 22.0  // the time axis under the lanes
	axisPadR = 110.0 // room on the right for rename arrows' labels
)

type timelineView struct {
	GID           string // the example's id, prefixing the SVG's own ids
	Width, Height float64
	Lanes         []laneView
	Bars          []barView
	Overlaps      []rectView
	Marks         []markView
	Evidence      []evidenceView
	Ticks         []tickView
	AxisY         float64
	Span          string
}

type laneView struct {
	Label, Comm string
	Y           float64
}

// A tickView is a time on the axis, relative to the first event.
type tickView struct {
	X, Y, Y2 float64
	Label    string
}

type barView struct {
	X, Y, W, H float64
	TailW      float64 // an open-ended bar's faded part, from the last event that shows it open to the evidence's end
	Label      string
	Open       bool // no close in the evidence: drawn to the end
	Mark       string
}

type rectView struct{ X, Y, W, H float64 }

type markView struct {
	ID, Ref, Kind, Title string
	X, Y, X2, Y2         float64
	Label                string
}

type evidenceView struct {
	ID, Ref, Pos, Text string
}

// timeline lays out the evidence events of one finding.
func timeline(gid string, evs []trail.Event) *timelineView {
	if len(evs) == 0 {
		return nil
	}
	t0, t1 := evs[0].TS, evs[0].TS
	var pids []int
	for _, e := range evs {
		t0, t1 = minTime(t0, e.TS), maxTime(t1, e.TS)
		if !slices.Contains(pids, e.PID) {
			pids = append(pids, e.PID)
		}
	}
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Microsecond
	}
	x := func(t time.Time) float64 {
		return laneX + (width-laneX-axisPadR)*float64(t.Sub(t0))/float64(span)
	}
	laneY := func(pid int) float64 { return topPad + laneH*float64(slices.Index(pids, pid)) }
	axisY := topPad + laneH*float64(len(pids))
	tv := &timelineView{GID: gid, Width: width, Height: axisY + axisH, AxisY: axisY, Span: span.String()}
	for _, pid := range pids {
		tv.Lanes = append(tv.Lanes, laneView{Label: fmt.Sprintf("pid %d", pid), Comm: comm(evs, pid), Y: laneY(pid)})
	}
	unit := time.Duration(1) // the largest power of ten at most a thousandth of the span
	for unit*1000 <= span {
		unit *= 10
	}
	for i := range 5 {
		d := span * time.Duration(i) / 4
		tv.Ticks = append(tv.Ticks, tickView{X: x(t0.Add(d)), Y: axisY, Y2: axisY + 4, Label: "+" + d.Round(unit).String()})
	}
	for j, e := range evs {
		id, ref := fmt.Sprintf("%s-m%d", gid, j), fmt.Sprintf("%s-e%d", gid, j)
		tv.Evidence = append(tv.Evidence, evidenceView{ID: ref, Ref: id, Pos: e.Pos.String(), Text: analyze.Describe(&evs[j])})
		y := laneY(e.PID)
		switch e.Op {
		case trail.OpOpen:
			end, closed := windowEnd(evs, j)
			bar := barView{X: x(e.TS), Y: y + (laneH-barH)/2, W: max(x(end)-x(e.TS), 2), H: barH,
				Label: filepath.Base(e.Path), Open: !closed, Mark: id}
			if !closed {
				bar.TailW = x(t1) - (bar.X + bar.W)
			}
			tv.Bars = append(tv.Bars, bar)
			tv.Marks = append(tv.Marks, markView{ID: id, Ref: ref, Kind: "open", Title: analyze.Describe(&evs[j]), X: x(e.TS), Y: y + 6, Y2: y + laneH - 6})
		case trail.OpRename, trail.OpLink:
			tv.Marks = append(tv.Marks, markView{ID: id, Ref: ref, Kind: "rename", Title: analyze.Describe(&evs[j]),
				X: x(e.TS), Y: y + laneH/2, X2: x(e.TS) + 40, Y2: y + 8, Label: "→ " + filepath.Base(e.To)})
		default:
			tv.Marks = append(tv.Marks, markView{ID: id, Ref: ref, Kind: e.Op.String(), Title: analyze.Describe(&evs[j]), X: x(e.TS), Y: y + 10, Y2: y + laneH - 10})
		}
	}
	tv.Overlaps = overlaps(tv.Bars, evs, x)
	return tv
}

// comm is the program name of pid in the evidence, if the trail has it.
func comm(evs []trail.Event, pid int) string {
	for _, e := range evs {
		if e.PID == pid && e.Comm != "" {
			return e.Comm
		}
	}
	return ""
}

// windowEnd finds where the window opened by evs[i] ends in the evidence,
// following the descriptors that hold the file in the process: a dup of
// one adds its target, a dup onto one or a close removes it, and a later
// event on the file through another descriptor (the evidence need not
// cite the dup that put it there: bash's > opens on fd 3 and moves it to
// fd 1) adds that one. The window ends when none is left, or at a rename
// or unlink of its name by the process, or (at the last event that showed
// it open) where an open reuses one of its descriptors. If it does not
// end, the result is the time of the last event that shows it open, and
// false.
func windowEnd(evs []trail.Event, i int) (time.Time, bool) {
	o := evs[i]
	fds, last := []int{o.FD}, o.TS
	for _, e := range evs[i+1:] {
		if e.PID != o.PID {
			continue
		}
		held := slices.Contains(fds, e.FD)
		switch {
		case (e.Op == trail.OpRename || e.Op == trail.OpUnlink) && e.Path == o.Path:
			return e.TS, true
		case e.Op == trail.OpOpen:
			if held { // the descriptor was closed before it was reused
				return last, true
			}
			continue
		case e.Op == trail.OpDup && slices.Contains(fds, e.OldFD):
			if !held {
				fds = append(fds, e.FD)
			}
		case (e.Op == trail.OpDup || e.Op == trail.OpClose) && held:
			fds = slices.DeleteFunc(fds, func(fd int) bool { return fd == e.FD })
			if len(fds) == 0 {
				return e.TS, true
			}
		case e.Path == o.Path && e.FD >= 0 && !held:
			fds = append(fds, e.FD)
		default:
			if !held {
				continue
			}
		}
		last = e.TS
	}
	return last, false
}

// overlaps are the spans where bars of different processes on one file
// name are open at once, each drawn across both lanes. A descriptor stays
// open until the evidence shows it closed, so an open-ended bar's faded
// tail counts.
func overlaps(bars []barView, _ []trail.Event, _ func(time.Time) float64) []rectView {
	var out []rectView
	for i, a := range bars {
		for _, b := range bars[i+1:] {
			if a.Label != b.Label || a.Y == b.Y {
				continue
			}
			x0, x1 := max(a.X, b.X), min(a.X+a.W+a.TailW, b.X+b.W+b.TailW)
			if x1 <= x0 {
				continue
			}
			y0, y1 := min(a.Y, b.Y), max(a.Y+a.H, b.Y+b.H)
			out = append(out, rectView{X: x0, Y: y0 - 4, W: x1 - x0, H: y1 - y0 + 8})
		}
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"f":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"add": func(a, b float64) float64 { return a + b },
}).Parse(pageHTML))
