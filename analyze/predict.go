package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// Predictions: races a trail shows could happen, though they did not in
// this run. A temp file created without O_EXCL and renamed over its
// target collides when two writers compute its name at once; whether they
// can is in the name (readName). One writer's trail is enough to see it.

// predictState is what predictions keep between renames, bounded: the
// last writer of each predictable temp name, and the last number each
// writer put in each name pattern (to recognise counters).
type predictState struct {
	users    map[string]*nameUse
	counters map[counterKey]uint64
	found    map[predictKey]*Finding // predictions gathering occurrences
	races    map[string]bool         // paths of races the trail shows: targets and temp names
	updates  map[string]*updateState // unlocked updates, by target
	lost     map[string]bool         // targets of lost updates the trail shows
	moved    map[string]bool         // names renamed away (Options.Concurrent): temps, not shared files
	parts    []namePart              // scratch for the name being read
	pids     []int                   // scratch for the pids it may hold
}

// maxPredictNames bounds the names and patterns remembered; past it they
// are forgotten and learnt again.
const maxPredictNames = 4096

// A nameUse is one replace through a predictable temp name.
type nameUse struct {
	writer *process
	open   mark // the open that created the temp
	rename trail.Event
}

type counterKey struct {
	writer  procKey
	pattern string
}

type predictKey struct {
	target, cause string
}

// A prediction is why a temp name collides. Its texts are written only
// for a new finding (collide and note): a writer renames through the same
// name pattern over and over.
type prediction struct {
	cause string    // "clock-derived", "pid-derived", "counter-derived", "fixed"
	name  string    // the name read
	clock *namePart // the parts the cause rests on, when they are in it
	pid   *namePart
	num   *namePart
}

// predictTemp judges the rename e of n's file: a predictable-temp finding
// when the file was created for writing under e's source name (trails
// that log no writes, as the story's log line, still show the open) and
// its name comes only from what concurrent writers share. O_EXCL guards
// the name only when the process that created the file renames it (or a
// child of it does): a taken name fails its create and it renames
// nothing. Created with O_EXCL by one program and renamed by another (a
// shell's cp then mv), a second writer's failed create does not stop its
// rename, which moves the first writer's file, and a copy program that
// finds its destination taken opens it without O_EXCL (GNU cp does).
// A writer is the process a replace belongs to (commonAncestor); when a
// second writer uses a name while the first that used it still runs (a
// near-miss: they could as well have used it at once), the finding is an
// error. A writer that exited (a subshell per iteration of one loop) is
// no longer a rival.
func (a *Analyzer) predictTemp(n *node, e *trail.Event) {
	if n.made == nil || n.madeBy == nil {
		return
	}
	made := &n.made.open
	if made.path != e.Path || made.flags&trail.O_CREAT == 0 || !made.flags.Writes() || e.To == "" || e.Path == e.To {
		return
	}
	renamer := a.procOf(e.Host, e.PID)
	excl := made.flags&trail.O_EXCL != 0
	if excl && descends(renamer, n.madeBy) {
		return
	}
	st := &a.predict
	name, target := relNames(e.Path, e.To)
	st.pids = append(appendChain(appendChain(st.pids[:0], n.madeBy), renamer), int(made.tid), e.TID)
	st.parts = appendParts(st.parts[:0], name, target, made.ts, st.pids, true)
	a.lastRead = readOf(st.parts, name, made.ts)
	writer := commonAncestor(n.madeBy, renamer)
	p, ok := a.judgeName(st.parts, name, writer.key)
	if !ok || n.locked || holdsLock(n.madeBy, e.To, made.ts) || holdsLock(renamer, e.To, made.ts) {
		return // unpredictable, or a lock may serialize the writers (mandb locks its temp itself)
	}
	if st.found == nil {
		st.found = map[predictKey]*Finding{}
	}
	if st.users == nil {
		st.users = map[string]*nameUse{}
	}
	key := predictKey{e.To, p.cause}
	f := st.found[key]
	if f == nil {
		if len(st.found) >= maxPredictNames {
			a.flushPredictions()
		}
		f = a.newFinding(PredictableTemp, e.To)
		a.accum[f] = struct{}{}
		st.found[key] = f
		f.addMark(made)
		f.add(e)
		f.Note = p.note()
		f.Message = fmt.Sprintf("pid %s created %s %s %s; the name is %s: %s choose it, %s",
			creator(made, excl), e.Path, createdHow(e, excl), e.To, p.cause, p.collide(), outcome(excl))
	} else {
		f.Count++
	}
	if prev := st.users[e.Path]; prev != nil && prev.writer.key != writer.key && !prev.writer.exited && f.Severity != Error {
		f.Severity, f.Note = Error, p.note()
		f.cited, f.Omitted, f.PIDs, f.Start, f.End = f.cited[:0], 0, f.PIDs[:0], time.Time{}, time.Time{}
		f.addCopy(&prev.open)
		f.add(&prev.rename)
		f.addMark(made)
		f.add(e)
		f.Message = fmt.Sprintf("pids %s and %s both created %s %s %s, at different times; the name is %s: %s choose it, %s",
			proc(prev.open.host, prev.open.pid), creator(made, excl), e.Path, createdHow(e, excl), e.To, p.cause, p.collide(), outcome(excl))
	}
	st.use(e.Path, writer, made, e)
}

