package analyze

import (
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// Options tune an analysis.
type Options struct {
	// Durability expects every rename to be followed by an fsync of its
	// directory. Without it, only renames whose source was fsynced after
	// its last write (the writer asked for durability) expect one.
	Durability bool

	// Since and Until keep findings whose time window overlaps them (zero:
	// unbounded). The whole trail is still analysed, so windows that
	// straddle the bounds are judged on all their events.
	Since, Until time.Time

	// Paths keeps findings whose target (Finding.Path) is one of these
	// paths, lies under one, or matches one as a filepath.Match pattern.
	// Empty keeps all.
	Paths []string

	// OnWindow, when set, is called for every open→close window when it
	// ends (at the end of the trail for windows never closed); the timeline
	// is drawn from it.
	OnWindow func(*Window)
}

// A Window is the life of one open file description: from open to close
// (or, for events without a descriptor, to the rename or unlink of its
// name).
type Window struct {
	ID         uint64
	PID, TID   int
	Path       string
	Flags      trail.OpenFlags
	Start, End time.Time
}

// A Source yields events in time order: a *trail.Reader or *trail.Merger.
type Source interface {
	Read(*trail.Event) error
	Stats() trail.Stats
}

// A Report is the result of Run.
type Report struct {
	Findings   []*Finding
	Stats      trail.Stats
	Start, End time.Time // of the events analysed
}

// Run analyses every event of src and returns the findings, sorted by
// target and time. It stops at the first read error.
func Run(src Source, opts Options) (*Report, error) {
	a := New(opts)
	var e trail.Event
	for {
		err := src.Read(&e)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		a.Add(&e)
	}
	return &Report{Findings: a.Finish(), Stats: src.Stats(), Start: a.first, End: a.last}, nil
}

// An Analyzer consumes merged events one at a time and keeps only what
// open windows and live files need: per-process descriptor tables, the
// files named in the trail with their writers since creation, names open
// for writing, renames awaiting a directory fsync, and pending
// read-modify-write reads of rename targets. Its memory grows with the
// number of files open at once and of live files named, not with the
// length of the trail.
type Analyzer struct {
	opts     Options
	fds      map[pidfd]*window
	byPath   map[string]*node
	byIno    map[devIno]*node
	names    map[string]*nameState
	dirs     map[string]map[string]*Finding // dir → target → unsynced-dir finding
	targets  map[string]bool                // paths that have been rename destinations
	rmw      map[string]*rmwState
	grouped  map[groupKey]*Finding // warnings, one per kind and target
	findings []*Finding
	nextID   uint64
	hosts    map[string]int // host → small id, so descriptor keys hash no string
	lastHost string
	lastID   int
	first    time.Time
	last     time.Time
}

// New returns an Analyzer; feed it with Add, then call Finish.
func New(opts Options) *Analyzer {
	return &Analyzer{
		opts:    opts,
		fds:     map[pidfd]*window{},
		byPath:  map[string]*node{},
		byIno:   map[devIno]*node{},
		names:   map[string]*nameState{},
		dirs:    map[string]map[string]*Finding{},
		targets: map[string]bool{},
		rmw:     map[string]*rmwState{},
		grouped: map[groupKey]*Finding{},
		hosts:   map[string]int{"": 0},
	}
}

// hostID numbers hosts; nearly every event repeats the previous event's
// host, so the map is rarely consulted.
func (a *Analyzer) hostID(h string) int {
	if h == a.lastHost {
		return a.lastID
	}
	id, ok := a.hosts[h]
	if !ok {
		id = len(a.hosts)
		a.hosts[h] = id
	}
	a.lastHost, a.lastID = h, id
	return id
}

// pidfd keys descriptor tables: pids of different hosts are different
// processes (paths are shared: merging hosts' trails is for shared file
// systems).
type pidfd struct {
	host    int // see hostID
	pid, fd int
}

type devIno struct{ dev, ino uint64 }

type groupKey struct {
	kind Kind
	path string
}

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
	hasContent   bool

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

// rmwState follows read-modify-write windows on one rename target.
//
// A read followed by a replace is not always a read-modify-write: a
// writer that verifies each version it wrote reads the target after its
// replace, and in a loop that read precedes its next replace too. The
// syscalls of the two are the same, so a read opens a read-modify-write
// window only with evidence of intent: the read and the replace carry the
// same call id, or the read's descriptor is still open when the replace
// happens (the program holds what it read while it writes).
type rmwState struct {
	reads    map[actor]rmwRead // the last read open of the target by each actor
	replaces []rmwReplace
}

// An actor makes read-modify-write windows: a process, or one replace of
// a process when events carry call ids (goroutines of one process).
type actor struct {
	host string
	pid  int
	call string
}

type rmwRead struct {
	ev trail.Event
	w  *window
}

type rmwReplace struct {
	by            actor
	read, replace trail.Event
}

// Bounds on read-modify-write state per target, for readers that never
// replace.
const (
	maxReads    = 1024
	maxReplaces = 256
)

// Add feeds the next event. Events must come in merged order; Add keeps
// no reference to e.
func (a *Analyzer) Add(e *trail.Event) {
	if e.TS.After(a.last) {
		a.last = e.TS
	}
	if a.first.IsZero() || e.TS.Before(a.first) {
		a.first = e.TS
	}
	if e.Err != "" || e.Ret < 0 {
		return // a failed call changed nothing
	}
	switch e.Op {
	case trail.OpOpen:
		a.open(e)
	case trail.OpWrite, trail.OpTruncate:
		a.write(e)
	case trail.OpFsync, trail.OpFdatasync:
		a.sync(e)
	case trail.OpClose:
		if w := a.fds[pidfd{a.hostID(e.Host), e.PID, e.FD}]; w != nil && e.FD >= 0 {
			a.endFD(w, e)
		}
	case trail.OpRename:
		a.rename(e)
	case trail.OpLink:
		a.link(e)
	case trail.OpUnlink:
		a.unlink(e)
	}
}

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
	if n != nil && e.Ino != 0 && n.key.ino == e.Ino && n.path != "" && n.path != e.Path && a.targets[e.Path] {
		if other := a.byPath[e.Path]; other != nil && other != n {
			w.path = n.path
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
		n.hasContent = false
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

func (a *Analyzer) write(e *trail.Event) {
	w := a.fds[pidfd{a.hostID(e.Host), e.PID, e.FD}]
	var n *node
	switch {
	case w != nil && e.FD >= 0:
		n = w.node
	case e.Path != "" || e.Ino != 0:
		n = a.lookup(e.Path, devIno{e.Dev, e.Ino})
		w = nil
	}
	if n == nil {
		return
	}
	if w == nil && e.FD >= 0 {
		w = a.revive(n, e)
	}
	n.wrote, n.hasContent, n.lastWrite = true, true, markOf(e)
	n.synced = w != nil && w.flags&trail.O_DSYNC != 0
	if w == nil {
		return
	}
	w.writes++
	w.last = e.TS
	if w.firstWrite.ts.IsZero() {
		w.firstWrite = markOf(e)
	}
	// Once replaced, the file is no one's to read; an appender (a log
	// rotated by a rename) is expected to grow the renamed file.
	if w.gen < n.renames && n.path != "" && !w.appender() {
		f := n.war
		if f == nil {
			f = a.newFinding(WriteAfterRename, n.path)
			f.add(n.renameEv)
			renamer := "another process"
			if n.renameEv != nil {
				renamer = "pid " + strconv.Itoa(n.renameEv.PID)
			}
			f.Message = fmt.Sprintf("pid %d wrote through a descriptor opened before %s was renamed into place by %s: readers see the target change",
				w.pid, n.path, renamer)
			n.war = f
		} else {
			f.Count++
		}
		f.add(w.open.event())
		f.add(e)
	}
	for _, o := range n.windows {
		if o == w || o.writes == 0 || sameWriter(o, w) || o.path == w.path || (o.appender() && w.appender()) {
			continue
		}
		f := n.shared
		if f == nil {
			f = a.newFinding(SharedInodeWrite, cmp.Or(n.path, w.path, o.path))
			f.Message = fmt.Sprintf("pids %d and %d wrote to one file while both had it open, as %s and %s",
				o.pid, w.pid, nameOr(o.path), nameOr(w.path))
			n.shared = f
		} else {
			f.Count++
		}
		f.add(o.open.event())
		f.add(o.firstWrite.event())
		f.add(w.open.event())
		f.add(e)
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

// proc names a process in messages: "7", or "7@host" in multi-host trails.
func proc(host string, pid int) string {
	if host == "" {
		return strconv.Itoa(pid)
	}
	return strconv.Itoa(pid) + "@" + host
}

// procList lists the distinct processes of ws, sorted: "11, 12".
func procList(ws []*window) string {
	ws = slices.Clone(ws)
	slices.SortFunc(ws, func(a, b *window) int { return cmp.Or(cmp.Compare(a.pid, b.pid), strings.Compare(a.host, b.host)) })
	var names []string
	for _, w := range ws {
		if n := proc(w.host, w.pid); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

func nameOr(p string) string {
	if p == "" {
		return "an O_TMPFILE"
	}
	return p
}

func (a *Analyzer) sync(e *trail.Event) {
	w := a.fds[pidfd{a.hostID(e.Host), e.PID, e.FD}]
	if w != nil && e.FD >= 0 && w.node != nil {
		if w.node.wrote {
			w.node.synced = true
		}
		return
	}
	path := e.Path
	if w != nil && e.FD >= 0 {
		path = w.path
	}
	if pending := a.dirs[path]; pending != nil {
		delete(a.dirs, path)
	}
}

func (a *Analyzer) rename(e *trail.Event) {
	src, dst := e.Path, e.To
	n := a.byPath[src]
	if n != nil {
		a.checkTorn(n, e)
		a.checkSync(n, e)
	}
	// Every window open on the old name loses it; so do in-place writers
	// of the destination, whose file is now unlinked.
	a.endNames(src, e, true)
	a.endNames(dst, e, false)
	if old := a.byPath[dst]; old != nil && old != n {
		a.detach(old, dst)
	}
	if n == nil {
		n = &node{}
	} else {
		delete(a.byPath, src)
	}
	n.path = dst
	a.byPath[dst] = n
	n.renames++
	n.renameEv = nil
	if len(n.windows) > 0 || len(n.recent) > 0 {
		ev := *e // a write-after-rename needs it as evidence
		n.renameEv = &ev
	}
	n.war, n.shared = nil, nil
	n.inPlace, n.inPlaceCount = nil, 0
	n.writers = n.writers[:0]
	for _, w := range n.windows {
		if w.writer() && w.fd >= 0 {
			n.addWriter(w) // still open: still a writer of the file's new life
		}
	}
	a.targets[dst] = true
	a.rmwReplace(e)
}

// checkTorn reports a rename whose source had two writers at once since
// it was created (their windows overlapped), or is still being written by
// another writer that touched it after the renamer last did. Writers one
// after the other (a linker writes a file, the go command stamps it, then
// renames it) tear nothing.
func (a *Analyzer) checkTorn(n *node, e *trail.Event) {
	renamer := &window{host: e.Host, pid: e.PID, call: e.Call}
	cands := slices.Clone(n.writers)
	var renamerLast time.Time
	for _, w := range n.windows {
		if w.writer() && !slices.Contains(cands, w) {
			cands = append(cands, w)
		}
	}
	for _, w := range cands {
		if sameWriter(w, renamer) && w.last.After(renamerLast) {
			renamerLast = w.last
		}
	}
	var torn []*window
	mark := func(ws ...*window) {
		for _, w := range ws {
			if !slices.Contains(torn, w) {
				torn = append(torn, w)
			}
		}
	}
	var stillWriting *window
	for i, x := range cands {
		for _, y := range cands[i+1:] {
			if !sameWriter(x, y) && !(x.appender() && y.appender()) && overlap(x, y, e.TS) {
				mark(x, y)
			}
		}
		if !x.ended && !sameWriter(x, renamer) && !x.appender() && x.last.After(renamerLast) {
			mark(x)
			stillWriting = x
		}
	}
	if len(torn) == 0 || (len(torn) == 1 && stillWriting == nil) {
		return
	}
	f := a.newFinding(TornRename, e.To)
	f.add(e)
	for _, w := range torn {
		f.add(w.open.event())
		f.add(w.firstWrite.event())
	}
	why := fmt.Sprintf("written by %d writers at once (pids %s)", len(torn), procList(torn))
	switch {
	case stillWriting != nil && len(torn) == 1:
		why = "still being written by pid " + proc(stillWriting.host, stillWriting.pid)
	case stillWriting != nil:
		why += ", pid " + proc(stillWriting.host, stillWriting.pid) + " still writing"
	}
	f.Message = fmt.Sprintf("pid %s renamed %s over %s while it was %s: the target can hold a mix of their data", proc(e.Host, e.PID), e.Path, e.To, why)
}

// checkSync reports renames of unsynced data over an existing file, and
// queues renames that expect a directory fsync.
func (a *Analyzer) checkSync(n *node, e *trail.Event) {
	if n.wrote && !n.synced && a.byPath[e.To] != nil {
		f := a.group(UnsyncedRename, e.To)
		f.add(n.lastWrite.event())
		f.add(e)
	}
	if a.opts.Durability || (n.wrote && n.synced) {
		toDir, fromDir := dirOf(e.To), dirOf(e.Path)
		for _, dir := range [2]string{toDir, fromDir} {
			pending := a.dirs[dir]
			if pending == nil {
				pending = map[string]*Finding{}
				a.dirs[dir] = pending
			}
			f := pending[e.To]
			if f == nil {
				f = newFinding(UnsyncedDir, e.To)
				pending[e.To] = f
			} else if dir == toDir {
				f.Count++
			}
			f.add(e)
			if fromDir == toDir {
				break
			}
		}
	}
}

// endNames ends the name-level windows open on path.
func (a *Analyzer) endNames(path string, e *trail.Event, lost bool) {
	ns := a.names[path]
	if ns == nil {
		return
	}
	for _, w := range slices.Clone(ns.active) {
		w.renamedAwy = w.renamedAwy || lost
		a.endName(w, e)
		if w.fd < 0 {
			a.endFD(w, e)
		}
	}
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

func (a *Analyzer) collision(path string, pairs [][2]*window) {
	f := a.newFinding(TempCollision, path)
	var clockPIDs bool
	var opens []int64
	for _, p := range pairs {
		for _, w := range p {
			f.add(w.open.event())
			f.add(w.firstWrite.event())
			f.add(w.nameEnd)
			opens = append(opens, w.open.ts.UnixNano())
		}
		d := p[0].open.ts.Sub(p[1].open.ts).Abs()
		if p[0].pid != p[1].pid && (d < time.Second || p[0].open.ts.Unix() == p[1].open.ts.Unix()) {
			clockPIDs = true
		}
	}
	f.Count = len(pairs)
	var ws []*window
	for _, p := range pairs {
		ws = append(ws, p[0], p[1])
	}
	if n := strings.Count(procList(ws), ",") + 1; n > 1 {
		f.Message = fmt.Sprintf("%s was open for writing by %d writers at once (pids %s): each truncates and overwrites the other's data",
			path, n, procList(ws))
	} else {
		f.Message = fmt.Sprintf("%s was open for writing twice at once by pid %s (different replaces)", path, procList(ws))
	}
	f.Note = clockNote(path, opens, clockPIDs)
}

// clockNote says why a colliding name looks clock-derived: it holds the
// Unix time of the opens (a run of 10, 13, 16 or 19 digits: seconds to
// nanoseconds, within a second of an open), or it holds some other long
// number and different processes chose it within one second. A fixed name
// ("out.tmp") gets no note.
func clockNote(path string, opens []int64, clockPIDs bool) string {
	base := filepath.Base(path)
	units := map[int]string{10: "second", 13: "millisecond", 16: "microsecond", 19: "nanosecond"}
	for i := 0; i < len(base); {
		j := i
		for j < len(base) && base[j] >= '0' && base[j] <= '9' {
			j++
		}
		if unit, ok := units[j-i]; ok {
			secs, _ := strconv.ParseInt(base[i:i+10], 10, 64)
			for _, ns := range opens {
				if d := ns/1e9 - secs; d >= -1 && d <= 1 {
					return fmt.Sprintf("clock-derived: the name holds %s, the Unix time in %ss of the opens; processes starting in the same %s choose the same name",
						base[i:j], unit, unit)
				}
			}
		}
		i = j + 1
	}
	if clockPIDs && longestDigits(base) >= 6 {
		return "clock-derived: different processes chose this numbered name within one second; the number looks like a coarse clock reading"
	}
	return ""
}

func longestDigits(s string) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
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

func (a *Analyzer) rmwRead(e *trail.Event, w *window) {
	st := a.rmw[e.Path]
	if st == nil {
		st = &rmwState{reads: map[actor]rmwRead{}}
		a.rmw[e.Path] = st
	}
	if len(st.reads) >= maxReads {
		for k := range st.reads { // forget an arbitrary reader that never replaced
			delete(st.reads, k)
			break
		}
	}
	st.reads[actor{e.Host, e.PID, e.Call}] = rmwRead{ev: *e, w: w}
}

// rmwReplace is a replace of a target (a rename onto it or an O_TRUNC
// open). If its process read the target first, the replace closes a
// read-modify-write window; another such window that replaced the target
// after this one's read lost its update.
func (a *Analyzer) rmwReplace(e *trail.Event) {
	target := e.Path
	if e.Op == trail.OpRename {
		target = e.To
	}
	st := a.rmw[target]
	if st == nil {
		return
	}
	by := actor{e.Host, e.PID, e.Call}
	rd, ok := st.reads[by]
	if ok && e.Call == "" && (rd.w == nil || rd.w.ended) {
		ok = false // read and closed: maybe a verification of the last write
	}
	if !ok && e.Call != "" {
		// The read may carry no call id while the replace does.
		if plain, found := st.reads[actor{e.Host, e.PID, ""}]; found && plain.w != nil && !plain.w.ended {
			delete(st.reads, actor{e.Host, e.PID, ""})
			rd, ok = plain, true
		}
	}
	delete(st.reads, by)
	if !ok {
		return // a blind write, or no evidence that it used what it read
	}
	read := rd.ev
	for _, r := range st.replaces {
		if r.by != by && r.replace.TS.After(read.TS) {
			f := a.newFinding(LostUpdate, target)
			f.add(&r.read)
			f.add(&read)
			f.add(&r.replace)
			f.add(e)
			f.Message = fmt.Sprintf("pid %d read %s, pid %d replaced it, then pid %d replaced it from its stale read: pid %d's update is lost",
				e.PID, target, r.by.pid, e.PID, r.by.pid)
		}
	}
	if len(st.replaces) >= maxReplaces {
		st.replaces = slices.Delete(st.replaces, 0, 1)
	}
	st.replaces = append(st.replaces, rmwReplace{by: by, read: read, replace: *e})
	// Only replaces after the oldest pending read can still be overtaken.
	oldest := e.TS
	for _, r := range st.reads {
		if r.ev.TS.Before(oldest) {
			oldest = r.ev.TS
		}
	}
	st.replaces = slices.DeleteFunc(st.replaces, func(r rmwReplace) bool { return !r.replace.TS.After(oldest) })
	if len(st.reads) == 0 && len(st.replaces) == 0 {
		delete(a.rmw, target)
	}
}

func (a *Analyzer) newFinding(k Kind, path string) *Finding {
	f := newFinding(k, path)
	a.findings = append(a.findings, f)
	return f
}

// group returns the finding that gathers every occurrence of a warning on
// one target, counting this one.
func (a *Analyzer) group(k Kind, path string) *Finding {
	key := groupKey{k, path}
	if f := a.grouped[key]; f != nil {
		f.Count++
		return f
	}
	f := a.newFinding(k, path)
	a.grouped[key] = f
	return f
}

// Finish ends every window still open, reports renames still waiting for
// a directory fsync, and returns the findings that pass the filters,
// sorted by target, then time.
func (a *Analyzer) Finish() []*Finding {
	ws := make([]*window, 0, len(a.fds))
	for _, w := range a.fds {
		ws = append(ws, w)
	}
	for _, ns := range a.names {
		for _, w := range ns.active {
			if w.fd < 0 {
				ws = append(ws, w)
			}
		}
	}
	slices.SortFunc(ws, func(x, y *window) int { return cmp.Compare(x.id, y.id) })
	for _, w := range ws {
		a.endFD(w, nil)
	}
	paths := make([]string, 0, len(a.byPath))
	for p, n := range a.byPath {
		if n.inPlaceCount > 0 && n.path == p {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		n := a.byPath[p]
		f := a.group(InPlaceRewrite, p)
		f.Count += n.inPlaceCount - 1
		for i := range n.inPlace {
			f.add(&n.inPlace[i])
		}
		f.Omitted += n.inPlaceCount - len(n.inPlace)
	}
	for _, pending := range a.dirs {
		for _, f := range pending {
			if !slices.Contains(a.findings, f) {
				a.findings = append(a.findings, f)
			}
		}
	}
	a.dirs = map[string]map[string]*Finding{}
	out := a.findings[:0:0]
	for _, f := range a.findings {
		f.sortEvidence()
		groupMessage(f)
		if a.keep(f) {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(x, y *Finding) int {
		return cmp.Or(strings.Compare(x.Path, y.Path), x.Start.Compare(y.Start),
			cmp.Compare(slices.Index(Kinds, x.Kind), slices.Index(Kinds, y.Kind)))
	})
	return out
}

func (a *Analyzer) keep(f *Finding) bool {
	if !a.opts.Since.IsZero() && f.End.Before(a.opts.Since) {
		return false
	}
	if !a.opts.Until.IsZero() && f.Start.After(a.opts.Until) {
		return false
	}
	if len(a.opts.Paths) == 0 {
		return true
	}
	for _, p := range a.opts.Paths {
		if pathMatches(p, f.Path) {
			return true
		}
	}
	return false
}

// dirOf returns the directory of a trail path, which the format says is
// absolute and cleaned, without filepath.Dir's allocation.
func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return p[:i]
}

func pathMatches(pattern, path string) bool {
	if path == "" {
		return false
	}
	pattern = filepath.Clean(pattern)
	if path == pattern || strings.HasPrefix(path, strings.TrimSuffix(pattern, "/")+"/") {
		return true
	}
	ok, _ := filepath.Match(pattern, path)
	return ok
}

// groupMessage writes the message of a grouped warning once its count is
// final.
func groupMessage(f *Finding) {
	switch f.Kind {
	case UnsyncedRename:
		f.Message = fmt.Sprintf("%d renames over %s of a source not fsynced after its last write: a crash can leave the target empty or old", f.Count, f.Path)
	case UnsyncedDir:
		f.Message = fmt.Sprintf("%d renames into %s not followed by an fsync of %s: a crash can undo them", f.Count, f.Path, filepath.Dir(f.Path))
	case InPlaceRewrite:
		f.Message = fmt.Sprintf("%s was truncated and rewritten in place (%d times): readers and crashes can see it empty or half-written", f.Path, f.Count)
	}
}
