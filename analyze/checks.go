package analyze

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

type groupKey struct {
	kind Kind
	path string
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
	n.wrote, n.lastWrite = true, markOf(e)
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
