package analyze

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

type devIno struct{ dev, ino uint64 }

// A window is one open file description. The fields a write reads come
// first, on the first cache lines: a trail of many open files touches a
// window per write. It fits in 512 bytes, the largest allocation Go
// makes without a header: a trail with a collision every few events
// allocates two per collision.
type window struct {
	node        *node    // nil for directories and reads of unknown files
	writingIdx  int32    // its index in node.writing, once it wrote
	refs        int32    // descriptors referring to it, in all processes
	nodeIdx     int32    // its index in node.windows
	nameIdx     int32    // its index in names[path].active
	gen         int      // node.renames when opened
	last        int64    // its last open, write or truncate, in unixNano nanoseconds
	pendingTorn *Finding // a torn rename its next write would prove (trails without exits)
	path        string   // the name it was opened under; "" for O_TMPFILE
	fd          int
	wrote       bool // it wrote
	ended       bool // closed, or its close inferred
	locked      bool // a lock was taken through it: its writes are coordinated
	held        bool // the trail follows descriptors: it lasts until its last one closes
	paired      bool // in a name-level overlap pair
	named       bool // still in names[path].active
	dir         bool // a directory handle, for fsync
	inPlace     bool // O_TRUNC of a final path: an in-place rewrite unless renamed away
	renamedAwy  bool // its name was renamed or unlinked while it was open
	firstWrite  mark // zero until it writes

	id        uint64
	open      mark       // its flags, process and call id are the window's
	nameEnd   *fullMark  // the close, rename or unlink that ended its name, kept for collisions only
	episodes  []*episode // collision episodes waiting for it to end
	endTS     time.Time  // when it ended
	nameEndTS time.Time  // when its name was taken away or it closed
}

func (w *window) writer() bool { return w.open.flags.Writes() }

// until is when w was last known to hold its file, as of now. A closed
// window ended at its close. A window without a descriptor could not be
// closed in the trail: it lasts until now. So does a window of a trail
// that records exits, dups and forks (held). A window still open with a
// descriptor in a trail without them lasts until its last activity: a
// process that exits without close(2) (the kernel closes its files) would
// otherwise hold its files for the rest of the trail and collide with
// every later writer.
func (w *window) until(now time.Time) time.Time {
	end := now
	switch {
	case w.ended:
		end = w.endTS
	case w.fd >= 0 && !w.held:
		end = time.Unix(0, w.last)
	}
	if !w.named && !w.nameEndTS.IsZero() && w.nameEndTS.Before(end) {
		end = w.nameEndTS // its name was renamed or unlinked away
	}
	return end
}

// overlap reports whether two windows held their file at the same time.
func overlap(x, y *window, now time.Time) bool {
	return !x.open.ts.After(y.until(now)) && !y.open.ts.After(x.until(now))
}

// appender reports whether w writes only at the end (O_APPEND): appends of
// several processes interleave but never overwrite one another, so a log
// shared by appenders is no collision.
func (w *window) appender() bool { return w.open.flags&trail.O_APPEND != 0 }

// sameWriter reports whether two windows belong to one writer: one
// process, and one replace when both carry call ids.
func sameWriter(a, b *window) bool {
	return a.open.pid == b.open.pid && a.open.host == b.open.host && (a.open.call == b.open.call || a.open.call == "" || b.open.call == "")
}

// A node is one file (inode), followed through renames and links. The
// fields a write reads come first.
type node struct {
	key       devIno    // zero when unknown
	writing   []*window // open windows that wrote
	wrote     bool      // a write event was seen
	synced    bool      // fsync or fdatasync since the last write
	locked    bool      // a lock was taken on it: its writers coordinate
	renames   int
	path      string   // current name, "" once unlinked or replaced
	writer    *process // of the last write
	war       *Finding // the open write-after-rename finding
	shared    *Finding // the open shared-inode-write finding
	wrtBuf    [1]*window
	inoTaken  bool // a newer file took its inode number in byIno
	inIno     bool // byIno[key] is this node: forgetting it needs no lookup
	lastWrite mark

	windows      []*window
	writers      []*window     // writer windows since creation or the last rename, capped
	last         time.Time     // its last open or rename
	made         *window       // the open that created it by name, for predictions
	madeBy       *process      // the process of that open
	renameEv     *fullMark     // the last rename, kept while windows opened before it are open
	inPlace      []trail.Event // O_TRUNC opens of this name, final unless it is renamed away
	inPlaceCount int

	recent []*window // writer windows closed lately, which a dup2 may continue

	// Most files have one or two windows: keep them inline (wrtBuf, above,
	// for writing).
	winBuf [2]*window
	wrBuf  [2]*window
}

