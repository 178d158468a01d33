package analyze

import (
	"fmt"
	"slices"

	"github.com/heisen-dev/heisen/trail"
)

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