// use records the replace through temp name path by writer: made is the
// open that created it, e the rename. A name used again reuses its record:
// a writer renames through one name over and over.
func (st *predictState) use(path string, writer *process, made *mark, e *trail.Event) {
	if len(st.users) >= maxPredictNames {
		clear(st.users)
	}
	u := st.users[path]
	if u == nil {
		u = &nameUse{}
		st.users[path] = u
	}
	u.writer, u.open, u.rename = writer, *made, *e
}

// createdHow says how the temp was created and renamed: "without O_EXCL
// and renamed it over", or "with O_EXCL, and pid 12 (mv) renamed it
// over"; a swap (RENAME_EXCHANGE) "swapped it with".
func createdHow(e *trail.Event, excl bool) string {
	verb := "renamed it over"
	if exchange(e) {
		verb = "swapped it with"
	}
	if !excl {
		return "without O_EXCL and " + verb
	}
	return fmt.Sprintf("with O_EXCL, and pid %s (%s) %s", proc(e.Host, e.PID), e.Comm, verb)
}

// creator names the process that created the temp, with its program when
// another renamed it.
func creator(made *mark, excl bool) string {
	if !excl || made.comm == "" {
		return proc(made.host, made.pid)
	}
	return proc(made.host, made.pid) + " (" + made.comm + ")"
}

// outcome says what a collision on the name does.
func outcome(excl bool) string {
	if !excl {
		return "and write into one file"
	}
	return "and O_EXCL guards only the create: the second writer's create fails or opens the file anyway, and its rename moves the first writer's file, finished or not"
}

// descends reports whether p is anc or a descendant of it.
func descends(p, anc *process) bool {
	for d := 0; p != nil && d < maxDepth; p, d = p.parent, d+1 {
		if p.key == anc.key {
			return true
		}
	}
	return false
}

// sawRace notes the paths of an emitted race finding: a prediction for
// a race the trail shows happening is dropped at the end (settle).
func (st *predictState) sawRace(f *Finding) {
	switch f.Kind {
	case TornRename, SharedInodeWrite, WriteAfterRename, TempCollision:
	case LostUpdate:
		if st.lost == nil || len(st.lost) >= maxPredictNames {
			st.lost = map[string]bool{}
		}
		st.lost[f.Path] = true
		return
	default:
		return
	}
	if st.races == nil || len(st.races) >= maxPredictNames {
		st.races = map[string]bool{}
	}
	st.races[f.Path] = true
}

// movedAway notes a name renamed away: a file whose name a program moves
// on is its temp, and reading it back before rewriting it (cmp in
// move-if-change) updates nothing its copies share.
func (st *predictState) movedAway(path string) {
	if st.moved == nil || len(st.moved) >= maxPredictNames {
		st.moved = map[string]bool{}
	}
	st.moved[path] = true
}

// dropped reports whether the prediction f is superseded by what the
// trail shows: the race happening, or its target being a temp.
func (st *predictState) dropped(f *Finding) bool {
	return f.Kind == PredictableTemp && st.races[f.Path] || f.Kind == UnlockedUpdate && (st.lost[f.Path] || st.moved[f.Path])
}

