package analyze

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/trail"
	"github.com/heisen-dev/heisen/trail/trailtest"
)

// TestGeneratedTrail analyses a generated run: with clock-derived temp
// names some replaces collide and each collision that published a file
// shows as a torn rename; with unique names there is no error at all. The
// analyzer's state must stay bounded by the processes and files alive, not
// grow with the trail.
func TestGeneratedTrail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		clock  int
		races  bool
		events int
	}{{"clock-names", 3, true, 60_000}, {"unique-names", -1, false, 60_000}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			cfg := trailtest.Config{Events: tc.events, Clock: tc.clock, Seed: 7, Workers: 6, Readers: 2, Targets: 3}
			if _, err := trailtest.Generate(&buf, cfg); err != nil {
				t.Fatal(err)
			}
			r := trail.NewReader(&buf, "gen.trail")
			a := New(Options{})
			var e trail.Event
			maxState := 0
			for {
				if err := r.Read(&e); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				a.Add(&e)
				maxState = max(maxState, a.nfds+len(a.procs)+len(a.names)+len(a.byPath)+len(a.byIno)+len(a.rmw))
			}
			// 8 processes (procs) with one descriptor each (fds, names),
			// 3 targets and one temp per worker each known by path and
			// inode, and read-modify-write state per target.
			if limit := 8 + 8 + 8 + 2*(3+6) + 3; maxState > limit {
				t.Errorf("analyzer state reached %d entries, want ≤ %d: it grows with the trail", maxState, limit)
			}
			found := map[Kind]int{}
			for _, f := range a.Finish() {
				found[f.Kind]++
			}
			if s := r.Stats(); s.Malformed != 0 {
				t.Fatalf("generated trail has %d malformed lines", s.Malformed)
			}
			if tc.races {
				if found[TempCollision] == 0 || found[TornRename] == 0 {
					t.Errorf("clock-derived names: findings %v, want temp-collision and torn-rename", found)
				}
			} else {
				for _, k := range Kinds {
					if k.Severity() == Error && found[k] > 0 {
						t.Errorf("unique names: %d %s findings, want none", found[k], k)
					}
				}
			}
			t.Logf("findings: %v", found)
		})
	}
}

// TestEvictBoundsDescriptors feeds opens that are never closed, from ever
// new processes (as when processes exit without close(2)): the descriptor
// table must stay bounded, and the evicted windows still count as writers
// in turn, not at once.
func TestEvictBoundsDescriptors(t *testing.T) {
	defer func(n int) { maxOpen = n }(maxOpen)
	maxOpen = 100
	a := New(Options{})
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range 1000 {
		e := trail.Event{TS: t0.Add(time.Duration(i) * time.Millisecond), PID: 1000 + i, TID: 1000 + i, Op: trail.OpOpen,
			Path: "/e/out.tmp", FD: 3, Flags: trail.O_WRONLY | trail.O_CREAT, Ret: 3, Off: -1, Len: -1, Pos: trail.Pos{File: "e", Line: i + 1}}
		a.Add(&e)
		if a.nfds > maxOpen {
			t.Fatalf("after %d opens the table holds %d windows, want ≤ %d", i+1, a.nfds, maxOpen)
		}
	}
	for _, f := range a.Finish() {
		t.Errorf("finding from processes that each opened once and exited: %s %s", f.Kind, f.Message)
	}
}