// A mark is an open or write event kept for evidence, with the fields
// evidence shows, in 168 bytes where an Event takes 416: two are kept per
// window and one per file, so they are most of the analyzer's
// allocation.
type mark struct {
	ts       time.Time
	pos      trail.Pos
	host     string
	pid      int
	tid, fd  int32 // 32 bits, as the trail format has them
	flags    trail.OpenFlags
	op       trail.Op
	path     string
	off, len int64
	call     string
	comm     string
	sys      string
}

func markOf(e *trail.Event) mark {
	return mark{ts: e.TS, pos: e.Pos, host: e.Host, pid: e.PID, tid: int32(e.TID), fd: int32(e.FD), op: e.Op, flags: e.Flags,
		path: e.Path, off: e.Off, len: e.Len, call: e.Call, comm: e.Comm, sys: e.Sys}
}

// event returns the event m was made from (the fields evidence shows), or
// nil for no mark.
func (m *mark) event() *trail.Event {
	if m.ts.IsZero() {
		return nil
	}
	e := m.value()
	return &e
}

// value returns the event m was made from.
func (m *mark) value() trail.Event {
	return trail.Event{TS: m.ts, Pos: m.pos, Host: m.host, PID: m.pid, TID: int(m.tid), Op: m.op, FD: int(m.fd),
		Flags: m.flags, Path: m.path, Off: m.off, Len: m.len, Call: m.call, Comm: m.comm, Sys: m.sys}
}

// A fullMark is an event kept for evidence: a mark with the other fields
// evidence shows of a rename, a dup, a fork or a lock, in 232 bytes where
// a copy of the event takes 416. Findings cite their evidence as
// fullMarks; a window keeps the event that ended its name as one, and a
// file its last rename.
type fullMark struct {
	mark
	to           string
	oldFD, child int
	lock, mode   string
}

func fullMarkOf(e *trail.Event) fullMark {
	return fullMark{mark: markOf(e), to: e.To, oldFD: e.OldFD, child: e.Child, lock: e.Lock, mode: e.Mode}
}

// keepEvent returns e, the event being added, as a fullMark. A rename ends the
// names of the windows open on its source and is its file's last rename:
// they share one.
func (a *Analyzer) keepEvent(e *trail.Event) *fullMark {
	if a.kept.m == nil || a.kept.event != a.added || a.kept.m.pos != e.Pos {
		m := fullMarkOf(e)
		a.kept = keptMark{a.added, &m}
	}
	return a.kept.m
}

// A keptMark is an event kept as a fullMark: the number of the event (as
// Analyzer.added counts them) and the mark.
type keptMark struct {
	event uint64
	m     *fullMark
}

// value returns the event m was made from (the fields evidence shows).
func (m *fullMark) value() trail.Event {
	e := m.mark.value()
	e.To, e.OldFD, e.Child, e.Lock, e.Mode = m.to, m.oldFD, m.child, m.lock, m.mode
	return e
}

const (
	maxWriters = 16
	maxRecent  = 4
)

// addWindow and removeWindow keep n.windows in O(1) per window, whatever
// the number of windows open on one file at once.
func (n *node) addWindow(w *window) {
	w.nodeIdx = int32(len(n.windows))
	n.windows = append(n.windows, w)
}

func (n *node) removeWindow(w *window) {
	i := w.nodeIdx
	if int(i) >= len(n.windows) || n.windows[i] != w {
		return
	}
	last := len(n.windows) - 1
	n.windows[i] = n.windows[last]
	n.windows[i].nodeIdx = i
	n.windows[last] = nil
	n.windows = n.windows[:last]
}

func (n *node) addWriting(w *window) {
	w.writingIdx = int32(len(n.writing))
	n.writing = append(n.writing, w)
}

