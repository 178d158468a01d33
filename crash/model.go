package crash

import (
	"fmt"
	"slices"
)

// A Model says which operations a crash may lose: for a crash point, which
// operations are durable and which choices the rest allow.
type Model struct {
	name string
	// journal: metadata operations persist as one global prefix (a
	// journal's order), and any fsync commits all metadata before it.
	journal bool
}

// The crash models; docs/crash.md gives their rules and sources.
var (
	Posix       = &Model{name: "posix"}
	Ext4Ordered = &Model{name: "ext4-ordered", journal: true}
)

// Models lists the models by name, the default first.
var Models = []*Model{Posix, Ext4Ordered}

func (m *Model) String() string { return m.name }

// ModelByName returns the model called name.
func ModelByName(name string) (*Model, error) {
	for _, m := range Models {
		if m.name == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("unknown crash model %q (want posix or ext4-ordered)", name)
}

// class sorts operations by what they change.
type class byte

const (
	classData  class = iota + 1 // a file's bytes or size
	classAttr                   // a file's mode or owner
	classEntry                  // a directory's names
	classPoint                  // a durability point
)

func classOf(k Kind) class {
	switch k {
	case Write, Truncate, Fallocate:
		return classData
	case Chmod, Chown:
		return classAttr
	case Fsync, Fdatasync, Sync:
		return classPoint
	}
	return classEntry
}

// dirsOf is the directories an entry operation changes.
func dirsOf(op *Op) []NodeID {
	if op.Op == Rename && op.Dir2 != op.Dir {
		return []NodeID{op.Dir, op.Dir2}
	}
	return []NodeID{op.Dir}
}

// A choiceVar is one independent choice a crash state makes. A prefix
// variable keeps the first v of its ops (a directory's pending entry
// operations, a file's pending attribute changes, or in a journal model all
// pending metadata). A piece variable chooses the 4 KiB pieces of one
// write that survive (see pieceKept; v = max keeps it whole, 0 drops it).
type choiceVar struct {
	ops    []int // indices into Log.Ops, in log order
	max    int
	prefix bool
}

// space is what the model allows at one crash point.
type space struct {
	log     *Log
	model   *Model
	point   int
	durable []bool // durable[i] for i < point
	// first is the first operation that is neither durable nor a change to
	// a node no state can reach (point if none): every operation before it
	// is applied whole in every state, or in none.
	first int
	vars  []choiceVar
}

// barriers are the last durability point before a crash point that covers
// each kind of change of each node: operations before the index are durable.
type barriers struct {
	data, attr, dir map[NodeID]int
	sync            int // sync(2) or syncfs(2): everything
	commit          int // journal model: any fsync commits all metadata
}

func (m *Model) barriers(ops []Op) barriers {
	b := barriers{data: map[NodeID]int{}, attr: map[NodeID]int{}, dir: map[NodeID]int{}}
	for i := range ops {
		op := &ops[i]
		switch op.Op {
		case Sync:
			b.sync = i
		case Fsync:
			b.data[op.Node], b.attr[op.Node], b.dir[op.Node], b.commit = i, i, i, i
		case Fdatasync:
			b.data[op.Node] = i
		}
	}
	return b
}

// class is what an operation changes under this model: the journal model
// journals a truncate with the inode's metadata.
func (m *Model) class(op *Op) class {
	if m.journal && op.Op == Truncate {
		return classAttr
	}
	return classOf(op.Op)
}

// durable says whether operation i is durable under barriers b.
func (m *Model) durable(b *barriers, op *Op, i int) bool {
	c := m.class(op)
	switch {
	case c == classPoint:
		return true
	case c == classData:
		return i < max(b.data[op.Node], b.sync)
	case m.journal:
		return i < max(b.commit, b.sync)
	case c == classAttr:
		return i < max(b.attr[op.Node], b.sync)
	}
	for _, d := range dirsOf(op) {
		if i < b.dir[d] {
			return true // a rename is durable once either directory is synced
		}
	}
	return i < b.sync
}

// space computes what the model allows after the first point operations.
func (m *Model) space(l *Log, point int) *space {
	ops := l.Ops[:point]
	b := m.barriers(ops)
	s := &space{log: l, model: m, point: point, durable: make([]bool, point), first: point}
	var meta, data []int          // pending metadata (journal model), pending data
	perDir := map[NodeID][]int{}  // posix: pending entry operations by directory
	perAttr := map[NodeID][]int{} // posix: pending attribute changes by node
	for i := range ops {
		op := &ops[i]
		if s.durable[i] = m.durable(&b, op, i); s.durable[i] {
			continue
		}
		switch c := m.class(op); {
		case c == classData:
			data = append(data, i)
		case m.journal:
			meta = append(meta, i)
		case c == classAttr:
			perAttr[op.Node] = append(perAttr[op.Node], i)
		default:
			for _, d := range dirsOf(op) {
				perDir[d] = append(perDir[d], i)
			}
		}
	}
	s.addVars(meta, perDir, data, perAttr)
	return s
}

// addVars makes the space's choices: the journal prefix, each directory's
// prefix, each write of a node some state can reach, and each node's
// attribute prefix.
func (s *space) addVars(meta []int, perDir map[NodeID][]int, data []int, perAttr map[NodeID][]int) {
	live := s.liveNodes()
	if len(meta) > 0 {
		s.vars = append(s.vars, choiceVar{ops: meta, max: len(meta), prefix: true})
		s.first = min(s.first, meta[0])
	}
	for _, d := range sortedKeys(perDir) {
		s.vars = append(s.vars, choiceVar{ops: perDir[d], max: len(perDir[d]), prefix: true})
		s.first = min(s.first, perDir[d][0])
	}
	for _, i := range data {
		op := &s.log.Ops[i]
		if !live[op.Node] {
			continue
		}
		s.first = min(s.first, i)
		n := 1
		if op.Op == Write {
			n = pieceMax(pieces(op.Off, len(op.Data)))
		}
		s.vars = append(s.vars, choiceVar{ops: []int{i}, max: n})
	}
	for _, n := range sortedKeys(perAttr) {
		if live[n] {
			s.vars = append(s.vars, choiceVar{ops: perAttr[n], max: len(perAttr[n]), prefix: true})
			s.first = min(s.first, perAttr[n][0])
		}
	}
}

// liveNodes are the nodes some state at this point can reach: those with a
// name once every operation so far is applied, and those a pending entry
// operation names. Choices about the data of other nodes cannot change
// what a checker sees, so they are not choices.
func (s *space) liveNodes() map[NodeID]bool {
	t := newTree()
	live := map[NodeID]bool{}
	for _, op := range s.log.Init {
		t.apply(&op, true, -1)
	}
	for i := range s.log.Ops[:s.point] {
		op := &s.log.Ops[i]
		if classOf(op.Op) == classEntry {
			t.apply(op, true, -1)
			if !s.durable[i] {
				live[op.Node], live[op.Node2] = true, true
			}
		}
	}
	for _, d := range t.nodes {
		for _, id := range d.entries {
			live[id] = true
		}
	}
	return live
}

// Plan values: how much of an operation a state keeps.
const (
	planWhole   = -1 // applied whole
	planDropped = 0  // lost (its node is still created)
)

// plan turns one value per variable into how much of each operation the
// state keeps; it applies the model's constraints, so two choices may give
// the same plan.
func (s *space) plan(choice []int) []int {
	p := make([]int, s.point)
	for i, d := range s.durable {
		if d {
			p[i] = planWhole
		}
	}
	veto := make([]bool, s.point) // beyond the prefix of one of its directories
	for vi, v := range s.vars {
		switch {
		case v.prefix:
			for j, i := range v.ops {
				if j < choice[vi] {
					p[i] = planWhole
				} else {
					veto[i] = true
				}
			}
		case choice[vi] >= v.max:
			p[v.ops[0]] = planWhole
		default:
			p[v.ops[0]] = choice[vi]
		}
	}
	for i, v := range veto {
		if v {
			p[i] = planDropped
		}
	}
	if !s.model.journal {
		s.atomicRenames(p)
	} else {
		s.autoDaAlloc(p)
	}
	return p
}

// atomicRenames keeps a rename between two directories in both or in
// neither: a directory that lost it also loses its later entry operations.
// Every Linux file system journals a rename as one change.
func (s *space) atomicRenames(p []int) {
	for changed := true; changed; {
		changed = false
		for _, v := range s.vars {
			if !v.prefix {
				continue
			}
			cut := false
			for _, i := range v.ops {
				op := &s.log.Ops[i]
				if cut && p[i] != planDropped && !s.durable[i] {
					p[i], changed = planDropped, true
				}
				if classOf(op.Op) == classEntry && p[i] == planDropped {
					cut = true
				}
			}
		}
	}
}

// autoDaAlloc is ext4's auto_da_alloc: a rename over an existing file
// writes the renamed file's data before the rename commits.
func (s *space) autoDaAlloc(p []int) {
	for i := range p {
		op := &s.log.Ops[i]
		if op.Op != Rename || op.Node2 == 0 || op.Flags&RenameExchange != 0 || p[i] != planWhole {
			continue
		}
		for j := range i {
			if o := &s.log.Ops[j]; o.Node == op.Node && classOf(o.Op) == classData {
				p[j] = planWhole
			}
		}
	}
}

// build applies the log from operation from on to a copy of base, as plan
// says; base holds the operations before from, every one durable.
func (s *space) build(base *tree, from int, plan []int) *tree {
	t := base.clone()
	for i := from; i < len(plan); i++ {
		op := &s.log.Ops[i]
		switch {
		case plan[i] == planWhole:
			t.apply(op, true, -1)
		case op.Op == Write && plan[i] > 0:
			t.apply(op, true, plan[i])
		case classOf(op.Op) == classEntry:
			t.apply(op, false, 0) // nodes are born even when their name is lost
		}
	}
	return t
}

func sortedKeys[V any](m map[NodeID]V) []NodeID {
	keys := make([]NodeID, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
