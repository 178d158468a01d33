package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	a, b := payload(iter{1, 7}), payload(iter{2, 9})
	mixed := append(append([]byte{}, a[:len(a)/2]...), b[len(b)/2:]...)
	holes := append(make([]byte, 46), a[46:]...)
	for _, c := range []struct {
		name  string
		data  []byte
		whole bool
		from  []iter
	}{
		{"whole", a, true, []iter{{1, 7}}},
		{"empty", nil, false, nil},
		{"cut short", a[:100], false, []iter{{1, 7}}},
		{"mixed", mixed, false, []iter{{1, 7}, {2, 9}}},
		{"hole", holes, false, []iter{{1, 7}}},
		{"twice", append(append([]byte{}, a...), a...), false, []iter{{1, 7}}},
	} {
		whole, from := check(c.data)
		if whole != c.whole || !equalIters(from, c.from) {
			t.Errorf("%s: check = %v %v, want %v %v", c.name, whole, from, c.whole, c.from)
		}
	}
}

func equalIters(a, b []iter) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestShellAndPythonPayloads runs one iteration of loop.sh's printf
// filler and of loops.py's write, and checks that they wrote exactly what
// the reader takes as whole, and logged what score reads.
func TestShellAndPythonPayloads(t *testing.T) {
	for _, argv := range [][]string{
		{"sh", "loop.sh", "story", "printf", "mktemp", "3"},
		{"python3", "loops.py", "story", "write", "unique", "3"},
	} {
		if _, err := exec.LookPath(argv[0]); err != nil {
			t.Fatalf("%s is needed: %v", argv[0], err)
		}
		dir := t.TempDir()
		target := filepath.Join(dir, "target")
		// "2": the loop runs to the end of the next second of the clock.
		cmd := exec.Command(argv[0], append(argv[1:], target, dir, "2", filepath.Join(dir, "meta.3"))...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
		data, err := os.ReadFile(target)
		if err != nil {
			t.Fatal(err)
		}
		if whole, from := check(data); !whole || from[0].Loop != 3 {
			t.Errorf("%v wrote a version check does not take as whole from loop 3: %q", argv, data[:min(len(data), 100)])
		}
		meta, err := readMeta(dir)
		if err != nil || len(meta) == 0 || meta[iter{3, 1}].PID == 0 {
			t.Errorf("%v: meta %v, %v", argv, meta, err)
		}
	}
}

func TestExplains(t *testing.T) {
	t0 := time.Unix(1764072000, 0)
	meta := map[iter]started{
		{1, 1}: {PID: 10, Start: t0, Temp: "/d/t.1.tmp"},
		{2, 1}: {PID: 20, Start: t0, Temp: "/d/t.1.tmp"},
	}
	ev := func(pid int, path string, at time.Duration) event {
		return event{TS: t0.Add(at), PID: pid, Path: path, Ino: 5}
	}
	race := &finding{Severity: "error", PIDs: []int{10, 20},
		events: []event{ev(10, "/d/t.1.tmp", time.Millisecond), ev(20, "/d/t.1.tmp", 2*time.Millisecond)}}
	read := t0.Add(10 * time.Millisecond).UnixNano()
	mixed := version{Ino: 5, First: read, Last: read, Reads: 1, From: []iter{{1, 1}, {2, 1}}}
	if !explains(race, mixed, meta, "/d/t") {
		t.Error("a finding citing both writers on their temp does not explain their mix")
	}
	late := &finding{Severity: "error", PIDs: []int{10, 20},
		events: []event{ev(10, "/d/t.1.tmp", 20*time.Millisecond), ev(20, "/d/t.1.tmp", 30*time.Millisecond)}}
	if explains(late, mixed, meta, "/d/t") {
		t.Error("a finding citing events after the read explains it")
	}
	one := &finding{Severity: "error", PIDs: []int{10, 30}, events: race.events[:1]}
	if explains(one, mixed, meta, "/d/t") {
		t.Error("a finding citing one of two writers explains their mix")
	}
	warn := *race
	warn.Severity = "warning"
	if explains(&warn, mixed, meta, "/d/t") {
		t.Error("a warning explains a corrupt version")
	}
	empty := version{Ino: 5, First: read, Last: read, Reads: 1}
	if !explains(race, empty, meta, "/d/t") {
		t.Error("a finding citing the empty version's inode does not explain it")
	}
	empty.Ino = 6
	if explains(race, empty, meta, "/d/t") {
		t.Error("a finding citing another inode explains an empty version")
	}
}

func TestEvidenceLine(t *testing.T) {
	for raw, want := range map[string]int{`"/a/b:trail:12"`: 12, `{"pos":"t:3"}`: 3} {
		if n, ok := evidenceLine(json.RawMessage(raw)); !ok || n != want {
			t.Errorf("evidenceLine(%s) = %d %v, want %d", raw, n, ok, want)
		}
	}
	if _, ok := evidenceLine(json.RawMessage(`"no line"`)); ok {
		t.Error("evidenceLine accepted a position without a line")
	}
}

func TestPredictions(t *testing.T) {
	fds := []*finding{
		{Kind: "unsynced-rename", Note: "x: y"},
		{Kind: "predictable-temp", Note: "pid-derived: 12 is the pid"},
		{Kind: "unlocked-update"},
		{Kind: "predictable-temp", Note: "clock-derived: 1796305902 is the Unix time"},
		{Kind: "predictable-temp", Note: "clock-derived: 1796305903 is the Unix time"},
	}
	got := predictions(fds)
	want := []string{"predictable-temp (clock-derived)", "predictable-temp (pid-derived)", "unlocked-update"}
	if !slices.Equal(got, want) {
		t.Errorf("predictions = %q, want %q", got, want)
	}
	if n := countPredictions(fds); n != 4 {
		t.Errorf("countPredictions = %d, want 4", n)
	}
	if got := predictions(fds[:1]); len(got) != 0 {
		t.Errorf("predictions of an unsynced-rename = %q, want none", got)
	}
}
