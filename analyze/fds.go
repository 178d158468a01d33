package analyze

import (
	"cmp"
	"slices"

	"github.com/heisen-dev/heisen/trail"
)

// procKey names a process: pids of different hosts are different
// processes (paths are shared: merging hosts' trails is for shared file
// systems).
type procKey struct {
	host int // see hostID
	pid  int
}

// id packs k into one word, the key of Analyzer.procs (a map with word
// keys hashes faster): pids are 32-bit, as the trail format has them.
func (k procKey) id() uint64 { return uint64(k.host)<<32 | uint64(uint32(k.pid)) }

// A process is a process as the trail shows it: its descriptor table and,
// when the trail recorded its fork, its parent.
type process struct {
	key    procKey
	pid    int
	tab    *fdTable
	parent *process // nil when its fork is not in the trail
	depth  int      // ancestors known, capped at maxDepth
	exited bool     // its exit is in the trail
}

// maxDepth bounds the ancestry walked for one event.
const maxDepth = 32

// procOf returns the process of e, creating it on its first event.
func (a *Analyzer) procOf(host string, pid int) *process {
	k := procKey{a.hostID(host), pid}
	if a.lastProc != nil && a.lastProc.key == k {
		return a.lastProc
	}
	p := a.procs[k.id()]
	if p == nil {
		if len(a.procs) >= a.procCap {
			a.sweep()
		}
		p = &process{key: k, pid: pid, tab: newTable()}
		a.procs[k.id()] = p
	}
	a.lastProc = p
	return p
}

// window returns the window descriptor fd of host:pid refers to, or nil.
func (a *Analyzer) window(host string, pid, fd int) *window {
	if fd < 0 {
		return nil
	}
	k := procKey{a.hostID(host), pid}
	p := a.lastProc
	if p == nil || p.key != k {
		if p = a.procs[k.id()]; p == nil {
			return nil
		}
		a.lastProc = p // the event's process: procOf asks for it next
	}
	ent, _ := p.tab.get(fd)
	return ent.w
}

// setFD points fd of p at w, closing what fd held (dup2 closes the
// descriptor it replaces). e is the event that does it.
func (a *Analyzer) setFD(p *process, fd int, w *window, cloexec bool, e *trail.Event) {
	if old, ok := p.tab.get(fd); ok {
		a.dropFD(p, fd, old, e)
	}
	p.tab.set(fd, fdEntry{w: w, cloexec: cloexec})
	w.refs++
	a.nfds++
	if a.nfds > maxOpen {
		a.evict()
	}
}

// closeFD closes descriptor fd of p, if the trail knows it.
func (a *Analyzer) closeFD(p *process, fd int, e *trail.Event) {
	if ent, ok := p.tab.get(fd); ok {
		a.dropFD(p, fd, ent, e)
	}
}

// dropFD removes fd from p's table; the window ends with its last
// descriptor. A close releases the process's posix locks on the file.
func (a *Analyzer) dropFD(p *process, fd int, ent fdEntry, e *trail.Event) {
	p.tab.del(fd)
	a.nfds--
	if ent.w.refs--; ent.w.refs == 0 {
		a.endFD(ent.w, e)
	}
}

// sweep forgets processes that hold no descriptor, once there are many:
// in a trail without exit events nothing else would. A process swept is
// recreated on its next event; its children keep it as their parent.
func (a *Analyzer) sweep() {
	for _, p := range a.procs {
		if p.tab.n == 0 && p.tab.users == 1 {
			a.dropProc(p)
		}
	}
	a.procCap = max(minProcCap, 2*len(a.procs))
}

const minProcCap = 1024

func (a *Analyzer) dropProc(p *process) {
	if a.procs[p.key.id()] == p {
		delete(a.procs, p.key.id())
	}
	if a.lastProc == p {
		a.lastProc = nil
	}
}

// closeRange closes fd..max of p (close_range).
func (a *Analyzer) closeRange(p *process, fd, max int, e *trail.Event) {
	for _, n := range a.fdsOf(p, func(n int, _ fdEntry) bool { return n >= fd && n <= max }) {
		a.closeFD(p, n, e)
	}
}