func (n *node) removeWriting(w *window) {
	i := w.writingIdx
	if !w.wrote || int(i) >= len(n.writing) || n.writing[i] != w {
		return
	}
	last := len(n.writing) - 1
	n.writing[i] = n.writing[last]
	n.writing[i].writingIdx = i
	n.writing[last] = nil
	n.writing = n.writing[:last]
}

func (n *node) addWriter(w *window) {
	if len(n.writers) < maxWriters {
		n.writers = append(n.writers, w)
	}
}

// nameState is a path open for writing: the windows open on it now and
// the overlapping pairs seen since it was last free.
type nameState struct {
	active    []*window
	appenders int // of active
	pairs     [][2]*window
	buf       [2]*window // inline room for active
}

const maxPairs = 64

func (a *Analyzer) open(e *trail.Event) {
	fd := e.FD
	if fd < 0 && e.Ret > 0 {
		fd = int(e.Ret)
	}
	p := a.procOf(e.Host, e.PID)
	if fd >= 0 {
		a.closeFD(p, fd, e) // its close was not recorded
	}
	a.nextID++
	w := &window{id: a.nextID, fd: fd, open: markOf(e), last: unixNano(e.TS),
		held: a.lifecycle}
	switch {
	case e.Flags&trail.O_TMPFILE == trail.O_TMPFILE:
		w.node = &node{}
		w.node.addWindow(w)
		w.node.addWriter(w)
	case e.Flags&(trail.O_DIRECTORY|trail.O_PATH) != 0:
		w.path, w.dir = e.Path, true
	default:
		w.path = e.Path
		a.openNamed(w, e)
	}
	if fd >= 0 {
		a.setFD(p, fd, w, e.Flags&trail.O_CLOEXEC != 0, e)
	}
}

func (a *Analyzer) openNamed(w *window, e *trail.Event) {
	n := a.lookup(e.Path, devIno{e.Dev, e.Ino})
	if !w.writer() {
		if n != nil {
			w.node, w.gen, n.last = n, n.renames, e.TS
			n.addWindow(w)
		}
		if a.rmwTracked(e.Path, n) {
			a.rmwRead(e)
		}
		return
	}
	// An eBPF recorder resolves the path when the call returns, so an open
	// racing with the rename of its file into place carries the rename's
	// destination: when the path is a rename target naming another file
	// and the inode is one the trail knows under another name, the inode
	// is the truth. Any other disagreement (a hard link, or an inode number
	// reused in a trail whose writers log after the call) keeps the path.
	if n != nil && e.Ino != 0 && n.key.ino == e.Ino && n.path != "" && n.path != e.Path && a.byPath[e.Path] != n {
		switch other := a.byPath[e.Path]; {
		case a.targets[e.Path] && other != nil:
			w.path = n.path
		case len(n.windows) == 0:
			// No link gave the inode this name and nobody has it open: the
			// number was freed and reused, and the trail logged the free
			// (a rename over the old file) after this open, as writers that
			// stamp events after the call returns do. A new file.
			n = nil
		}
	}
	if n != nil && e.Ino != 0 && n.path == "" && n.key.ino == e.Ino {
		// The inode has no name left (unlinked, or replaced by a rename),
		// yet an open found it by name: its number was freed and reused.
		n = nil
	}
	// A node named by the path means the file exists: an earlier open made
	// it, and a rename or unlink since would have taken the name away.
	existed := n != nil && n.path == w.path
	if n == nil {
		n = a.newNode(e.Path, devIno{e.Dev, e.Ino})
		n.made, n.madeBy = w, a.procOf(e.Host, e.PID)
	}
	w.node, w.gen, n.last = n, n.renames, e.TS
	n.addWindow(w)
	if e.Flags&trail.O_TRUNC != 0 {
		// Truncation discards what closed writers wrote; writers still open
		// keep writing at their offsets.
		n.writers = slices.DeleteFunc(n.writers, func(o *window) bool { return o.ended })
		switch {
		case a.targets[w.path]:
			w.inPlace = true // a final path for sure: it was renamed onto
			a.rmwChange(e.Path, e, nil, nil, true)
		case existed && n.wrote:
			a.rmwChange(e.Path, e, nil, nil, true)
			// A final path unless it is renamed away later (then it was a
			// temp name reused); Finish decides. A file never written in
			// the trail (a lock file) may have held nothing to lose.
			if len(n.inPlace) < maxEvidence {
				n.inPlace = append(n.inPlace, *e)
			}
			n.inPlaceCount++
		case a.opts.Concurrent:
			a.rmwChange(e.Path, e, nil, nil, true) // an update when it was read: a copy's rewrite can fall between
		}
	}
	n.addWriter(w)
	a.joinName(w, e)
}

