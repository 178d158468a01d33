package analyze

import (
	"fmt"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

func TestNamePattern(t *testing.T) {
	for in, want := range map[string]string{
		"out.1764072000.tmp": "out.#.tmp",
		"counter.29990":      "counter.#",
		"out.D0vCvl":         "out.*",
		"out.cavROS":         "out.*",
		"sedAb1C2d":          "*",
		"config.json":        "config.json",
		"Makefile":           "Makefile",
		"part-00012_v2.dat":  "part-#_v#.dat",
		"out~1a2b3c":         "out~*",
		"log@12+3":           "log@#+#",
		"tmp123.x":           "*.x",
		"caf\xc3\xa9.42":     "caf\xc3\xa9.#",
		"":                   "",
	} {
		if got := NamePattern(in); got != want {
			t.Errorf("NamePattern(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWarningsGather renames 10,000 distinct fsynced files into one
// directory without a directory fsync: one program, one directory, so one
// unsynced-dir finding counting them all, and the analyzer holds one
// pending finding, not one per file. With OnFinding the report keeps no
// finding, only its group.
func TestWarningsGather(t *testing.T) {
	var handed []*Finding
	a := New(Options{OnFinding: func(f *Finding) { handed = append(handed, f) }})
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	line := 0
	add := func(e trail.Event) {
		line++
		e.TS, e.Pos, e.TID, e.Comm = t0.Add(time.Duration(line)*time.Microsecond), trail.Pos{File: "t", Line: line}, e.PID, "saver"
		if e.Off == 0 && e.Len == 0 {
			e.Off, e.Len = -1, -1
		}
		a.Add(&e)
	}
	const files = 10_000
	for i := range files {
		tmp, dst := fmt.Sprintf("/d/f%d.tmp", i), fmt.Sprintf("/d/f%d", i)
		add(trail.Event{PID: 7, Op: trail.OpOpen, Path: tmp, FD: 3, Flags: trail.O_WRONLY | trail.O_CREAT | trail.O_EXCL, Ret: 3})
		add(trail.Event{PID: 7, Op: trail.OpWrite, FD: 3, Off: 0, Len: 10, Ret: 10})
		add(trail.Event{PID: 7, Op: trail.OpFdatasync, FD: 3})
		add(trail.Event{PID: 7, Op: trail.OpClose, FD: 3})
		add(trail.Event{PID: 7, Op: trail.OpRename, Path: tmp, To: dst, FD: trail.NoFD})
		if n := len(a.dirs["/d"]); n != 1 {
			t.Fatalf("after %d renames %d unsynced-dir findings wait for /d, want 1", i+1, n)
		}
	}
	if out := a.Finish(); len(out) != 0 {
		t.Errorf("Finish returned %d findings with OnFinding set, want none", len(out))
	}
	if len(handed) != 1 || handed[0].Kind != UnsyncedDir || handed[0].Count != files || handed[0].Program != "saver" {
		t.Fatalf("handed %d findings, want one unsynced-dir by saver counting %d: %+v", len(handed), files, handed)
	}
	gs := a.Groups()
	if len(gs) != 1 || gs[0].ID() != "unsynced-dir saver /d/*" || gs[0].Count != files || len(gs[0].Examples) != 1 {
		t.Errorf("groups %+v, want one: unsynced-dir saver /d/* counting %d", gs, files)
	}
}
