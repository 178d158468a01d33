package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/heisen-dev/heisen/crash"
)

// A Group is failing states with one cause.
type Group struct {
	Facts  []string  // what these states lost or kept that the workload relied on
	States []*Result // in point order; States[0] is the example
}

// Cause is the group's cause in one line: its first facts.
func (g *Group) Cause() string {
	if len(g.Facts) == 0 {
		return "nothing lost: the state holds every operation before the crash point (the check fails on what the workload had done by then)"
	}
	if len(g.Facts) > maxCauseFacts {
		return fmt.Sprintf("%s; and %d more", strings.Join(g.Facts[:maxCauseFacts], "; "), len(g.Facts)-maxCauseFacts)
	}
	return strings.Join(g.Facts, "; ")
}

// maxCauseFacts is how many facts Cause names; Facts has them all.
const maxCauseFacts = 4

// Groups groups failing states by cause, with paths whose parts contain
// digits written as "*", so that the same mistake in each round of a loop
// is one group. Groups are in the order of their first state.
func Groups(l *crash.Log, failing []*Result) []*Group {
	var out []*Group
	byKey := map[string]*Group{}
	for _, r := range failing {
		facts := Facts(l, r.State)
		key := strings.Join(facts, "\x00")
		g := byKey[key]
		if g == nil {
			g = &Group{Facts: facts}
			byKey[key] = g
			out = append(out, g)
		}
		g.States = append(g.States, r)
	}
	return out
}

// Facts explains a failing state by what it did with the operations a
// crash could lose, the most telling kind of fact only, in this order:
//  1. a rename or link kept while data written to its file before it was
//     lost or torn (a name that survived pointing at missing data);
//  2. a rename or link lost though the workload had printed a line after it
//     (it reported something saved that was not);
//  3. a write, truncate or fallocate lost or torn though acknowledged;
//  4. any other operation lost though acknowledged;
//  5. otherwise, every operation lost, torn or kept.
func Facts(l *crash.Log, s *crash.State) []string {
	acked := 0 // operations before the last acknowledged line
	for _, ln := range l.Lines {
		if ln.After <= s.Point {
			acked = ln.After
		}
	}
	var rank [5][]string
	for i := 0; i < s.Point; i++ {
		if !s.Pending(i) {
			continue
		}
		op := &l.Ops[i]
		k := s.Kept(i)
		names := op.Op == crash.Rename || op.Op == crash.Link
		switch {
		case k < 0 && names && dataLost(l, s, op.Node, i):
			rank[0] = append(rank[0], fmt.Sprintf("kept %s but lost data written to it before", describe(op)))
		case k >= 0 && i < acked && names:
			rank[1] = append(rank[1], lostOp(op, k)+" though acknowledged")
		case k >= 0 && i < acked && isData(op.Op):
			rank[2] = append(rank[2], lostOp(op, k)+" though acknowledged")
		case k >= 0 && i < acked:
			rank[3] = append(rank[3], lostOp(op, k)+" though acknowledged")
		case k >= 0:
			rank[4] = append(rank[4], lostOp(op, k))
		case isEntry(op.Op):
			rank[4] = append(rank[4], "kept "+describe(op))
		}
	}
	for _, facts := range rank {
		if len(facts) > 0 {
			return uniq(facts)
		}
	}
	return nil
}

func isData(k crash.Kind) bool {
	return k == crash.Write || k == crash.Truncate || k == crash.Fallocate
}

// dataLost says whether the state lost or tore a write to node made
// before operation before.
func dataLost(l *crash.Log, s *crash.State, node crash.NodeID, before int) bool {
	for i := range before {
		op := &l.Ops[i]
		if op.Node == node && s.Pending(i) && s.Kept(i) >= 0 && isData(op.Op) {
			return true
		}
	}
	return false
}

func lostOp(op *crash.Op, kept int) string {
	if kept > 0 {
		return "tore " + describe(op)
	}
	return "lost " + describe(op)
}

func isEntry(k crash.Kind) bool {
	switch k {
	case crash.Create, crash.Mkdir, crash.Mkfifo, crash.Symlink, crash.Link, crash.Unlink, crash.Rmdir, crash.Rename:
		return true
	}
	return false
}

// describe names an operation by kind and normalized paths, not by sizes
// or offsets, so that rounds of a loop compare equal.
func describe(op *crash.Op) string {
	p := normalize(op.Path)
	switch op.Op {
	case crash.Write, crash.Truncate, crash.Fallocate:
		return fmt.Sprintf("%s to %s", op.Op, p)
	case crash.Rename:
		return fmt.Sprintf("rename %s to %s", p, normalize(op.Path2))
	case crash.Link:
		return fmt.Sprintf("link %s as %s", normalize(op.Path2), p)
	}
	return fmt.Sprintf("%s %s", op.Op, p)
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
