package analyze

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// groupKey gathers warnings: a kind, a program and a directory, and for
// in-place rewrites the name pattern too.
type groupKey struct {
	kind    Kind
	program string
	name    string
}

// write follows a write into its file's node and window, then checks it
// against the file's renames and its other writers.
func (a *Analyzer) write(e *trail.Event) {
	w, n := a.writeTarget(e)
	if n == nil {
		return
	}
	n.wrote, n.lastWrite, n.writer = true, markOf(e), a.procOf(e.Host, e.PID)
	n.synced = w != nil && w.open.flags&trail.O_DSYNC != 0
	if w == nil {
		return
	}
	if f := w.pendingTorn; f != nil {
		w.pendingTorn = nil
		f.add(e)
		a.emit(f)
	}
	if !w.wrote {
		w.wrote = true
		n.addWriting(w)
		if len(a.rmw) > 0 && n.path != "" {
			a.rmwChange(n.path, e, nil, nil, false)
		}
	}
	w.last = unixNano(e.TS)
	if w.firstWrite.ts.IsZero() {
		w.firstWrite = markOf(e)
	}
	// Once replaced, the file is no one's to read; an appender (a log
	// rotated by a rename) is expected to grow the renamed file.
	if w.gen < n.renames && n.path != "" && !w.appender() {
		a.writeAfterRename(n, w, e)
	}
	a.sharedWrite(n, w, e)
}

// writeTarget returns the window (nil when the descriptor has none) and
// the node of the file write e is made to (nil when it is not followed).
func (a *Analyzer) writeTarget(e *trail.Event) (*window, *node) {
	w := a.window(e.Host, e.PID, e.FD)
	guessed := a.lifecycle
	if w != nil && e.Ino != 0 && w.node != nil && w.node.key.ino != 0 && a.otherFile(w.node, devIno{e.Dev, e.Ino}) {
		// The write names another file than the descriptor's window (or
		// an inode number a newer file has taken since): the trail missed
		// a close, dup or exit. The event is the truth.
		a.closeFD(a.procOf(e.Host, e.PID), e.FD, nil)
		w = nil
		guessed = true // no second guess either
	}
	var n *node
	switch {
	case w != nil:
		n = w.node
	case e.Path != "" || e.Ino != 0:
		n = a.lookup(e.Path, devIno{e.Dev, e.Ino})
	}
	if n != nil && w == nil && e.FD >= 0 && !guessed {
		w = a.revive(n, e)
	}
	return w, n
}

// writeAfterRename adds write e, through window w opened before n's
// file was renamed into place, to n's write-after-rename finding.
func (a *Analyzer) writeAfterRename(n *node, w *window, e *trail.Event) {
	f := n.war
	if f == nil {
		f = a.newFinding(WriteAfterRename, n.path)
		a.accum[f] = struct{}{}
		f.addEnd(n.renameEv)
		renamer := "another process"
		if n.renameEv != nil {
			renamer = "pid " + strconv.Itoa(n.renameEv.pid)
		}
		f.Message = fmt.Sprintf("pid %d wrote through a descriptor opened before %s was renamed into place by %s: readers see the target change",
			e.PID, n.path, renamer)
		n.war = f
	} else {
		f.Count++
	}
	f.addMark(&w.open)
	f.add(e)
}

// sharedWrite adds write e to n's shared-inode-write finding for each
// other writer that has the file open under another name and neither
// appends nor holds a lock with it. A few of them show the sharing;
// checking all on every write would cost writers × writes on a hot file.
func (a *Analyzer) sharedWrite(n *node, w *window, e *trail.Event) {
	for _, o := range n.writing[:min(len(n.writing), maxSharedCheck)] {
		if o == w || sameWriter(o, w) || o.path == w.path || (o.appender() && w.appender()) ||
			(o.locked && w.locked) {
			continue
		}
		f := n.shared
		if f == nil {
			f = a.newFinding(SharedInodeWrite, cmp.Or(n.path, w.path, o.path))
			a.accum[f] = struct{}{}
			f.Message = fmt.Sprintf("pids %d and %d wrote to one file while both had it open, as %s and %s",
				o.firstWrite.pid, e.PID, nameOr(o.path), nameOr(w.path))
			n.shared = f
		} else {
			f.Count++
		}
		f.addMark(&o.open)
		f.addMark(&o.firstWrite)
		f.addMark(&w.open)
		f.add(e)
	}
}