// joinName puts writer w on its name, pairing it with every other writer
// that has the name open now.
func (a *Analyzer) joinName(w *window, e *trail.Event) {
	ns := a.names[w.path]
	if ns == nil {
		ns, a.spareName = a.spareName, nil
		if ns == nil {
			ns = &nameState{}
		}
		ns.active = ns.buf[:0]
		a.names[w.path] = ns
	}
	// Pairs are capped and appenders never pair with each other: a name
	// held by many appenders (a log) or many colliders costs no pass
	// over all of them.
	pair := len(ns.pairs) < maxPairs && !(w.appender() && ns.appenders == len(ns.active))
	for _, o := range ns.active {
		if !pair {
			break
		}
		if o.open.pid == w.open.pid && o.open.host == w.open.host && o.fd < 0 && w.fd < 0 {
			continue // without descriptors a process's reopen is sequential
		}
		seen := slices.ContainsFunc(ns.pairs, func(p [2]*window) bool { return p[0] == o && p[1] == w })
		if !seen && !(o.appender() && w.appender()) && !(o.open.pid == w.open.pid && o.open.host == w.open.host && o.open.call != "" && o.open.call == w.open.call) && len(ns.pairs) < maxPairs {
			ns.pairs = append(ns.pairs, [2]*window{o, w})
			o.paired, w.paired = true, true
		}
	}
	if w.fd < 0 {
		// Without a descriptor the process's earlier window on this name
		// ends here: nothing else would end it.
		for _, o := range slices.Clone(ns.active) {
			if o.open.pid == w.open.pid && o.open.host == w.open.host && o.fd < 0 {
				a.endName(o, e)
				a.endFD(o, e)
			}
		}
	}
	w.nameIdx = int32(len(ns.active))
	ns.active = append(ns.active, w)
	if w.appender() {
		ns.appenders++
	}
	w.named = true
}

// lookup finds the file a path or inode names now.
func (a *Analyzer) lookup(path string, key devIno) *node {
	if key.ino != 0 {
		if n := a.byIno[key]; n != nil {
			return n
		}
	}
	n := a.byPath[path]
	if n == nil {
		return nil
	}
	if key.ino != 0 {
		if n.key.ino != 0 && n.key != key {
			// The name was replaced behind the trail's back.
			a.detach(n, path)
			return nil
		}
		n.key = key
		a.byIno[key], n.inIno = n, true
	}
	return n
}

func (a *Analyzer) newNode(path string, key devIno) *node {
	if len(a.byPath) >= a.nodeCap {
		a.sweepNodes()
	}
	n := &node{path: path, key: key}
	n.windows, n.writers, n.writing = n.winBuf[:0], n.wrBuf[:0], n.wrtBuf[:0]
	if path != "" {
		if old := a.byPath[path]; old != nil {
			a.detach(old, path)
		}
		a.byPath[path] = n
	}
	if key.ino != 0 {
		if old := a.byIno[key]; old != nil {
			old.inoTaken, old.inIno = true, false // see otherFile
		}
		a.byIno[key], n.inIno = n, true
	}
	return n
}

// minNodeCap is the number of files the analyzer keeps known before it
// forgets the least recently used idle ones.
const minNodeCap = 1 << 13