// settlePredictions drops the predictions of races the trail shows
// happening: a torn rename over the target, or a collision on one of its
// temp names, says more, and its note names the clock; and those of
// updates of temps (dropped). The rest stay to be emitted with the other
// gathered findings.
func (a *Analyzer) settlePredictions() {
	st := &a.predict
	for temp, u := range st.users {
		if st.races[temp] {
			st.races[u.rename.To] = true
		}
	}
	for _, f := range st.found {
		if st.dropped(f) {
			delete(a.accum, f)
		}
	}
	st.found = nil
}

// flushPredictions emits the predictions gathered so far, when there are
// too many to keep.
func (a *Analyzer) flushPredictions() {
	fs := make([]*Finding, 0, len(a.predict.found))
	for _, f := range a.predict.found {
		fs = append(fs, f)
	}
	slices.SortFunc(fs, func(x, y *Finding) int { return cmp.Compare(x.seq, y.seq) })
	for _, f := range fs {
		if a.predict.dropped(f) {
			delete(a.accum, f)
		} else {
			a.emit(f)
		}
	}
	clear(a.predict.found)
}

// judgeName says why a name read into parts collides, or false when it has
// an unpredictable part or is unique per process and call (a pid and a
// counter). A number of unknown origin is a counter when the same writer
// put the number one less in the same pattern last time.
func (a *Analyzer) judgeName(parts []namePart, name string, writer procKey) (prediction, bool) {
	var clock, pid, num *namePart
	for i := range parts {
		switch p := &parts[i]; {
		case p.kind == partClock && clock == nil:
			clock = p
		case p.kind == partPID:
			pid = p
		case p.kind == partUnknown && p.num && num == nil && p.value < 1e6:
			num = p
		case p.kind == partUnknown:
			return prediction{}, false
		}
	}
	if num != nil {
		if pid != nil || !a.counted(writer, name, num) {
			return prediction{}, false
		}
		num.kind = partCounter
	}
	switch {
	case clock != nil:
		return prediction{cause: "clock-derived", name: name, clock: clock, pid: pid}, true
	case pid != nil:
		return prediction{cause: "pid-derived", name: name, pid: pid}, true
	case num != nil:
		return prediction{cause: "counter-derived", name: name, num: num}, true
	}
	return prediction{cause: "fixed", name: name}, true
}

// collide says who chooses the same name: "two writers starting within
// the same second".
func (p *prediction) collide() string {
	switch p.cause {
	case "clock-derived":
		unit := unitName(p.clock.clock.unit)
		if p.pid != nil {
			return "two threads of one process (or processes in different pid namespaces) starting within the same " + unit
		}
		return "two writers starting within the same " + unit
	case "pid-derived":
		return "two threads of one process, or processes in different pid namespaces,"
	case "counter-derived":
		return "two processes at the same count"
	}
	return "any two writers at once"
}

// note says which digits the cause rests on and what they match.
func (p *prediction) note() string {
	switch p.cause {
	case "clock-derived":
		return clockDigits(p.clock, p.pid)
	case "pid-derived":
		return fmt.Sprintf("pid-derived: %s is the pid of the process that made the file; pids are unique only among the live processes of one pid namespace", p.pid.text)
	case "counter-derived":
		return fmt.Sprintf("counter-derived: %s follows %d in the previous name this writer chose; a counter starts again in every process", p.num.text, p.num.value-1)
	}
	return fmt.Sprintf("fixed: %q is made of the target's name and temp words only", p.name)
}

// counted remembers num as the writer's last number in name's pattern
// (NamePattern) and reports whether it follows the previous one.
func (a *Analyzer) counted(writer procKey, name string, num *namePart) bool {
	st := &a.predict
	if st.counters == nil {
		st.counters = map[counterKey]uint64{}
	}
	key := counterKey{writer, NamePattern(name)}
	last, ok := st.counters[key]
	if len(st.counters) >= maxPredictNames {
		clear(st.counters)
	}
	st.counters[key] = num.value
	return ok && num.value == last+1
}