const maxSharedCheck = 8

// otherFile reports whether the inode key is not n's file now: n has
// another inode, or a newer file took its inode number. A file written
// through a descriptor is open, so it stays in byIno until a newer file
// takes its number (newNode marks it): only then is byIno looked at.
func (a *Analyzer) otherFile(n *node, key devIno) bool {
	if n.key != key {
		return true
	}
	if !n.inoTaken {
		return false
	}
	o := a.byIno[key]
	return o != nil && o != n
}

// proc names a process in messages: "7", or "7@host" in multi-host trails.
func proc(host string, pid int) string { return string(appendProc(nil, host, pid)) }

func appendProc(b []byte, host string, pid int) []byte {
	b = strconv.AppendInt(b, int64(pid), 10)
	if host != "" {
		b = append(append(b, '@'), host...)
	}
	return b
}

// appendProcList appends the distinct processes of ws, sorted: "11, 12".
// Sorted by pid and host, a process's windows are adjacent.
func appendProcList(b []byte, ws []*window) []byte {
	var room [8]*window
	ws = append(room[:0], ws...)
	slices.SortFunc(ws, func(a, b *window) int {
		return cmp.Or(cmp.Compare(a.open.pid, b.open.pid), strings.Compare(a.open.host, b.open.host))
	})
	for i, w := range ws {
		switch {
		case i > 0 && w.open.pid == ws[i-1].open.pid && w.open.host == ws[i-1].open.host:
			continue
		case i > 0:
			b = append(b, ", "...)
		}
		b = appendProc(b, w.open.host, w.open.pid)
	}
	return b
}

func nameOr(p string) string {
	if p == "" {
		return "an O_TMPFILE"
	}
	return p
}

