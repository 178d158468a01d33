package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// Lost updates from ordinary code. An update reads a file, then replaces
// it (a rename over it) or rewrites it (an O_TRUNC open); if another
// process replaced or wrote the file between that read and that replace,
// the update was computed from a version that no longer existed, and the
// other's change is lost. Programs split an update across processes: the
// shell's v=$(cat counter) reads in a child, the shell writes the new
// value and mv renames it. So an update belongs to a process tree: the
// replace is matched with the latest read by the process that wrote the
// new content or by its descendants (whose output reaches it, as $(cat)
// reaches the shell), or failing that by an ancestor itself (which hands
// what it read to its children), nearest first; and only a change by a
// process outside that tree is another's. A read by an ancestor's other
// child is not matched: nothing in the trail shows its data reaching the
// writer, and two git commits of one shell loop are two updates (the
// first reads COMMIT_EDITMSG, the next rewrites it without reading it).
// A read and a replace carrying the same call id (one replace of
// atomicfile's tracer) are one update of that call.
//
// Sequential read-modify-writes, updates serialized by a lock held across
// read and replace, and readers that never replace give no finding: no
// other change falls between a read and its replace.

// rmwState follows the reads and changes of one target path.
type rmwState struct {
	reads   map[actor]*rmwRead // latest read by an actor or its descendants
	changes []rmwChange        // the latest changes, a ring: oldest at head once full
	head    int
	last    time.Time
}

// An actor is a process, or one call (replace) of a process.
type actor struct {
	proc procKey
	call string
}

type rmwRead struct {
	ev   trail.Event
	used bool // a replace of its tree was matched with it
}

// A change is a replace or a rewrite of the target, or the first write of
// a window to it.
type rmwChange struct {
	ev     trail.Event
	by     *process // the process that wrote the new content
	call   string
	actors []procKey // by and its ancestors
	read   *rmwRead  // the read it completes an update of, if any
	tree   actor     // the tree of that update
}

// Bounds on the state kept per target and on the targets followed.
const (
	maxReads   = 1024
	maxChanges = 32
	minRMWCap  = 4096
)

// rmwTracked reports whether reads of a file can start an update worth
// following: it has been a rename target or was written in the trail, or
// any file with Options.Concurrent (one copy's first update of a file is
// what its other copies would lose).
func (a *Analyzer) rmwTracked(path string, n *node) bool {
	return a.targets[path] || (n != nil && n.wrote) || a.opts.Concurrent
}

// rmwRead records a read of path by e's process and call.
func (a *Analyzer) rmwRead(e *trail.Event) {
	st := a.rmw[e.Path]
	if st == nil {
		if len(a.rmw) >= a.rmwCap {
			a.sweepRMW()
		}
		st = &rmwState{reads: map[actor]*rmwRead{}}
		a.rmw[e.Path] = st
	}
	st.last = e.TS
	if len(st.reads) >= maxReads {
		for k := range st.reads { // forget an arbitrary reader that never replaced
			delete(st.reads, k)
			break
		}
	}
	p := a.procOf(e.Host, e.PID)
	if r := st.reads[actor{p.key, ""}]; r != nil && r.ev.PID == e.PID && r.ev.Host == e.Host && e.Call == "" {
		// The process's own last read: every key naming it names this
		// newer one too.
		*r = rmwRead{ev: *e}
		return
	}
	r := &rmwRead{ev: *e}
	if e.Call != "" {
		st.reads[actor{p.key, e.Call}] = r
	}
	for depth := 0; p != nil && depth < maxDepth; p, depth = p.parent, depth+1 {
		st.reads[actor{p.key, ""}] = r
	}
}

// sweepRMW forgets the targets least recently read or changed, half of
// them: an update's read and replace are close in time.
func (a *Analyzer) sweepRMW() {
	type entry struct {
		path string
		last time.Time
	}
	es := make([]entry, 0, len(a.rmw))
	for p, st := range a.rmw {
		es = append(es, entry{p, st.last})
	}
	slices.SortFunc(es, func(x, y entry) int {
		if c := x.last.Compare(y.last); c != 0 {
			return c
		}
		return cmp.Compare(x.path, y.path)
	})
	for _, e := range es[:len(es)/2] {
		delete(a.rmw, e.path)
	}
	a.rmwCap = max(minRMWCap, 2*len(a.rmw))
}

