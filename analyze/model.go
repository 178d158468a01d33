package analyze

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// pidfd keys descriptor tables: pids of different hosts are different
// processes (paths are shared: merging hosts' trails is for shared file
// systems).
type pidfd struct {
	host    int // see hostID
	pid, fd int
}

type devIno struct{ dev, ino uint64 }

// A window is one open file description.
type window struct {
	id         uint64
	host       string
	pid, fd    int
	call       string
	path       string // the name it was opened under; "" for O_TMPFILE
	flags      trail.OpenFlags
	open       mark
	firstWrite mark         // zero until it writes
	nameEnd    *trail.Event // the close, rename or unlink that ended its name, kept for collisions only
	paired     bool         // in a name-level overlap pair
	node       *node        // nil for directories and reads of unknown files
	gen        int          // node.renames when opened
	writes     int
	named      bool       // still in names[path].active
	dir        bool       // a directory handle, for fsync
	inPlace    bool       // O_TRUNC of a final path: an in-place rewrite unless renamed away
	renamedAwy bool       // its name was renamed or unlinked while it was open
	episodes   []*episode // collision episodes waiting for it to end
	ended      bool       // closed, or its close inferred
	endTS      time.Time  // when it ended
	nameEndTS  time.Time  // when its name was taken away or it closed
	last       time.Time  // its last open, write, truncate or sync
}

func (w *window) writer() bool { return w.flags.Writes() }