func (a *Analyzer) sync(e *trail.Event) {
	w := a.window(e.Host, e.PID, e.FD)
	if w != nil && w.node != nil {
		if w.node.wrote {
			w.node.synced = true
		}
		return
	}
	path := e.Path
	if w != nil {
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
		a.predictTemp(n, e)
	}
	// Every window open on the old name loses it; so do in-place writers
	// of the destination, whose file is now unlinked, or, swapped, named
	// by the source.
	swap := exchange(e)
	a.endNames(src, e, true)
	a.endNames(dst, e, swap)
	old := a.byPath[dst]
	if old == n {
		old = nil
	}
	if old != nil && !swap {
		a.detach(old, dst)
	}
	if n == nil {
		n = &node{}
	} else {
		delete(a.byPath, src)
	}
	if old != nil && swap {
		a.swapOut(old, dst, src, e)
	}
	if len(a.byPath) >= a.nodeCap {
		a.sweepNodes()
	}
	n.path, n.last = dst, e.TS
	a.byPath[dst] = n
	n.renames++
	n.renameEv = nil
	if len(n.windows) > 0 || len(n.recent) > 0 {
		n.renameEv = a.keepEvent(e) // a write-after-rename needs it as evidence
	}
	if n.war != nil {
		a.emit(n.war)
	}
	if n.shared != nil {
		a.emit(n.shared)
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
	switch {
	case a.rmw[dst] == nil:
		// Nobody read the target lately: no update to follow, and no
		// copy of the last write for its evidence.
	case n.wrote:
		a.rmwChange(dst, e, n.writer, n.lastWrite.event(), true)
	default:
		a.rmwChange(dst, e, nil, nil, true)
	}
	if swap && a.rmw[src] != nil {
		a.rmwChange(src, e, nil, nil, false) // the source now holds the old file: changed, not updated
	}
	if a.opts.Concurrent && !swap {
		a.predict.movedAway(src)
	}
}

// exchange reports whether rename e swapped its two names' files
// (renameat2 with RENAME_EXCHANGE): both names stay.
func exchange(e *trail.Event) bool { return e.Mode == "exchange" }

// swapOut gives old, the file a swap took from name dst, the swap's other
// name src. Its in-place rewrites of dst are no longer at a name that
// holds it, as when a plain rename replaces it; it was not renamed into
// place, so its open descriptors write on without write-after-rename.
func (a *Analyzer) swapOut(old *node, dst, src string, e *trail.Event) {
	if old.path == dst {
		old.path = src
	}
	old.last = e.TS
	old.inPlace, old.inPlaceCount = nil, 0
	a.byPath[src] = old
}

// appendRenamedOver says what rename e did: "renamed a over b", or
// "swapped a with b".
func appendRenamedOver(b []byte, e *trail.Event) []byte {
	if exchange(e) {
		return append(append(append(append(b, "swapped "...), e.Path...), " with "...), e.To...)
	}
	return append(append(append(append(b, "renamed "...), e.Path...), " over "...), e.To...)
}

// checkTorn reports a rename whose source had two writers at once since
// it was created (their windows overlapped), or is still being written by
// another writer that touched it after the renamer last did. Writers one
// after the other (a linker writes a file, the go command stamps it, then
// renames it) tear nothing.
func (a *Analyzer) checkTorn(n *node, e *trail.Event) {
	renamer := &window{open: mark{host: e.Host, pid: e.PID, call: e.Call}}
	cands := append(a.cands[:0], n.writers...) // reused: a rename happens per replace
	renamerLast := int64(math.MinInt64)
	for _, w := range n.windows {
		if len(cands) >= 2*maxWriters {
			break // enough to show a tear; all of them would cost writers² per rename
		}
		if w.writer() && !slices.Contains(cands, w) {
			cands = append(cands, w)
		}
	}
	for _, w := range cands {
		if sameWriter(w, renamer) && w.last > renamerLast {
			renamerLast = w.last
		}
	}
	torn := a.torn[:0] // reused as cands is
	defer func() { a.cands, a.torn = cands[:0], torn[:0] }()
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
			if !sameWriter(x, y) && !(x.appender() && y.appender()) && !(x.locked && y.locked) && overlap(x, y, e.TS) {
				mark(x, y)
			}
		}
		if !x.ended && !sameWriter(x, renamer) && !x.appender() && x.last > renamerLast {
			mark(x)
			stillWriting = x
		}
	}
	if len(torn) == 0 || (len(torn) == 1 && stillWriting == nil) {
		return
	}
	f := a.newFinding(TornRename, e.To)
	f.expect(1 + 2*len(torn))
	rename := a.keepEvent(e)
	if 1+2*len(torn) > maxEvidence {
		f.addEnd(rename) // first, so that it is kept
	}
	for _, w := range torn {
		f.addMark(&w.open)
		f.addMark(&w.firstWrite)
	}
	f.addEnd(rename) // cited once: last, the latest line, so that evidence is most often in order already
	if len(torn) == 1 && !stillWriting.held && stillWriting.fd >= 0 {
		// A trail without exits cannot say the writer still held the
		// file (its window lasts until its last activity): only its next
		// write to the file proves it (write confirms the finding).
		f.Message = a.tornMessage(e, torn, stillWriting)
		stillWriting.pendingTorn = f
		return
	}
	if a.detailed(f) {
		f.Message = a.tornMessage(e, torn, stillWriting)
	}
	a.emit(f)
}

// tornMessage says what torn rename e did: "pid 7 renamed a over b while
// it was written by 2 writers at once (pids 7, 8): …". It is built in one
// buffer: a trail can tear a rename every few events.
func (a *Analyzer) tornMessage(e *trail.Event, torn []*window, stillWriting *window) string {
	b := appendProc(append(a.msg[:0], "pid "...), e.Host, e.PID)
	b = append(appendRenamedOver(append(b, ' '), e), " while it was "...)
	if stillWriting != nil && len(torn) == 1 {
		b = appendProc(append(b, "still being written by pid "...), stillWriting.open.host, stillWriting.open.pid)
	} else {
		b = append(strconv.AppendInt(append(b, "written by "...), int64(len(torn)), 10), " writers at once (pids "...)
		b = appendProcList(b, torn)
		b = append(b, ')')
		if stillWriting != nil {
			b = append(appendProc(append(b, ", pid "...), stillWriting.open.host, stillWriting.open.pid), " still writing"...)
		}
	}
	a.msg = append(b, ": the target can hold a mix of their data"...)
	return string(a.msg)
}

