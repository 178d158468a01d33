package htmlreport

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/trail"
	"golang.org/x/tools/txtar"
)

// bashTrail reads the events of testdata/bash-redirect.txtar, recorded
// from two bash writers.
func bashTrail(t *testing.T) []trail.Event {
	t.Helper()
	ar, err := txtar.ParseFile("testdata/bash-redirect.txtar")
	if err != nil || len(ar.Files) != 1 {
		t.Fatalf("testdata/bash-redirect.txtar: %v", err)
	}
	r := trail.NewReader(bytes.NewReader(ar.Files[0].Data), ar.Files[0].Name)
	var evs []trail.Event
	for {
		var e trail.Event
		err := r.Read(&e)
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
}

// at is the time of the event on line n of the trail (1-based).
func at(evs []trail.Event, n int) time.Time { return evs[n-1].TS }

func TestWindowEndFollowsDescriptors(t *testing.T) {
	evs := bashTrail(t)
	if len(evs) != 11 {
		t.Fatalf("%d events in the trail, want 11", len(evs))
	}
	// Lines: 1 open 5025 fd 3, 2 open 5026 fd 3, 3 dup 5026 3→1,
	// 4 close 5026 fd 3, 5 write 5026 fd 1, 6 dup 5026 11→1,
	// 7 dup 5025 3→1, 8 close 5025 fd 3, 9 write 5025 fd 1,
	// 10 dup 5025 11→1, 11 open 5025 fd 3 (>>).
	pick := func(lines ...int) []trail.Event {
		var out []trail.Event
		for _, n := range lines {
			out = append(out, evs[n-1])
		}
		return out
	}
	for _, c := range []struct {
		what   string
		evs    []trail.Event
		open   int // index in evs of the open
		end    time.Time
		closed bool
	}{
		{"whole trail, pid 5026: fd 3 moves to fd 1, which the restore from fd 11 ends", evs, 1, at(evs, 6), true},
		{"whole trail, pid 5025", evs, 0, at(evs, 10), true},
		// The evidence analyze cites: the opens, the writes and the
		// restores, not the dups to fd 1 or the closes of fd 3.
		{"evidence, pid 5026: fd 3's close is not in it", pick(1, 2, 5, 6, 9, 10), 1, at(evs, 6), false},
		{"evidence, pid 5025: the reopen on fd 3 shows fd 3 was closed", pick(1, 2, 5, 6, 9, 10, 11), 0, at(evs, 10), true},
	} {
		end, closed := windowEnd(c.evs, c.open)
		if !end.Equal(c.end) || closed != c.closed {
			t.Errorf("%s: windowEnd = %s, %v; want %s, %v", c.what, end.Format(time.StampNano), closed, c.end.Format(time.StampNano), c.closed)
		}
	}
}

// An open-ended window counts in the overlap to the evidence's end: the
// evidence of a temp-collision cites the second writer's open but not its
// close, and the race lasts from that open to the first writer's close.
func TestOverlapCountsOpenEndedWindow(t *testing.T) {
	evs := bashTrail(t)
	// pid 5025 opens (line 1), pid 5026 opens (2) and writes on fd 1
	// (5); pid 5025 moves fd 3 to fd 1 (7, 8), writes (9) and restores
	// fd 1 (10), which ends its window; pid 5026's has no end in these
	// lines, and its solid part ends at its write.
	tv := timeline("g1", []trail.Event{evs[0], evs[1], evs[4], evs[6], evs[7], evs[8], evs[9]})
	if len(tv.Bars) != 2 || len(tv.Overlaps) != 1 {
		t.Fatalf("%d bars and %d overlaps, want 2 and 1", len(tv.Bars), len(tv.Overlaps))
	}
	a, b, o := tv.Bars[0], tv.Bars[1], tv.Overlaps[0]
	if a.Open || !b.Open || b.TailW <= 0 {
		t.Errorf("bars %+v and %+v: want the first closed and the second open-ended with a faded tail", a, b)
	}
	if o.X != b.X || o.X+o.W != a.X+a.W {
		t.Errorf("overlap from %.1f to %.1f, want from the second open (%.1f) to the first window's end (%.1f)", o.X, o.X+o.W, b.X, a.X+a.W)
	}
}