// until is when w was last known to hold its file, as of now. A closed
// window ended at its close. A window without a descriptor could not be
// closed in the trail: it lasts until now. A window still open with a
// descriptor lasts until its last activity: recorders see no process exit,
// so a process that exits without close(2) (the kernel closes its files)
// would otherwise hold its files for the rest of the trail and collide
// with every later writer.
func (w *window) until(now time.Time) time.Time {
	end := now
	switch {
	case w.ended:
		end = w.endTS
	case w.fd >= 0:
		end = w.last
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
func (w *window) appender() bool { return w.flags&trail.O_APPEND != 0 }

// sameWriter reports whether two windows belong to one writer: one
// process, and one replace when both carry call ids.
func sameWriter(a, b *window) bool {
	return a.pid == b.pid && a.host == b.host && (a.call == b.call || a.call == "" || b.call == "")
}

// A node is one file (inode), followed through renames and links.
type node struct {
	path         string // current name, "" once unlinked or replaced
	key          devIno // zero when unknown
	windows      []*window
	writers      []*window // writer windows since creation or the last rename, capped
	wrote        bool      // a write event was seen
	synced       bool      // fsync or fdatasync since the last write
	lastWrite    mark
	renames      int
	renameEv     *trail.Event  // the last rename, kept while windows opened before it are open
	inPlace      []trail.Event // O_TRUNC opens of this name, final unless it is renamed away
	inPlaceCount int
	war          *Finding // the open write-after-rename finding
	shared       *Finding // the open shared-inode-write finding

	recent []*window // writer windows closed lately, which a dup2 may continue

	// Most files have one or two windows: keep them inline.
	winBuf [2]*window
	wrBuf  [2]*window
}

// A mark is an open or write event kept for evidence in half the room of
// an Event: one is kept per window and per file, so it is most of the
// analyzer's allocation.
type mark struct {
	ts       time.Time
	pos      trail.Pos
	host     string
	pid, tid int
	fd       int
	op       trail.Op
	flags    trail.OpenFlags
	path     string
	off, len int64
	ret      int64
	call     string
}

func markOf(e *trail.Event) mark {
	return mark{ts: e.TS, pos: e.Pos, host: e.Host, pid: e.PID, tid: e.TID, fd: e.FD, op: e.Op, flags: e.Flags,
		path: e.Path, off: e.Off, len: e.Len, ret: e.Ret, call: e.Call}
}

// event returns the event m was made from (the fields evidence shows), or
// nil for no mark.
func (m *mark) event() *trail.Event {
	if m.ts.IsZero() {
		return nil
	}
	return &trail.Event{TS: m.ts, Pos: m.pos, Host: m.host, PID: m.pid, TID: m.tid, Op: m.op, FD: m.fd,
		Flags: m.flags, Path: m.path, Off: m.off, Len: m.len, Ret: m.ret, Call: m.call}
}

const (
	maxWriters = 16
	maxRecent  = 4
)

func (n *node) addWriter(w *window) {
	if len(n.writers) < maxWriters {
		n.writers = append(n.writers, w)
	}
}

// nameState is a path open for writing: the windows open on it now and
// the overlapping pairs seen since it was last free.
type nameState struct {
	active []*window
	pairs  [][2]*window
	buf    [2]*window // inline room for active
}

const maxPairs = 64

func (a *Analyzer) open(e *trail.Event) {
	fd := e.FD
	if fd < 0 && e.Ret > 0 {
		fd = int(e.Ret)
	}
	if fd >= 0 {
		if old := a.fds[pidfd{a.hostID(e.Host), e.PID, fd}]; old != nil {
			a.endFD(old, e) // its close was not recorded
		}
	}
	a.nextID++
	w := &window{id: a.nextID, host: e.Host, pid: e.PID, fd: fd, call: e.Call, flags: e.Flags, open: markOf(e), last: e.TS}
	switch {
	case e.Flags&trail.O_TMPFILE == trail.O_TMPFILE:
		w.node = &node{}
		w.node.windows = append(w.node.windows, w)
		w.node.addWriter(w)
	case e.Flags&(trail.O_DIRECTORY|trail.O_PATH) != 0:
		w.path, w.dir = e.Path, true
	default:
		w.path = e.Path
		a.openNamed(w, e)
	}
	if fd >= 0 {
		a.fds[pidfd{a.hostID(e.Host), e.PID, fd}] = w
		if len(a.fds) > maxOpen {
			a.evict()
		}
	}
}

// maxOpen bounds the descriptor table. Processes that exit without
// close(2) leave windows the trail never closes; a long recording of many
// short processes would otherwise grow the table without end.
var maxOpen = 1 << 16

// evict ends the least recently active half of the open windows, as if
// their processes had exited right after their last activity, which is
// what until assumes of them already.
func (a *Analyzer) evict() {
	ws := make([]*window, 0, len(a.fds))
	for _, w := range a.fds {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, func(x, y *window) int { return cmp.Or(x.last.Compare(y.last), cmp.Compare(x.id, y.id)) })
	for _, w := range ws[:len(ws)/2] {
		a.endFD(w, nil)
	}
}

func (a *Analyzer) openNamed(w *window, e *trail.Event) {
	n := a.lookup(e.Path, devIno{e.Dev, e.Ino})
	if !w.writer() {
		if n != nil {
			w.node, w.gen = n, n.renames
			n.windows = append(n.windows, w)
		}
		if a.targets[e.Path] {
			a.rmwRead(e, w)
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
	// A node named by the path means the file exists: an earlier open made
	// it, and a rename or unlink since would have taken the name away.
	existed := n != nil && n.path == w.path
	if n == nil {
		n = a.newNode(e.Path, devIno{e.Dev, e.Ino})
	}
	w.node, w.gen = n, n.renames
	n.windows = append(n.windows, w)
	if e.Flags&trail.O_TRUNC != 0 {
		// Truncation discards what closed writers wrote; writers still open
		// keep writing at their offsets.
		n.writers = slices.DeleteFunc(n.writers, func(o *window) bool { return !slices.Contains(n.windows, o) })
		switch {
		case a.targets[w.path]:
			w.inPlace = true // a final path for sure: it was renamed onto
			a.rmwReplace(e)
		case existed:
			a.rmwReplace(e)
			// A final path unless it is renamed away later (then it was a
			// temp name reused); Finish decides.
			if len(n.inPlace) < maxEvidence {
				n.inPlace = append(n.inPlace, *e)
			}
			n.inPlaceCount++
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
		ns = &nameState{}
		ns.active = ns.buf[:0]
		a.names[w.path] = ns
	}
	for _, o := range ns.active {
		if o.pid == w.pid && o.host == w.host && o.fd < 0 && w.fd < 0 {
			continue // without descriptors a process's reopen is sequential
		}
		seen := slices.ContainsFunc(ns.pairs, func(p [2]*window) bool { return p[0] == o && p[1] == w })
		if !seen && !(o.appender() && w.appender()) && !(o.pid == w.pid && o.host == w.host && o.call != "" && o.call == w.call) && len(ns.pairs) < maxPairs {
			ns.pairs = append(ns.pairs, [2]*window{o, w})
			o.paired, w.paired = true, true
		}
	}
	if w.fd < 0 {
		// Without a descriptor the process's earlier window on this name
		// ends here: nothing else would end it.
		for _, o := range slices.Clone(ns.active) {
			if o.pid == w.pid && o.host == w.host && o.fd < 0 {
				a.endName(o, e)
				a.endFD(o, e)
			}
		}
	}
	ns.active = append(ns.active, w)
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
		a.byIno[key] = n
	}
	return n
}

func (a *Analyzer) newNode(path string, key devIno) *node {
	n := &node{path: path, key: key}
	n.windows, n.writers = n.winBuf[:0], n.wrBuf[:0]
	if path != "" {
		if old := a.byPath[path]; old != nil {
			a.detach(old, path)
		}
		a.byPath[path] = n
	}
	if key.ino != 0 {
		a.byIno[key] = n
	}
	return n
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
	if n.path == "" && len(n.windows) == 0 && n.key.ino != 0 && a.byIno[n.key] == n {
		delete(a.byIno, n.key)
	}
}

// revive handles a write through a descriptor the trail never opened, to a
// file the same process opened and closed: the shell's "> file" opens the
// file, dup2s it onto stdout, closes the original and execs the command
// (same pid), so the window really continues on the new descriptor.
// Recorders do not see dup2; without this the command's writes would belong
// to no window. Writes through descriptors inherited from another process
// stay unattributed: a shared log would otherwise look like a collision.
func (a *Analyzer) revive(n *node, e *trail.Event) *window {
	i := slices.IndexFunc(n.recent, func(o *window) bool { return o.pid == e.PID && o.host == e.Host })
	if i < 0 {
		return nil
	}
	w := n.recent[i]
	n.recent = slices.Delete(n.recent, i, i+1)
	w.fd, w.inPlace, w.ended, w.last = e.FD, false, false, e.TS // the in-place rewrite, if any, was counted
	a.fds[pidfd{a.hostID(w.host), w.pid, w.fd}] = w
	n.windows = append(n.windows, w)
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
	if w := a.fds[pidfd{a.hostID(e.Host), e.PID, fd}]; w != nil && fd >= 0 {
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
		ev := *e
		w.nameEnd = &ev
	}
	ns := a.names[w.path]
	ns.active = slices.DeleteFunc(ns.active, func(o *window) bool { return o == w })
	if len(ns.active) > 0 {
		return
	}
	delete(a.names, w.path)
	if len(ns.pairs) == 0 {
		return
	}
	// Judge the episode once its windows have ended: a window's later
	// writes (through the descriptor, after the name moved on) show it
	// was still active when the other opened.
	ep := &episode{path: w.path, pairs: ns.pairs}
	for _, p := range ns.pairs {
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
	pairs := slices.DeleteFunc(ep.pairs, func(p [2]*window) bool { return !overlap(p[0], p[1], a.last) })
	if len(pairs) > 0 {
		a.collision(ep.path, pairs)
	}
}

// endFD ends w entirely: its descriptor was closed (e is the close, or the
// event that shows the close was missed).
func (a *Analyzer) endFD(w *window, e *trail.Event) {
	// Only a close says when a descriptor ended. A descriptor number
	// reused, or the end of the trail, says only that it ended at some
	// point after its last activity: take the earliest, which invents no
	// overlap. A window without a descriptor ends with its name.
	w.ended = true
	switch {
	case e != nil && (e.Op == trail.OpClose || w.fd < 0):
		w.endTS = e.TS
	case w.fd < 0:
		w.endTS = a.last
	default:
		w.endTS = w.last
	}
	a.endName(w, e)
	for _, ep := range w.episodes {
		if ep.open--; ep.open == 0 {
			a.judge(ep)
		}
	}
	w.episodes = nil
	if w.fd >= 0 && a.fds[pidfd{a.hostID(w.host), w.pid, w.fd}] == w {
		delete(a.fds, pidfd{a.hostID(w.host), w.pid, w.fd})
	}
	if n := w.node; n != nil {
		n.windows = slices.DeleteFunc(n.windows, func(o *window) bool { return o == w })
		if e != nil && e.Op == trail.OpClose && w.writer() && w.fd >= 0 {
			if len(n.recent) == maxRecent {
				n.recent = slices.Delete(n.recent, 0, 1)
			}
			n.recent = append(n.recent, w)
		}
		a.forget(n)
	}
	if w.inPlace && !w.renamedAwy {
		f := a.group(InPlaceRewrite, w.path)
		f.add(w.open.event())
		f.add(w.firstWrite.event())
	}
	if a.opts.OnWindow != nil {
		end := a.last
		if e != nil {
			end = e.TS
		}
		a.opts.OnWindow(&Window{ID: w.id, PID: w.pid, TID: w.open.tid, Path: cmp.Or(w.path, w.open.path+" (O_TMPFILE)"),
			Flags: w.flags, Start: w.open.ts, End: end})
	}
}