// checkSync reports renames of unsynced data over an existing file, and
// queues renames that expect a directory fsync.
func (a *Analyzer) checkSync(n *node, e *trail.Event) {
	if n.wrote && !n.synced && a.byPath[e.To] != nil {
		f := a.group(UnsyncedRename, e.To, e.Comm)
		f.addCopy(&n.lastWrite)
		f.add(e)
	}
	if a.opts.Durability || (n.wrote && n.synced) {
		toDir, fromDir := dirOf(e.To), dirOf(e.Path)
		for _, dir := range [2]string{toDir, fromDir} {
			pending := a.dirs[dir]
			if pending == nil {
				pending = map[groupKey]*Finding{}
				a.dirs[dir] = pending
			}
			key := groupKey{UnsyncedDir, e.Comm, toDir}
			f := pending[key]
			if f == nil {
				f = a.newFinding(UnsyncedDir, e.To)
				f.Program = e.Comm
				pending[key] = f
			} else if dir == toDir {
				f.Count++
				f.others = f.others || e.To != f.Path
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
	var room [4]*window // most names have one or two writers
	for _, w := range append(room[:0], ns.active...) {
		w.renamedAwy = w.renamedAwy || lost
		a.endName(w, e)
		if w.fd < 0 {
			a.endFD(w, e)
		}
	}
}

// collision reports the overlapping pairs of writers of one name as a
// temp collision.
func (a *Analyzer) collision(path string, pairs [][2]*window) {
	f := a.newFinding(TempCollision, path)
	f.expect(6 * len(pairs)) // each window's open, first write and end
	citeWindows(f, pairs)
	f.Count = len(pairs)
	if a.detailed(f) {
		a.describeCollision(f, pairs)
	}
	a.emit(f)
}

// describeCollision gives collision f its message and note.
func (a *Analyzer) describeCollision(f *Finding, pairs [][2]*window) {
	var clockPIDs bool
	var openRoom [4]int64
	var wsRoom, truncRoom [4]*window
	opens, ws, trunc := openRoom[:0], wsRoom[:0], truncRoom[:0]
	for _, p := range pairs {
		opens = append(opens, p[0].open.ts.UnixNano(), p[1].open.ts.UnixNano())
		ws = append(ws, p[0], p[1])
		d := p[0].open.ts.Sub(p[1].open.ts).Abs()
		if p[0].open.pid != p[1].open.pid && (d < time.Second || p[0].open.ts.Unix() == p[1].open.ts.Unix()) {
			clockPIDs = true
		}
	}
	for _, w := range ws {
		if w.open.flags&trail.O_TRUNC != 0 {
			trunc = append(trunc, w)
		}
	}
	f.Message = a.collisionMessage(f.Path, ws, trunc)
	f.Note = a.clockNote(f.Path, opens, clockPIDs)
}

// citeWindows adds the open, first write and end of each window of pairs
// to f. When all of them fit in Evidence, which lines are kept does not
// depend on their order, nor does their order once sorted: they are
// added opens first, then first writes, then ends, which is most often
// time order already, and sortEvidence then has nothing to move.
func citeWindows(f *Finding, pairs [][2]*window) {
	if 6*len(pairs) > maxEvidence {
		for _, p := range pairs {
			for _, w := range p {
				f.addMark(&w.open)
				f.addMark(&w.firstWrite)
				f.addEnd(w.nameEnd)
			}
		}
		return
	}
	for _, p := range pairs {
		f.addMark(&p[0].open)
		f.addMark(&p[1].open)
	}
	for _, p := range pairs {
		f.addMark(&p[0].firstWrite)
		f.addMark(&p[1].firstWrite)
	}
	for _, p := range pairs {
		f.addEnd(p[0].nameEnd)
		f.addEnd(p[1].nameEnd)
	}
}

// collisionMessage says who held path at once and what it cost: "/d/x was
// open for writing by 2 writers at once (pids 7, 8): each open truncated
// the file the others were writing". It is built in one buffer, the list
// of processes in another.
func (a *Analyzer) collisionMessage(path string, ws, trunc []*window) string {
	a.msgList = appendProcList(a.msgList[:0], ws)
	b := append(a.msg[:0], path...)
	if n := bytes.Count(a.msgList, []byte(",")) + 1; n > 1 {
		b = append(strconv.AppendInt(append(b, " was open for writing by "...), int64(n), 10), " writers at once (pids "...)
		b = append(append(b, a.msgList...), "): "...)
	} else {
		b = append(append(append(b, " was open for writing twice at once by pid "...), a.msgList...), " (different replaces): "...)
	}
	switch {
	case len(trunc) == len(ws):
		b = append(b, "each open truncated the file the others were writing"...)
	case len(trunc) > 0:
		b = appendProcList(append(b, "the O_TRUNC open of pid "...), trunc)
		b = append(b, " truncated the file the others were writing"...)
	default:
		b = append(b, "their writes went to one file, which was then renamed into place"...)
	}
	a.msg = b
	return string(b)
}

// clockNote says why a colliding name looks clock-derived: it holds a
// reading of the clock at one of the opens (readName: a Unix time in
// seconds to nanoseconds, in decimal or hex, or a date), or it holds some
// other long number and different processes chose it within one second.
// A fixed name ("out.tmp") gets no note.
func (a *Analyzer) clockNote(path string, opens []int64, clockPIDs bool) string {
	base := filepath.Base(path)
	for _, ns := range opens {
		clock, ok := a.lastRead.clockAt(base, ns)
		if !ok {
			a.noteParts = appendParts(a.noteParts[:0], base, "", time.Unix(0, ns), nil, false)
			clock = firstClock(a.noteParts)
		}
		if clock != nil {
			return a.clockText(clock.text, clock.clock.form, unitName(clock.clock.unit))
		}
	}
	if clockPIDs && longestDigits(base) >= 6 {
		return "clock-derived: different processes chose this numbered name within one second; the number looks like a coarse clock reading"
	}
	return ""
}

// clockText is the note of a name holding a clock reading. Collisions on
// one name repeat it until the clock moves on: the last one is reused.
func (a *Analyzer) clockText(text, form, unit string) string {
	b := append(a.msg[:0], "clock-derived: the name holds "...)
	b = append(append(append(append(b, text...), ", "...), form...), " of the opens; processes starting in the same "...)
	a.msg = append(append(b, unit...), " choose the same name"...)
	if string(a.msg) != a.lastNote {
		a.lastNote = string(a.msg)
	}
	return a.lastNote
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

func (a *Analyzer) newFinding(k Kind, path string) *Finding {
	var f *Finding
	if n := len(a.spare); n > 0 {
		f, a.spare = a.spare[n-1], a.spare[:n-1]
		*f = Finding{Kind: k, Severity: k.Severity(), Path: path, Count: 1, Evidence: f.Evidence[:0], cited: f.cited[:0],
			PIDs: f.PIDs[:0], Hosts: f.Hosts[:0]}
	} else {
		f = newFinding(k, path)
	}
	a.seq++
	f.seq = a.seq
	return f
}

// group returns the finding that gathers every occurrence of a warning by
// one program in one directory (for in-place rewrites, of one name
// pattern), counting this one.
func (a *Analyzer) group(k Kind, path, comm string) *Finding {
	key := groupKey{k, comm, dirOf(path)}
	if k == InPlaceRewrite {
		key.name += "/" + NamePattern(path[strings.LastIndexByte(path, '/')+1:])
	}
	if f := a.grouped[key]; f != nil {
		f.Count++
		f.others = f.others || path != f.Path
		return f
	}
	f := a.newFinding(k, path)
	f.Program = comm
	a.grouped[key] = f
	return f
}

// groupMessage writes the message of a grouped warning once its count is
// final.
func groupMessage(f *Finding) {
	switch f.Kind {
	case UnsyncedRename:
		f.Message = fmt.Sprintf("%d renames over %s of a source not fsynced after its last write: a crash can leave the target empty or old (heisen crash shows each state)", f.Count, f.targets())
	case UnsyncedDir:
		f.Message = fmt.Sprintf("%d renames onto %s not followed by an fsync of %s: a crash can undo them (heisen crash shows each state)", f.Count, f.targets(), filepath.Dir(f.Path))
	case InPlaceRewrite:
		f.Message = fmt.Sprintf("%s was opened with O_TRUNC %d times while it held data (a rename target, or written before): readers and crashes can see it empty or half-written", f.targets(), f.Count)
	}
}

// targets names what a gathered warning is about: its first target, and
// "and other files" when it gathers more.
func (f *Finding) targets() string {
	if f.others {
		return f.Path + " and other files in " + filepath.Dir(f.Path)
	}
	return f.Path
}
