package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/heisen-dev/heisen/crash"
	"github.com/heisen-dev/heisen/crash/check"
)

// crashReport is heisen crash's report; its JSON is the --json output.
type crashReport struct {
	Model    string        `json:"model"`
	Log      string        `json:"log,omitempty"` // kept when states fail or --log was given
	Workload crashWorkload `json:"workload"`
	Points   int           `json:"points"`
	Checked  int           `json:"checked"`
	Failed   int           `json:"failed"`
	// RunSeconds is the time WORKLOAD took with the mount around it;
	// CheckSeconds the time listing, materializing and checking states took.
	RunSeconds   float64 `json:"run_seconds"`
	CheckSeconds float64 `json:"check_seconds"`
	Interrupted  bool    `json:"interrupted,omitempty"`
	// FailingPoints answers "is it safe to crash here?" for each point:
	// the crash points with at least one failing state, in order.
	FailingPoints []int        `json:"failing_points"`
	Groups        []crashGroup `json:"groups"`
}

type crashWorkload struct {
	Command     []string `json:"command"`
	Status      int      `json:"status"`
	Interrupted bool     `json:"interrupted,omitempty"`
	Operations  int      `json:"operations"`
	Lines       int      `json:"lines"`
	// Complete is false when the log stops short: the states checked are
	// those up to where it stops.
	Complete bool   `json:"complete"`
	Error    string `json:"error,omitempty"`
}

type crashGroup struct {
	Cause   string       `json:"cause"`
	Facts   []string     `json:"facts"`
	States  int          `json:"states"`
	Example crashExample `json:"example"`
}

type crashExample struct {
	State      string    `json:"state"`
	Point      int       `json:"point"`
	Acked      []string  `json:"acked"`
	Status     int       `json:"status"`
	Message    string    `json:"message"`
	Operations []crashOp `json:"operations"`
	Replay     string    `json:"replay"`
}

type crashOp struct {
	Index int    `json:"index"` // 1-based position in the log
	Op    string `json:"op"`
	Fate  string `json:"fate"`
}

func workloadOf(l *crash.Log) crashWorkload {
	w := crashWorkload{Command: l.Header.Command, Operations: len(l.Ops), Lines: len(l.Lines), Complete: l.End != nil, Status: -1}
	if l.End != nil {
		w.Status, w.Interrupted, w.Error = l.End.Status, l.End.Interrupted, l.End.Error
		w.Complete = !l.End.Interrupted
	}
	return w
}

func (r *crashReport) add(l *crash.Log, m *crash.Model, res *check.Report) {
	r.Points, r.Checked, r.Failed = res.Points, res.Checked, len(res.Failing)
	r.Groups, r.FailingPoints = []crashGroup{}, res.FailingPoints
	for _, g := range check.Groups(l, res.Failing) {
		ex := g.States[0]
		msg := ex.Message
		if ex.Err != nil {
			msg = strings.TrimSpace(ex.Err.Error() + "\n" + msg)
		}
		replay := fmt.Sprintf("heisen crash --replay %s --state %s --into DIR", r.Log, ex.State.ID)
		if m != crash.Posix {
			replay = fmt.Sprintf("heisen crash --replay %s --model %s --state %s --into DIR", r.Log, m, ex.State.ID)
		}
		r.Groups = append(r.Groups, crashGroup{
			Cause: g.Cause(), Facts: nonNil(g.Facts), States: len(g.States),
			Example: crashExample{State: ex.State.ID, Point: ex.State.Point, Acked: nonNil(l.AckedLines(ex.State.Point)),
				Status: ex.Status, Message: msg, Operations: around(l, ex.State), Replay: replay},
		})
	}
}

// around lists the operations a reader needs to see what happened at the
// crash: every one the crash could lose (the last 12), the last 3 before
// the crash point, and the one the crash came before.
func around(l *crash.Log, s *crash.State) []crashOp {
	var idx []int
	for i := s.Point - 1; i >= 0 && len(idx) < 12; i-- {
		if s.Pending(i) || i >= s.Point-3 {
			idx = append(idx, i)
		}
	}
	slices.Reverse(idx)
	if s.Point < len(l.Ops) {
		idx = append(idx, s.Point)
	}
	out := []crashOp{}
	for _, i := range idx {
		out = append(out, crashOp{Index: i + 1, Op: l.Ops[i].String(), Fate: s.Fate(l, i)})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (r *crashReport) print(w io.Writer, logKept bool) {
	wl := r.Workload
	cmd, ops, lines := strings.Join(wl.Command, " "), plural(wl.Operations, "operation"), plural(wl.Lines, "line")
	switch {
	case !wl.Complete && !wl.Interrupted:
		fmt.Fprintf(w, "workload: %s: the log stops short, after %s and %s on stdout (its states are checked up to there)", cmd, ops, lines)
	case wl.Interrupted:
		fmt.Fprintf(w, "workload: %s exited %d after %s, %s on stdout (interrupted)", cmd, wl.Status, ops, lines)
	default:
		fmt.Fprintf(w, "workload: %s exited %d after %s, %s on stdout", cmd, wl.Status, ops, lines)
	}
	fmt.Fprintln(w)
	if wl.Error != "" {
		fmt.Fprintf(w, "workload: %s\n", wl.Error)
	}
	fmt.Fprintf(w, "checked %s at %s (model %s): %d fail", plural(r.Checked, "state"), plural(r.Points, "crash point"), r.Model, r.Failed)
	if r.Interrupted {
		fmt.Fprint(w, " so far (interrupted)")
	}
	fmt.Fprintln(w)
	if len(r.FailingPoints) > 0 {
		fmt.Fprintf(w, "crash points with a failing state: %s (of %d)\n", ranges(r.FailingPoints), r.Points)
	}
	for i, g := range r.Groups {
		ex := g.Example
		fmt.Fprintf(w, "\ncause %d (%s): %s\n", i+1, plural(g.States, "state"), g.Cause)
		fmt.Fprintf(w, "  example: state %s, crash after operation %d, %s acknowledged", ex.State, ex.Point, plural(len(ex.Acked), "line"))
		if n := len(ex.Acked); n > 0 {
			fmt.Fprintf(w, " (last: %q)", ex.Acked[n-1])
		}
		fmt.Fprintln(w)
		for _, op := range ex.Operations {
			if op.Index == ex.Point+1 {
				fmt.Fprintln(w, "    -- crash --")
			}
			fmt.Fprintf(w, "    %5d  %-12s %s\n", op.Index, op.Fate, op.Op)
		}
		if ex.Message != "" {
			fmt.Fprintf(w, "  check said (exit %d): %s\n", ex.Status, indent(ex.Message))
		} else {
			fmt.Fprintf(w, "  check exited %d\n", ex.Status)
		}
		if logKept {
			fmt.Fprintf(w, "  inspect: %s\n", ex.Replay)
		}
	}
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// ranges writes sorted numbers with runs as a-b: "3-4, 6, 9-12".
func ranges(v []int) string {
	var parts []string
	for i := 0; i < len(v); {
		j := i
		for j+1 < len(v) && v[j+1] == v[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", v[i], v[j]))
		} else {
			parts = append(parts, fmt.Sprint(v[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