// rmwChange records a change of target: a replace or rewrite (update
// true: it may complete an update) or another write. writer is the
// process that wrote the new content (nil: e's process).
func (a *Analyzer) rmwChange(target string, e *trail.Event, writer *process, evidence *trail.Event, update bool) {
	st := a.rmw[target]
	if st == nil {
		return // nobody read it lately
	}
	st.last = e.TS
	if writer == nil {
		writer = a.procOf(e.Host, e.PID)
	}
	ch := rmwChange{ev: *e, by: writer, call: e.Call}
	for p, depth := writer, 0; p != nil && depth < maxDepth; p, depth = p.parent, depth+1 {
		ch.actors = append(ch.actors, p.key)
	}
	if update {
		a.rmwMatch(st, target, &ch, evidence)
		a.predictUpdate(target, &ch)
	}
	if len(st.changes) < maxChanges {
		st.changes = append(st.changes, ch)
		return
	}
	st.changes[st.head] = ch
	st.head = (st.head + 1) % maxChanges
}

// rmwMatch finds the read the update ch completes and reports the first
// change by another process tree between that read and ch.
func (a *Analyzer) rmwMatch(st *rmwState, target string, ch *rmwChange, evidence *trail.Event) {
	var r *rmwRead
	var tree actor
	if ch.call != "" {
		tree = actor{ch.by.key, ch.call}
		r = st.reads[tree]
	}
	for i := 0; r == nil && i < len(ch.actors); i++ {
		tree = actor{ch.actors[i], ""}
		r = st.reads[tree]
		if r != nil && i > 0 && (procKey{a.hostID(r.ev.Host), r.ev.PID}) != tree.proc {
			r = nil // a read by another branch of an ancestor's tree
		}
	}
	if r == nil || r.used {
		return // a blind replace, or its read was used already
	}
	r.used = true
	if evidence != nil && evidence.TS.Before(r.ev.TS) {
		// The new content was written before the read (move-if-change in
		// build scripts: write a temp, compare it with the target, rename
		// it): a blind replace, not an update built on that read.
		return
	}
	ch.read, ch.tree = r, tree
	for i := range st.changes {
		// The other's change falls between the read and ch in time, not
		// only in line order: a trail whose times run backwards is read in
		// line order, and evidence is shown in time order.
		x := &st.changes[(st.head+i)%len(st.changes)]
		if !x.ev.TS.After(r.ev.TS) || x.ev.TS.After(ch.ev.TS) || inTree(x, tree) {
			continue
		}
		f := a.newFinding(LostUpdate, target)
		f.expect(4)
		f.add(&r.ev)
		f.add(&x.ev)
		f.add(evidence)
		f.add(&ch.ev)
		by := ""
		if ch.by.pid != ch.ev.PID {
			by = " (written by pid " + strconv.Itoa(ch.by.pid) + ")"
		}
		replaced := "replaced it"
		if exchange(&ch.ev) {
			replaced = "swapped " + ch.ev.Path + " in"
		}
		f.Message = fmt.Sprintf("pid %d read %s, pid %d then %s it, and pid %d %s%s without reading it again: an update built on that read overwrites pid %d's",
			r.ev.PID, target, x.ev.PID, changeVerb(&x.ev), ch.ev.PID, replaced, by, x.ev.PID)
		f.Program = ch.ev.Comm // the program whose update overwrote: its writer's, when known
		if evidence != nil && evidence.Comm != "" {
			f.Program = evidence.Comm
		}
		a.emit(f)
		return
	}
}

// inTree reports whether change x was made inside the update's tree.
func inTree(x *rmwChange, tree actor) bool {
	if tree.call != "" {
		return x.by.key == tree.proc && x.call == tree.call
	}
	return slices.Contains(x.actors, tree.proc)
}

func changeVerb(e *trail.Event) string {
	switch e.Op {
	case trail.OpRename:
		if exchange(e) {
			return "swapped"
		}
		return "replaced"
	case trail.OpOpen:
		return "truncated"
	}
	return "wrote"
}