// sweepNodes forgets the older three quarters of the files nobody has open (and
// that hold no pending in-place rewrite): a trail naming millions of files
// is analysed in the memory of the most recent ones. A file forgotten is
// new to the analysis if it is opened again: an O_TRUNC of it is then no
// in-place rewrite, a lapse of a long trail's oldest files only.
func (a *Analyzer) sweepNodes() {
	ids := a.nodeSweep.idle[:0]
	for p, n := range a.byPath {
		if len(n.windows) == 0 && n.inPlaceCount == 0 && n.war == nil && n.shared == nil {
			ids = append(ids, idleNode{unixNano(maxTime(n.last, n.lastWrite.ts)), p, n})
		}
	}
	// Forget the oldest, the oldest first by path when they tie. The time
	// at the cut is found by selection, not by sorting them all; only the
	// files at the cut itself need their paths compared.
	if forget := len(ids) * 3 / 4; forget > 0 {
		times := a.nodeSweep.times[:0]
		for i := range ids {
			times = append(times, ids[i].at)
		}
		cut, older := nthSmallest(times, forget-1), 0
		ties := a.nodeSweep.ties[:0]
		for _, id := range ids {
			switch {
			case id.at < cut:
				a.forgetNode(id.path, id.n)
				older++
			case id.at == cut:
				ties = append(ties, id)
			}
		}
		slices.SortFunc(ties, func(x, y idleNode) int { return strings.Compare(x.path, y.path) })
		for _, id := range ties[:forget-older] {
			a.forgetNode(id.path, id.n)
		}
		a.nodeSweep.times, a.nodeSweep.ties = times, ties[:0]
		clear(ties)
	}
	clear(ids) // the scratch must not keep forgotten files alive
	a.nodeSweep.idle = ids[:0]
	a.nodeCap = max(minNodeCap, 2*len(a.byPath))
}

// sweepScratch is what sweepNodes reuses from one sweep to the next.
type sweepScratch struct {
	idle, ties []idleNode
	times      []int64
}

// An idleNode is a file sweepNodes may forget.
type idleNode struct {
	at   int64 // its last use, as unixNano says
	path string
	n    *node
}

// nthSmallest returns the value s[k] would hold were s sorted, reordering
// s. It is a quickselect with three-way partitions (many files share a
// time), linear on average; when its partitions keep coming out lopsided
// it sorts the part left instead.
func nthSmallest(s []int64, k int) int64 {
	lo, hi := 0, len(s) // s[k] lies within s[lo:hi] once sorted
	for budget := 2 * bits.Len(uint(len(s))); hi-lo > 16 && budget > 0; budget-- {
		pivot := median3(s[lo], s[lo+(hi-lo)/2], s[hi-1])
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch {
			case s[i] < pivot:
				s[lt], s[i] = s[i], s[lt]
				lt, i = lt+1, i+1
			case s[i] > pivot:
				gt--
				s[i], s[gt] = s[gt], s[i]
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt
		case k >= gt:
			lo = gt
		default:
			return pivot
		}
	}
	slices.Sort(s[lo:hi])
	return s[k]
}

func median3(a, b, c int64) int64 {
	if a > b {
		a, b = b, a
	}
	return max(a, min(b, c))
}

// forgetNode forgets the file n under path (sweepNodes).
func (a *Analyzer) forgetNode(path string, n *node) {
	delete(a.byPath, path)
	delete(a.targets, path)
	if n.inIno {
		delete(a.byIno, n.key)
		n.inIno = false
	}
	n.path, n.recent = "", nil
}

// unixNano is t in nanoseconds since 1970, clamped to the years 1678 to
// 2262 that int64 holds (a trail's times lie well within).
func unixNano(t time.Time) int64 {
	const limit = math.MaxInt64 / int64(time.Second)
	switch sec := t.Unix(); {
	case sec >= limit:
		return math.MaxInt64
	case sec <= -limit:
		return math.MinInt64
	}
	return t.UnixNano()
}

func maxTime(x, y time.Time) time.Time {
	if x.After(y) {
		return x
	}
	return y
}

// detach removes name from n and forgets n once nothing refers to it.
func (a *Analyzer) detach(n *node, name string) {
	if a.byPath[name] == n {
		delete(a.byPath, name)
	}
	if n.path == name {
		n.path = ""
	}
	a.forget(n)
}

func (a *Analyzer) forget(n *node) {
	if n.path == "" && len(n.windows) == 0 && n.inIno {
		delete(a.byIno, n.key)
		n.inIno = false
	}
}

