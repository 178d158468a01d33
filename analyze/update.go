package analyze

import (
	"fmt"
	"slices"

	"github.com/heisen-dev/heisen/trail"
)

// Unlocked updates: a process reads a file and replaces it with no lock
// held, and another process replaces the same file too. In this run their
// updates may have taken turns; in another, one falls between the read
// and the replace of the other, and is lost (lost-update, when it does).

// updateState is what one target's unlocked updates keep: the first
// unlocked update of each process tree and the latest other replaces,
// both bounded.
type updateState struct {
	updates  []updateUse
	replaces [maxReplaces]updateUse // a ring: the latest plain replaces
	nrep     int                    // replaces seen, the next slot at nrep % maxReplaces
}

// An updateUse is a replace of the target, with the read it completes
// when it is an update.
type updateUse struct {
	read, replace trail.Event
	tree          procKey   // the update's process tree; zero for a plain replace
	actors        []procKey // the writer of the new content and its ancestors
	by            *process  // that writer, or the process of the tree
}

const (
	maxUpdaters = 4
	maxReplaces = 8
)

// predictUpdate judges the replace ch of target (rmwChange, after
// rmwMatch tied it to a read or not).
func (a *Analyzer) predictUpdate(target string, ch *rmwChange) {
	st := &a.predict
	if st.updates == nil || len(st.updates) >= maxPredictNames {
		st.updates = map[string]*updateState{}
	}
	us := st.updates[target]
	if us == nil {
		us = &updateState{}
		st.updates[target] = us
	}
	use := updateUse{replace: ch.ev, actors: ch.actors, by: ch.by}
	if ch.read != nil && ch.tree.call == "" && a.unlocked(target, us, ch, use) {
		return
	}
	for i := range us.updates {
		if rivals(&us.updates[i], &use) {
			a.unlockedUpdate(target, &us.updates[i], &use)
			break
		}
	}
	us.replaces[us.nrep%maxReplaces] = use
	us.nrep++
}

// unlocked judges the update ch (a replace tied to its read): when no lock
// is held, it is kept (the first of its tree) and reported with a rival,
// and unlocked returns true; a locked update is a plain replace. The locks
// are looked at only when there is something to report or keep.
func (a *Analyzer) unlocked(target string, us *updateState, ch *rmwChange, use updateUse) bool {
	use.read, use.tree = ch.read.ev, ch.tree.proc
	for p, d := ch.by, 0; p != nil && d < maxDepth; p, d = p.parent, d+1 {
		if p.key == use.tree {
			use.by = p
			break
		}
	}
	var rival *updateUse
	for _, others := range [][]updateUse{us.updates, us.replaces[:min(us.nrep, maxReplaces)]} {
		for i := range others {
			if rival == nil && rivals(&use, &others[i]) {
				rival = &others[i]
			}
		}
	}
	keep := len(us.updates) < maxUpdaters && !slices.ContainsFunc(us.updates, func(u updateUse) bool { return u.tree == use.tree })
	if rival == nil && !keep && !a.opts.Concurrent {
		return false
	}
	if read := ch.read.ev.TS; holdsLock(ch.by, target, read) || holdsLock(a.procOf(ch.ev.Host, ch.ev.PID), target, read) ||
		a.lockFileReplace(target, ch) {
		return false
	}
	switch {
	case rival != nil:
		a.unlockedUpdate(target, &use, rival)
	case a.opts.Concurrent:
		a.unlockedUpdate(target, &use, nil)
	}
	if keep {
		us.updates = append(us.updates, use)
	}
	return true
}

// rivals reports whether x replaced the target from outside u's update
// (another update's tree, or a process outside u's tree) while the earlier
// of the two still ran. Subshells that update the file one after the
// other, each gone before the next, are one loop.
func rivals(u, x *updateUse) bool {
	earlier := u
	if x.replace.TS.Before(u.replace.TS) {
		earlier = x
	}
	if earlier.by != nil && earlier.by.exited {
		return false
	}
	if x.tree != (procKey{}) {
		return x.tree != u.tree
	}
	return !slices.Contains(x.actors, u.tree)
}

// unlockedUpdate reports u, an update with no lock, and x, a rival
// replace (nil: none in the trail, but Options.Concurrent says copies
// run at once), once per target; later ones count.
func (a *Analyzer) unlockedUpdate(target string, u, x *updateUse) {
	st := &a.predict
	if st.found == nil {
		st.found = map[predictKey]*Finding{}
	}
	key := predictKey{target, string(UnlockedUpdate)}
	if f := st.found[key]; f != nil {
		f.Count++
		return
	}
	if len(st.found) >= maxPredictNames {
		a.flushPredictions()
	}
	f := a.newFinding(UnlockedUpdate, target)
	a.accum[f] = struct{}{}
	st.found[key] = f
	f.add(&u.read)
	f.add(&u.replace)
	f.Program = u.replace.Comm
	if x == nil {
		verb := "rewrote"
		if u.replace.Op == trail.OpRename {
			verb = changeVerb(&u.replace)
		}
		f.Message = fmt.Sprintf("if two copies run at once, one's update is lost: pid %s read %s and %s it with no lock held across, and another copy's replace can fall between",
			proc(u.read.Host, u.read.PID), target, verb)
		return
	}
	f.add(&x.read)
	f.add(&x.replace)
	f.Message = fmt.Sprintf("pid %s read %s and replaced it with no lock held across, and pid %s replaced it too: a replace that falls between another's read and replace is lost",
		proc(u.read.Host, u.read.PID), target, proc(x.replace.Host, x.replace.PID))
}

// lockFileReplace reports whether the replace ch renamed a lock file of
// the lock-file protocol over target, created before the update's read by
// the process that renamed it or an ancestor: git creates index.lock
// with O_EXCL, reads index, writes the new index into index.lock and
// renames it over index. The create took the lock, the rename released
// it, and the read fell between.
func (a *Analyzer) lockFileReplace(target string, ch *rmwChange) bool {
	n := a.byPath[target]
	if ch.ev.Op != trail.OpRename || n == nil || n.made == nil || n.madeBy == nil {
		return false
	}
	m := &n.made.open
	return m.path == ch.ev.Path && !m.ts.After(ch.read.ev.TS) && exclusiveLock(m.flags, m.path, target) &&
		descends(a.procOf(ch.ev.Host, ch.ev.PID), n.madeBy)
}
