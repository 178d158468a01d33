package crash

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Points chooses the crash points to check.
type Points struct {
	// Sync checks only around durability points: just before and just
	// after each fsync, fdatasync and sync, and at the end.
	Sync bool
	// Sample, when positive, checks this many points drawn at random
	// (with Seed) instead of all of them.
	Sample int
}

// ParsePoints parses --points: all, sync, or a number of sampled points.
func ParsePoints(s string) (Points, error) {
	switch s {
	case "all":
		return Points{}, nil
	case "sync":
		return Points{Sync: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return Points{}, fmt.Errorf("--points %q: want all, sync or a positive number", s)
	}
	return Points{Sample: n}, nil
}

// Options says which states to list.
type Options struct {
	Model  *Model
	Points Points
	// PerPoint is the most states listed at one crash point: when the
	// model allows more, the extremes, every one-choice deviation from
	// them and then random choices (with Seed) are listed.
	PerPoint int
	Seed     uint64
}

// A State is one file system state a crash may leave.
type State struct {
	Point int    // the crash came after this many of the workload's operations
	ID    string // names the state for Replay: the point and each choice
	Acked int    // stdout lines printed before the crash point
	Sum   Sum
	// Dup says a state with the same content and acknowledged lines was
	// listed at an earlier point: its check's outcome is that state's. A
	// duplicate cannot be materialized.
	Dup     bool
	plan    []int
	pending []bool
	tree    *tree
}

// Kept says how much of operation i the state kept: -1 whole, 0 none, more
// some of a write's 4 KiB pieces (Fate says which). Operations at or after
// the point are not kept.
func (s *State) Kept(i int) int {
	if i >= len(s.plan) {
		return 0
	}
	return s.plan[i]
}

// Pending says whether operation i was not yet durable at the crash point:
// whether the crash could lose it.
func (s *State) Pending(i int) bool { return i < len(s.plan) && s.pending[i] }

// Materialize creates the state's files under dir (an empty directory).
func (s *State) Materialize(dir string) error {
	if s.tree == nil {
		return fmt.Errorf("state %s: a duplicate has no files of its own; replay it", s.ID)
	}
	return s.tree.materialize(dir)
}

// AckedLines are the stdout lines printed before the state's crash point.
func (l *Log) AckedLines(point int) []string {
	var out []string
	for _, ln := range l.Lines {
		if ln.After <= point {
			out = append(out, ln.Text)
		}
	}
	return out
}

func (l *Log) acked(point int) int {
	n := 0
	for _, ln := range l.Lines {
		if ln.After <= point {
			n++
		}
	}
	return n
}

func (l *Log) initTree() *tree {
	t := newTree()
	for i := range l.Init {
		t.apply(&l.Init[i], true, -1)
	}
	return t
}

// PointList returns the crash points o chooses, in order.
func (l *Log) PointList(o Options) []int {
	n := len(l.Ops)
	var pts []int
	switch {
	case o.Points.Sync:
		seen := map[int]bool{}
		for i, op := range l.Ops {
			if classOf(op.Op) == classPoint {
				for _, p := range []int{i, i + 1} {
					if !seen[p] {
						seen[p] = true
						pts = append(pts, p)
					}
				}
			}
		}
		if !seen[n] {
			pts = append(pts, n)
		}
	case o.Points.Sample > 0 && o.Points.Sample <= n:
		r := rand.New(rand.NewPCG(o.Seed, 1))
		pts = append(pts, r.Perm(n + 1)[:o.Points.Sample]...)
		slices.Sort(pts)
	default:
		for p := 0; p <= n; p++ {
			pts = append(pts, p)
		}
	}
	return pts
}

// States calls fn for each distinct state at the points o chooses, in
// point order. A state with the same content and the same acknowledged
// lines as one listed at an earlier point is passed again with Dup set, so
// that the caller knows the points it occurs at without checking it twice.
// fn returning false stops the listing.
func (l *Log) States(o Options, fn func(*State) bool) {
	// The operations before a point's first choice are the same in every
	// state at that point (durable ones applied, changes to unreachable
	// nodes not), and that index does not move back as the point advances
	// (durability only grows, and an unreachable node stays so), so one
	// base tree follows it. A log where it does move back rebuilds it.
	base, baseEnd := l.initTree(), 0
	type key struct {
		sum   Sum
		acked int
	}
	seen := map[key]bool{}
	for _, point := range l.PointList(o) {
		sp := o.Model.space(l, point)
		if sp.first < baseEnd {
			base, baseEnd = l.initTree(), 0
		}
		for ; baseEnd < sp.first; baseEnd++ {
			if sp.durable[baseEnd] {
				base.apply(&l.Ops[baseEnd], true, -1)
			} else if classOf(l.Ops[baseEnd].Op) == classEntry {
				base.apply(&l.Ops[baseEnd], false, 0)
			}
		}
		acked := l.acked(point)
		for _, choice := range sp.choices(o.PerPoint, o.Seed^uint64(point)) {
			plan := sp.plan(choice)
			t := sp.build(base, baseEnd, plan)
			st := &State{Point: point, ID: encodeID(point, choice), Acked: acked, Sum: t.sum(), plan: plan, tree: t}
			k := key{st.Sum, acked}
			if seen[k] {
				if !fn(&State{Point: point, ID: st.ID, Acked: acked, Sum: st.Sum, Dup: true}) {
					return
				}
				continue
			}
			seen[k] = true
			st.pending = pendingOf(sp)
			if !fn(st) {
				return
			}
		}
	}
}

func pendingOf(sp *space) []bool {
	p := make([]bool, sp.point)
	for i, d := range sp.durable {
		p[i] = !d && classOf(sp.log.Ops[i].Op) != classPoint
	}
	return p
}

// Replay rebuilds the state named id under the model.
func (l *Log) Replay(m *Model, id string) (*State, error) {
	point, choice, err := decodeID(id)
	if err != nil {
		return nil, err
	}
	if point > len(l.Ops) {
		return nil, fmt.Errorf("state %s: point %d is past the log's %d operations", id, point, len(l.Ops))
	}
	sp := m.space(l, point)
	if len(choice) != len(sp.vars) {
		return nil, fmt.Errorf("state %s: %d choices, but the %s model has %d at point %d", id, len(choice), m, len(sp.vars), point)
	}
	for i, c := range choice {
		if c < 0 || c > sp.vars[i].max {
			return nil, fmt.Errorf("state %s: choice %d is %d, outside [0, %d]", id, i+1, c, sp.vars[i].max)
		}
	}
	plan := sp.plan(choice)
	t := sp.build(l.initTree(), 0, plan)
	return &State{Point: point, ID: id, Acked: l.acked(point), Sum: t.sum(), plan: plan, tree: t, pending: pendingOf(sp)}, nil
}

// choices lists at most limit value vectors for the space's variables:
// all of them when there are few; otherwise the two extremes, each
// one-variable deviation from them, then random vectors.
func (sp *space) choices(limit int, seed uint64) [][]int {
	total := 1
	for _, v := range sp.vars {
		total *= v.max + 1
		if total > limit {
			break
		}
	}
	if total <= limit {
		return sp.all()
	}
	var out [][]int
	seen := map[string]bool{}
	add := func(c []int) {
		k := fmt.Sprint(c)
		if !seen[k] && len(out) < limit {
			seen[k] = true
			out = append(out, c)
		}
	}
	hi, lo := make([]int, len(sp.vars)), make([]int, len(sp.vars))
	for i, v := range sp.vars {
		hi[i] = v.max
	}
	add(hi)
	add(lo)
	for i, v := range sp.vars {
		for _, val := range []int{0, v.max - 1, v.max / 2} {
			c := append([]int(nil), hi...)
			c[i] = val
			add(c)
		}
		c := append([]int(nil), lo...)
		c[i] = v.max
		add(c)
	}
	r := rand.New(rand.NewPCG(seed, 2))
	for try := 0; try < 4*limit && len(out) < limit; try++ {
		c := make([]int, len(sp.vars))
		for i, v := range sp.vars {
			c[i] = r.IntN(v.max + 1)
		}
		add(c)
	}
	return out
}

// all lists every value vector, the first variable changing slowest.
func (sp *space) all() [][]int {
	out := [][]int{make([]int, len(sp.vars))}
	for i := len(sp.vars) - 1; i >= 0; i-- {
		var next [][]int
		for _, c := range out {
			for v := 0; v <= sp.vars[i].max; v++ {
				d := append([]int(nil), c...)
				d[i] = v
				next = append(next, d)
			}
		}
		out = next
	}
	return out
}

// encodeID writes "POINT:" and the values, runs of one value as V*N.
func encodeID(point int, choice []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d:", point)
	for i := 0; i < len(choice); {
		j := i
		for j < len(choice) && choice[j] == choice[i] {
			j++
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(choice[i]))
		if j-i > 1 {
			fmt.Fprintf(&b, "*%d", j-i)
		}
		i = j
	}
	return b.String()
}

func decodeID(id string) (int, []int, error) {
	bad := fmt.Errorf("state %q: want POINT:CHOICES as the report prints it", id)
	ps, cs, ok := strings.Cut(id, ":")
	point, err := strconv.Atoi(ps)
	if !ok || err != nil || point < 0 {
		return 0, nil, bad
	}
	var choice []int
	if cs == "" {
		return point, choice, nil
	}
	for _, f := range strings.Split(cs, ".") {
		vs, ns, run := strings.Cut(f, "*")
		v, err := strconv.Atoi(vs)
		n := 1
		if run {
			n, err = strconv.Atoi(ns)
		}
		if err != nil || v < 0 || n < 1 || len(choice)+n > 1<<20 {
			return 0, nil, bad
		}
		for range n {
			choice = append(choice, v)
		}
	}
	return point, choice, nil
}

// Fate says what the state did with operation i, for a report: "durable",
// "kept", "lost", "in part (piece 1, 3 of 3)", "done" for a durability point,
// or "not reached" for an operation at or after the crash point.
func (s *State) Fate(l *Log, i int) string {
	switch {
	case i >= s.Point:
		return "not reached"
	case classOf(l.Ops[i].Op) == classPoint:
		return "done"
	case !s.pending[i]:
		return "durable"
	case s.plan[i] == planWhole:
		return "kept"
	case s.plan[i] == planDropped:
		return "lost"
	}
	op := &l.Ops[i]
	n := pieces(op.Off, len(op.Data))
	var kept []string
	for j := range n {
		if pieceKept(n, s.plan[i], j) {
			kept = append(kept, strconv.Itoa(j+1))
		}
	}
	if n > MaskPieces {
		return fmt.Sprintf("in part (the first %d of %d pieces)", s.plan[i], n)
	}
	return fmt.Sprintf("in part (piece %s of %d)", strings.Join(kept, ", "), n)
}