// revive handles a write through a descriptor the trail never opened, to a
// file the same process opened and closed: the shell's "> file" opens the
// file, dup2s it onto stdout, closes the original and execs the command
// (same pid), so the window really continues on the new descriptor. In a
// trail without dup events the command's writes would otherwise belong to
// no window; a trail with them never needs the guess. Writes through descriptors inherited from another process
// stay unattributed: a shared log would otherwise look like a collision.
func (a *Analyzer) revive(n *node, e *trail.Event) *window {
	i := slices.IndexFunc(n.recent, func(o *window) bool { return o.open.pid == e.PID && o.open.host == e.Host })
	if i < 0 {
		return nil
	}
	w := n.recent[i]
	n.recent = slices.Delete(n.recent, i, i+1)
	w.fd, w.inPlace, w.ended, w.last = e.FD, false, false, unixNano(e.TS) // the in-place rewrite, if any, was counted
	a.setFD(a.procOf(w.open.host, w.open.pid), w.fd, w, false, e)
	n.addWindow(w)
	if w.wrote {
		n.addWriting(w)
	}
	if w.path != "" && n.path == w.path && !w.renamedAwy {
		a.joinName(w, e)
	}
	return w
}

func (a *Analyzer) link(e *trail.Event) {
	fd := e.FD
	if fd < 0 {
		fd = procFD(e.Path, e.PID)
	}
	var n *node
	if w := a.window(e.Host, e.PID, fd); w != nil {
		n = w.node
	} else {
		n = a.byPath[e.Path]
	}
	if n == nil {
		return
	}
	if old := a.byPath[e.To]; old != nil && old != n {
		a.detach(old, e.To)
	}
	a.byPath[e.To] = n
	n.path = e.To
}

// procFD returns N for "/proc/self/fd/N" or "/proc/<pid>/fd/N", the path
// through which linkat gives an O_TMPFILE its name without
// CAP_DAC_READ_SEARCH, and -1 for any other path.
func procFD(path string, pid int) int {
	rest, ok := strings.CutPrefix(path, "/proc/")
	if !ok {
		return -1
	}
	who, num, ok := strings.Cut(rest, "/fd/")
	if !ok || (who != "self" && who != strconv.Itoa(pid)) {
		return -1
	}
	fd, err := strconv.Atoi(num)
	if err != nil || fd < 0 {
		return -1
	}
	return fd
}

func (a *Analyzer) unlink(e *trail.Event) {
	a.endNames(e.Path, e, true)
	if n := a.byPath[e.Path]; n != nil {
		n.inPlace, n.inPlaceCount = nil, 0
		a.detach(n, e.Path)
	}
}

// endName takes w off its name; when the name is free again, an episode
// of overlapping writers becomes one temp-collision finding.
func (a *Analyzer) endName(w *window, e *trail.Event) {
	if !w.named {
		return
	}
	w.named = false
	w.nameEndTS = a.last
	if e != nil {
		w.nameEndTS = e.TS
	}
	if e != nil && w.paired {
		w.nameEnd = a.keepEvent(e)
	}
	ns := a.names[w.path]
	if w.appender() {
		ns.appenders--
	}
	last := len(ns.active) - 1
	ns.active[w.nameIdx] = ns.active[last]
	ns.active[w.nameIdx].nameIdx = w.nameIdx
	ns.active[last] = nil
	ns.active = ns.active[:last]
	if len(ns.active) > 0 {
		return
	}
	delete(a.names, w.path)
	pairs := ns.pairs
	*ns = nameState{}
	a.spareName = ns
	if len(pairs) == 0 {
		return
	}
	// Judge the episode once its windows have ended: a window's later
	// writes (through the descriptor, after the name moved on) show it
	// was still active when the other opened.
	ep := &episode{path: w.path, pairs: pairs}
	for _, p := range pairs {
		for _, o := range p {
			if !o.ended && !slices.Contains(o.episodes, ep) {
				o.episodes = append(o.episodes, ep)
				ep.open++
			}
		}
	}
	if ep.open == 0 {
		a.judge(ep)
	}
}