// fdsOf returns p's descriptors that keep says to, in ascending order so
// that windows end in a stable order.
func (a *Analyzer) fdsOf(p *process, keep func(int, fdEntry) bool) []int {
	var out []int
	for n, ent := range p.tab.all() {
		if keep(n, ent) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func (a *Analyzer) dup(e *trail.Event) {
	p := a.procOf(e.Host, e.PID)
	ent, ok := p.tab.get(e.OldFD)
	if !ok {
		// A descriptor the trail never opened (inherited from outside
		// it): fd now refers to that unknown file too.
		a.closeFD(p, e.FD, e)
		return
	}
	if e.FD == e.OldFD {
		return
	}
	a.setFD(p, e.FD, ent.w, e.CloExec, e)
}

func (a *Analyzer) setCloExec(e *trail.Event) {
	p := a.procOf(e.Host, e.PID)
	last := max(e.FD, e.MaxFD)
	for _, n := range a.fdsOf(p, func(n int, _ fdEntry) bool { return n >= e.FD && n <= last }) {
		ent, _ := p.tab.get(n)
		ent.cloexec = e.CloExec
		p.tab.set(n, ent)
	}
}

func (a *Analyzer) closeEvent(e *trail.Event) {
	if e.FD < 0 {
		return
	}
	p := a.procOf(e.Host, e.PID)
	if e.MaxFD > e.FD {
		a.closeRange(p, e.FD, e.MaxFD, e)
		return
	}
	a.closeFD(p, e.FD, e)
}

// fork starts e.Child with a copy of its parent's descriptors, or with
// the parent's table itself when they share it (CLONE_FILES). A child
// whose events came before the fork keeps the descriptors it has.
func (a *Analyzer) fork(e *trail.Event) {
	parent := a.procOf(e.Host, e.PID)
	k := procKey{a.hostID(e.Host), e.Child}
	child := a.procs[k.id()]
	if child == nil {
		child = &process{key: k, pid: e.Child}
		a.procs[k.id()] = child
		if e.Mode == "shared" {
			child.tab = parent.tab
			parent.tab.users++
		} else {
			child.tab = newTable()
		}
	}
	if parent != child {
		child.parent, child.depth = parent, min(parent.depth+1, maxDepth)
	}
	if child.tab == parent.tab {
		return
	}
	for _, n := range a.fdsOf(parent, func(n int, _ fdEntry) bool { _, has := child.tab.get(n); return !has }) {
		ent, _ := parent.tab.get(n)
		a.setFD(child, n, ent.w, ent.cloexec, e)
	}
}

// exec closes the process's close-on-exec descriptors; a table shared
// with another process is copied first, as the kernel does.
func (a *Analyzer) exec(e *trail.Event) {
	p := a.procOf(e.Host, e.PID)
	if p.tab.users > 1 {
		old := p.tab
		old.users--
		p.tab = newTable()
		for n, ent := range old.all() {
			p.tab.set(n, ent)
			ent.w.refs++
			a.nfds++
		}
	}
	for _, n := range a.fdsOf(p, func(_ int, ent fdEntry) bool { return ent.cloexec }) {
		a.closeFD(p, n, e)
	}
}

// exit closes every descriptor of the process (unless another process
// shares its table) and forgets it.
func (a *Analyzer) exit(e *trail.Event) {
	p := a.procOf(e.Host, e.PID)
	p.exited = true
	if p.tab.users--; p.tab.users == 0 {
		for _, n := range a.fdsOf(p, func(int, fdEntry) bool { return true }) {
			a.closeFD(p, n, e)
		}
	}
	a.dropProc(p)
}

// lock marks the window a granted lock was taken through as coordinated:
// its writes are serialized with the other lockers of the file.
func (a *Analyzer) lock(e *trail.Event) {
	if w := a.window(e.Host, e.PID, e.FD); w != nil && e.Op == trail.OpLock {
		w.locked = true
		if w.node != nil {
			w.node.locked = true
		}
	}
}

// maxOpen bounds the descriptor table. Processes that exit without
// close(2) in trails that do not record exits leave windows the trail
// never closes; a long recording of many short processes would otherwise
// grow the table without end.
var maxOpen = 1 << 16

// evict ends the least recently active half of the open windows, as if
// their processes had exited right after their last activity, which is
// what until assumes of them already.
func (a *Analyzer) evict() {
	type ref struct {
		p  *process
		fd int
		w  *window
	}
	var refs []ref
	for _, p := range a.procs {
		for n, ent := range p.tab.all() {
			refs = append(refs, ref{p, n, ent.w})
		}
	}
	slices.SortFunc(refs, func(x, y ref) int {
		return cmp.Or(cmp.Compare(x.w.last, y.w.last), cmp.Compare(x.w.id, y.w.id), cmp.Compare(x.p.pid, y.p.pid), cmp.Compare(x.fd, y.fd))
	})
	for _, r := range refs[:len(refs)/2] {
		a.closeFD(r.p, r.fd, nil)
	}
}

// allWindows returns every window a descriptor still refers to.
func (a *Analyzer) allWindows() []*window {
	seen := map[*window]bool{}
	var ws []*window
	for _, p := range a.procs {
		for _, ent := range p.tab.all() {
			if !seen[ent.w] {
				seen[ent.w] = true
				ws = append(ws, ent.w)
			}
		}
	}
	return ws
}

func (a *Analyzer) descriptors(e *trail.Event) {
	switch e.Op {
	case trail.OpDup:
		a.dup(e)
	case trail.OpSetFD:
		a.setCloExec(e)
	case trail.OpFork:
		a.fork(e)
	case trail.OpExec:
		a.exec(e)
	case trail.OpExit:
		a.exit(e)
	}
}
