package record

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

func TestCoalesce(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	w := func(ms, tid, fd int, off, n int64) trail.Event {
		return trail.Event{TS: t0.Add(time.Duration(ms) * time.Millisecond), PID: 1, TID: tid, Op: trail.OpWrite,
			Path: "/f", FD: fd, Ino: 7, Off: off, Len: n, Ret: n}
	}
	short := w(9, 1, 3, 30, 10)
	short.Ret = 4
	evs := []trail.Event{
		w(1, 1, 3, 0, 10),
		w(2, 2, 3, 0, 5), // another thread: does not break thread 1's run
		w(3, 1, 3, 10, 10),
		w(4, 1, 3, 20, 10),
		{TS: t0.Add(5 * time.Millisecond), PID: 1, TID: 1, Op: trail.OpFsync, Path: "/f", FD: 3, Off: -1, Len: -1},
		w(6, 1, 3, 30, 10), // after the fsync: a new run
		w(7, 1, 4, 40, 10), // another fd
		w(8, 1, 4, 60, 10), // a gap
		short,              // a short write ends a run and is not merged
		w(10, 1, 3, 34, 10),
	}
	got := coalesce(evs, map[int]int{})
	want := []struct {
		tid      int
		op       trail.Op
		off, len int64
		ms       int
	}{
		{1, trail.OpWrite, 0, 30, 4},
		{2, trail.OpWrite, 0, 5, 2},
		{1, trail.OpFsync, -1, -1, 5},
		{1, trail.OpWrite, 30, 10, 6},
		{1, trail.OpWrite, 40, 10, 7},
		{1, trail.OpWrite, 60, 10, 8},
		{1, trail.OpWrite, 30, 10, 9},
		{1, trail.OpWrite, 34, 10, 10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(got), len(want), got)
	}
	for i, g := range got {
		wt := want[i]
		if g.TID != wt.tid || g.Op != wt.op || g.Off != wt.off || g.Len != wt.len || !g.TS.Equal(t0.Add(time.Duration(wt.ms)*time.Millisecond)) {
			t.Errorf("event %d: tid %d %v off %d len %d at +%v, want %+v", i, g.TID, g.Op, g.Off, g.Len, g.TS.Sub(t0), wt)
		}
		if g.Op == trail.OpWrite && g.Ret != g.Len && g.Ret != 4 {
			t.Errorf("event %d: ret %d, len %d", i, g.Ret, g.Len)
		}
	}
}

// Contiguous reads merge as writes do, a read never with a write, and a
// write made by another call (copy_file_range) never with a plain one.
func TestCoalesceReadsAndSys(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	ev := func(ms int, op trail.Op, sys string, off, n int64) trail.Event {
		return trail.Event{TS: t0.Add(time.Duration(ms) * time.Millisecond), PID: 1, TID: 1, Op: op, Sys: sys,
			Path: "/f", FD: 3, Ino: 7, Off: off, Len: n, Ret: n}
	}
	got := coalesce([]trail.Event{
		ev(1, trail.OpRead, "", 0, 10),
		ev(2, trail.OpRead, "", 10, 10),
		ev(3, trail.OpRead, "", 20, 0), // end of file
		ev(4, trail.OpWrite, "", 20, 5),
		ev(5, trail.OpWrite, "copy_file_range", 25, 5),
		ev(6, trail.OpWrite, "copy_file_range", 30, 5),
	}, map[int]int{})
	var desc []string
	for _, e := range got {
		desc = append(desc, fmt.Sprint(e.Op, e.Sys, " ", e.Off, "+", e.Len))
	}
	want := []string{"read 0+20", "write 20+5", "writecopy_file_range 25+10"}
	if !slices.Equal(desc, want) {
		t.Errorf("coalesced to %q, want %q", desc, want)
	}
}
