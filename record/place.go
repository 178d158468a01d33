package record

import (
	"slices"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// placeWindow bounds how far before its return a rename is placed: the
// eBPF reader holds events for one poll period (20 ms), so the events it
// is placed among are still held.
const placeWindow = 20 * time.Millisecond

// placeScan bounds the events looked at before an event for the inode a
// rename's source name held.
const placeScan = 4096

// history keeps the last events written, in which placeRename looks for
// the inode a rename's source name held when the events still held do
// not say.
type history struct {
	ev   []trail.Event // a ring of historySize
	next int
	n    int
}

const historySize = 1024

// add keeps the events of es (sorted by time), the last ones when they
// are more than the history holds.
func (h *history) add(es []trail.Event) {
	if h.ev == nil {
		h.ev = make([]trail.Event, historySize)
	}
	for _, e := range es[max(0, len(es)-historySize):] {
		h.ev[h.next] = e
		h.next = (h.next + 1) % historySize
		h.n = min(h.n+1, historySize)
	}
}

// back returns the event written i events before the last (0: the last).
func (h *history) back(i int) *trail.Event {
	return &h.ev[(h.next-1-i+2*historySize)%historySize]
}

// placeRenames places each successful rename and unlink of events
// (sorted by time) whose call times are known and which is still stamped
// at its return, no earlier than floor, then sorts events again if one
// moved. h holds what was written before events.
func placeRenames(events []trail.Event, floor time.Time, h *history) {
	moved := false
	for i := range events {
		e := &events[i]
		if (e.Op == trail.OpRename || e.Op == trail.OpUnlink) && e.Err == "" && !e.Called.IsZero() && e.TS.Equal(e.Returned) {
			moved = placeRename(events, i, floor, h) || moved
		}
	}
	if moved {
		slices.SortStableFunc(events, func(a, b trail.Event) int { return a.TS.Compare(b.TS) })
	}
}

// placeRename moves rename (or unlink) events[r] (events sorted by time)
// to just before the first event of another thread, made while the
// call was running, that shows it done: an event whose file is, under
// the rename's destination, the inode its source name held, or an open of
// its source name that found another inode there. A rename takes effect
// between its call's entry and its return, and its return can be held up
// long after (freeing the file it replaced; an unlink, the file it
// removed): stamped at the return, it would follow the writes of a
// process that already saw the file under its new name, or the create of
// a new file under the name it removed. It reports whether it moved it.
func placeRename(events []trail.Event, r int, floor time.Time, h *history) bool {
	rn := &events[r]
	lo := rn.Called
	if w := rn.TS.Add(-placeWindow); lo.Before(w) {
		lo = w
	}
	if lo.Before(floor) {
		lo = floor
	}
	j, _ := slices.BinarySearchFunc(events[:r], lo, func(e trail.Event, t time.Time) int {
		if e.TS.After(t) {
			return 1
		}
		return -1
	})
	for ; j < r; j++ {
		e := &events[j]
		if e.TID == rn.TID || e.Ino == 0 || e.Err != "" || e.Path == "" || (e.Path != rn.To && e.Path != rn.Path) ||
			changesNames(e.Op) {
			continue
		}
		dev, ino, ok := inodeAt(events, j, rn.Path, h)
		if !ok {
			continue
		}
		same := e.Dev == dev && e.Ino == ino
		if e.Path == rn.To && same || e.Path == rn.Path && e.Op == trail.OpOpen && !same {
			rn.TS = e.TS.Add(-time.Nanosecond)
			return true
		}
	}
	return false
}

// inodeAt returns the inode that name held at the last event before
// events[j] (then in h) that tells: one with that path and an inode. An
// event that gave the name to another file or took it away (a rename,
// link or unlink) leaves it unknown.
func inodeAt(events []trail.Event, j int, name string, h *history) (dev, ino uint64, ok bool) {
	for k := j - 1; k >= j-placeScan; k-- {
		var e *trail.Event
		switch {
		case k >= 0:
			e = &events[k]
		case -k-1 < h.n:
			e = h.back(-k - 1)
		default:
			return 0, 0, false
		}
		if e.Err != "" {
			continue
		}
		if changesNames(e.Op) {
			if e.Path == name || e.To == name {
				return 0, 0, false
			}
			continue
		}
		if e.Path == name && e.Ino != 0 {
			return e.Dev, e.Ino, true
		}
	}
	return 0, 0, false
}

func changesNames(op trail.Op) bool {
	return op == trail.OpRename || op == trail.OpLink || op == trail.OpUnlink
}