// An episode is a name that overlapping writers held, waiting for their
// windows to end before it is judged.
type episode struct {
	path  string
	pairs [][2]*window
	open  int // windows of the pairs not yet ended
	done  bool
}

// judge reports ep as a temp collision if any of its pairs really
// overlapped: a pair was recorded when its second window opened while the
// first held the name, but the first may have been a process that had
// exited without closing (inactive since before the second opened).
func (a *Analyzer) judge(ep *episode) {
	if ep.done {
		return
	}
	ep.done = true
	pairs := slices.DeleteFunc(ep.pairs, func(p [2]*window) bool { return !overlap(p[0], p[1], a.last) || !a.clobbers(p) })
	if len(pairs) > 0 {
		a.collision(ep.path, pairs)
	}
}

// clobbers reports whether a pair of overlapping writers of one name
// destroys data: one wrote and the other's O_TRUNC open came after it
// opened, or both wrote into a file one of them truncated or that was
// renamed over a target (a temp file). Writers that open without O_TRUNC
// and never rename (a database, its journal, a log) write their own
// ranges; writers that both took a lock on it are coordinated; opens that
// write nothing (a lock file the shell opens with "9> file") lose nothing.
// In a trail that records no writes at all, the opens are all there is.
func (a *Analyzer) clobbers(p [2]*window) bool {
	x, y := p[0], p[1]
	if x.locked && y.locked {
		return false
	}
	trunc := func(w *window) bool { return w.open.flags&trail.O_TRUNC != 0 }
	renamed := func(w *window) bool { return w.node != nil && w.node.renames > w.gen }
	if !a.sawWrites {
		return trunc(x) || trunc(y) || renamed(x) || renamed(y)
	}
	switch {
	case x.wrote && y.wrote:
		return trunc(x) || trunc(y) || renamed(x) || renamed(y)
	case x.wrote:
		return trunc(y) && !y.open.ts.Before(x.open.ts)
	case y.wrote:
		return trunc(x) && !x.open.ts.Before(y.open.ts)
	}
	return false
}

// endFD ends w entirely: its descriptor was closed (e is the close, or the
// event that shows the close was missed).
func (a *Analyzer) endFD(w *window, e *trail.Event) {
	if w.ended {
		return
	}
	// Only a close (or a dup over the descriptor, an exec or an exit) says
	// when a descriptor ended. A descriptor number reused, or the end of
	// the trail, says only that it ended at some point after its last
	// activity: take the earliest, which invents no overlap. A window
	// without a descriptor ends with its name.
	w.ended = true
	w.pendingTorn = nil // it wrote no more: unproven
	switch {
	case e != nil && (closes(e.Op) || w.fd < 0):
		w.endTS = e.TS
	case w.fd < 0:
		w.endTS = a.last
	default:
		w.endTS = time.Unix(0, w.last)
	}
	a.endName(w, e)
	for _, ep := range w.episodes {
		if ep.open--; ep.open == 0 {
			a.judge(ep)
		}
	}
	w.episodes = nil
	if n := w.node; n != nil {
		n.removeWindow(w)
		n.removeWriting(w)
		if e != nil && e.Op == trail.OpClose && w.writer() && w.fd >= 0 && !a.lifecycle {
			if len(n.recent) == maxRecent {
				n.recent = slices.Delete(n.recent, 0, 1)
			}
			n.recent = append(n.recent, w)
		}
		a.forget(n)
	}
	if w.inPlace && !w.renamedAwy {
		f := a.group(InPlaceRewrite, w.path, w.open.comm)
		f.addMark(&w.open)
		f.addMark(&w.firstWrite)
	}
	if a.opts.OnWindow != nil {
		end := a.last
		if e != nil {
			end = e.TS
		}
		a.opts.OnWindow(&Window{ID: w.id, PID: w.open.pid, TID: int(w.open.tid), Path: cmp.Or(w.path, w.open.path+" (O_TMPFILE)"),
			Flags: w.open.flags, Start: w.open.ts, End: end})
	}
}

// closes reports whether op ends a descriptor at its time.
func closes(op trail.Op) bool {
	return op == trail.OpClose || op == trail.OpDup || op == trail.OpExec || op == trail.OpExit
}
