package record

import (
	"testing"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// TestPlaceRenames places renames and unlinks on the events that show
// them done, and only those.
func TestPlaceRenames(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	ev := func(us, tid int, op trail.Op, path string, ino uint64) trail.Event {
		return trail.Event{TS: at(us), PID: tid, TID: tid, Op: op, Path: path, FD: 3, Dev: 1, Ino: ino, Off: -1, Len: -1}
	}
	call := func(e trail.Event, to string, calledUS int) trail.Event {
		e.FD, e.Dev, e.Ino, e.To = trail.NoFD, 0, 0, to
		e.Called, e.Returned = at(calledUS), e.TS
		return e
	}
	rename := func(us, calledUS int) trail.Event {
		return call(ev(us, 9, trail.OpRename, "/d/tmp", 0), "/d/target", calledUS)
	}
	for _, c := range []struct {
		name   string
		events []trail.Event
		want   time.Time // the placed event's time; zero: it stays at its return
	}{
		{"a write under the new name of the inode the source held", []trail.Event{
			ev(10, 1, trail.OpOpen, "/d/tmp", 5), ev(20, 1, trail.OpWrite, "/d/tmp", 5),
			ev(40, 1, trail.OpWrite, "/d/target", 5), rename(60, 30)}, at(40).Add(-time.Nanosecond)},
		{"an open of the source name finding another inode", []trail.Event{
			ev(10, 1, trail.OpOpen, "/d/tmp", 5), ev(45, 2, trail.OpOpen, "/d/tmp", 6), rename(60, 30)},
			at(45).Add(-time.Nanosecond)},
		{"an unlink, then a new file under its name", []trail.Event{
			ev(10, 1, trail.OpOpen, "/d/tmp", 5), ev(45, 2, trail.OpOpen, "/d/tmp", 6),
			call(ev(60, 9, trail.OpUnlink, "/d/tmp", 0), "", 30)}, at(45).Add(-time.Nanosecond)},
		{"nothing shows it", []trail.Event{
			ev(10, 1, trail.OpOpen, "/d/tmp", 5), ev(40, 1, trail.OpWrite, "/d/tmp", 5), rename(60, 30)}, time.Time{}},
		{"the write came before the call", []trail.Event{
			ev(10, 1, trail.OpOpen, "/d/tmp", 5), ev(20, 1, trail.OpWrite, "/d/target", 5), rename(60, 30)}, time.Time{}},
		{"the renaming thread's own event", []trail.Event{
			ev(10, 1, trail.OpOpen, "/d/tmp", 5), ev(40, 9, trail.OpWrite, "/d/target", 5), rename(60, 30)}, time.Time{}},
		{"the inode the source held is not known", []trail.Event{
			ev(40, 1, trail.OpWrite, "/d/target", 5), rename(60, 30)}, time.Time{}},
		{"another rename gave the source name its file", []trail.Event{
			ev(10, 1, trail.OpOpen, "/d/tmp", 5), call(ev(15, 3, trail.OpRename, "/d/x", 0), "/d/tmp", 14),
			ev(40, 1, trail.OpWrite, "/d/target", 5), rename(60, 30)}, time.Time{}},
		{"written before the floor", []trail.Event{
			ev(10, 1, trail.OpOpen, "/d/tmp", 5), ev(35, 1, trail.OpWrite, "/d/target", 5), rename(60, 30)}, time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := c.events
			r := len(evs) - 1
			returned := evs[r].Returned
			placeRenames(evs, at(36), &history{})
			placed := -1
			for i := range evs {
				if !evs[i].Called.IsZero() && evs[i].Returned.Equal(returned) {
					placed = i
				}
			}
			want := c.want
			if want.IsZero() {
				want = returned
			}
			if got := evs[placed].TS; !got.Equal(want) {
				t.Errorf("placed at %v, want %v", got.Sub(t0), want.Sub(t0))
			}
			if !c.want.IsZero() && placed != r-1 {
				t.Errorf("at index %d after sorting, want %d (just before the event that saw it)", placed, r-1)
			}
		})
	}
}

// The history of written events answers for the inode a source name
// held when the held events do not.
func TestPlaceRenameLooksInHistory(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var h history
	old := trail.Event{TS: t0, PID: 1, TID: 1, Op: trail.OpOpen, Path: "/d/tmp", FD: 3, Dev: 1, Ino: 5}
	h.add([]trail.Event{old})
	for i := range 2000 { // more than it keeps: the last ones stay
		h.add([]trail.Event{{TS: t0, PID: 2, TID: 2, Op: trail.OpWrite, Path: "/d/other", Ino: uint64(100 + i)}})
	}
	h.add([]trail.Event{old})
	w := trail.Event{TS: t0.Add(40 * time.Microsecond), PID: 1, TID: 1, Op: trail.OpWrite, Path: "/d/target", FD: 3, Dev: 1, Ino: 5}
	rn := trail.Event{TS: t0.Add(60 * time.Microsecond), PID: 9, TID: 9, Op: trail.OpRename, Path: "/d/tmp", To: "/d/target",
		FD: trail.NoFD, Called: t0.Add(30 * time.Microsecond), Returned: t0.Add(60 * time.Microsecond)}
	evs := []trail.Event{w, rn}
	placeRenames(evs, t0, &h)
	if evs[0].Op != trail.OpRename || !evs[0].TS.Before(w.TS) {
		t.Errorf("the rename is not placed before the write: %+v", evs)
	}
}