// clockDigits notes what the clock part of a name reads, and its pid part.
func clockDigits(clock, pid *namePart) string {
	note := fmt.Sprintf("clock-derived: %s is %s at the open (%s UTC)", clock.text, clock.clock.form,
		clock.clock.at.UTC().Format("2006-01-02 15:04:05.999999999"))
	if clock.clock.unit < time.Microsecond {
		note += "; nanosecond clocks are coarse on some systems (a microsecond or more per tick), so writers need not start in the same nanosecond"
	}
	if z := trailingZeros(clock.text); clock.clock.unit < time.Second && z >= 3 {
		note += fmt.Sprintf("; its last %d digits are 0: the clock that made it ticks more coarsely than its unit", z)
	}
	if pid != nil {
		note += fmt.Sprintf(", and %s is the pid of the process that made the file", pid.text)
	}
	return note
}

func trailingZeros(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '0'; i-- {
		n++
	}
	return n
}

// unitName names a clock resolution: "second", "millisecond", "day".
func unitName(d time.Duration) string {
	switch d {
	case 24 * time.Hour:
		return "day"
	case time.Minute:
		return "minute"
	case time.Second:
		return "second"
	case time.Millisecond:
		return "millisecond"
	case time.Microsecond:
		return "microsecond"
	case time.Nanosecond:
		return "nanosecond"
	}
	return d.String()
}

// relNames returns the temp's and the target's paths relative to the
// directory they share: base names when both are in one directory.
func relNames(temp, target string) (string, string) {
	i := 0
	for i < len(temp) && i < len(target) && temp[i] == target[i] {
		i++
	}
	i = strings.LastIndexByte(temp[:i], '/') + 1
	return temp[i:], target[i:]
}

// holdsLock reports whether p holds a lock that serializes the writers
// of target: a descriptor through which the trail shows a lock taken (a
// shell's "( flock 9; …; mv ) 9>lock" passes it to every child), or one on
// a lock file of the lock-file protocol (exclusiveLock) created no later
// than since (the read or the create it must guard). A name alone is no
// lock: Cargo.lock and yarn.lock are data, and "exec 9>x.lock" without
// flock locks nothing.
func holdsLock(p *process, target string, since time.Time) bool {
	n := 0
	for _, ent := range p.tab.all() {
		w := ent.w
		if !w.ended && (w.locked || !w.open.ts.After(since) && exclusiveLock(w.open.flags, w.path, target)) {
			return true
		}
		if n++; n == 256 {
			break // a server's table: not worth the scan
		}
	}
	return false
}

// exclusiveLock reports whether a file opened with flags under path is a
// lock on target by the lock-file protocol: created with O_CREAT|O_EXCL,
// so another writer's create fails while it exists, under a name every
// writer computes alike: made of target's words and temp words
// ("target.lock", git's "index.lock", "config.tmp": lockFileName), or
// named a lock ("app.lock", "LOCK": isLockName). mkstemp's names are
// exclusive but no lock: nobody else creates them.
func exclusiveLock(flags trail.OpenFlags, path, target string) bool {
	return flags&(trail.O_CREAT|trail.O_EXCL) == trail.O_CREAT|trail.O_EXCL && (isLockName(path) || lockFileName(path, target))
}

// isLockName reports whether path's base name says it is a lock file.
func isLockName(path string) bool {
	base := path[strings.LastIndexByte(path, '/')+1:]
	return strings.HasSuffix(base, ".lock") || strings.HasSuffix(base, ".lck") || base == "lock" || base == "LOCK"
}

// appendChain appends the pids of p and its ancestors: a name holds the
// pid of the process that computed it, which may be the parent of the one
// that opened the file (a shell's $$ in a child).
func appendChain(pids []int, p *process) []int {
	for d := 0; p != nil && d < maxDepth; p, d = p.parent, d+1 {
		pids = append(pids, p.pid)
	}
	return pids
}

// commonAncestor returns the nearest process that is x or an ancestor of
// it and y or an ancestor of y: the writer a replace belongs to (a shell
// loop whose children write the temp and rename it), or x when the trail
// does not relate them.
func commonAncestor(x, y *process) *process {
	for q, d := y, 0; q != nil && d < maxDepth; q, d = q.parent, d+1 {
		for p, e := x, 0; p != nil && e < maxDepth; p, e = p.parent, e+1 {
			if p.key == q.key {
				return p
			}
		}
	}
	return x
}
