package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/crash"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"":                   ".",
		"data.json.tmp-8123": "data.json.tmp-*",
		".data.3f9a0c.tmp":   ".data.*.tmp",
		"v17/a1b/plain":      "*/*/plain",
		"(an unlinked file)": "(an unlinked file)",
		"dir/sub/file-2.log": "dir/sub/file-*.log",
		"ünïcode9/ok":        "*/ok",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// writerLog is the story's writer without fsync: a temp written and renamed
// over data, then "1" printed.
func writerLog() *crash.Log {
	return &crash.Log{
		Header: crash.Header{Format: crash.FormatName},
		Init:   []crash.Op{{Op: crash.Create, Dir: crash.Root, Name: "data", Node: 2}, {Op: crash.Write, Node: 2, Data: []byte("0")}},
		Ops: []crash.Op{
			{Op: crash.Create, Dir: crash.Root, Name: "tmp", Node: 3, Path: "tmp"},
			{Op: crash.Write, Node: 3, Data: []byte("1"), Path: "tmp"},
			{Op: crash.Rename, Dir: crash.Root, Name: "tmp", Dir2: crash.Root, Name2: "data", Node: 3, Node2: 2, Path: "tmp", Path2: "data"},
		},
		Lines: []crash.Line{{Text: "1", After: 3}},
		End:   &crash.End{},
	}
}

// TestRunAndGroups checks every state with a real checker (a shell) that
// wants data to hold the acknowledged version, and groups the failures.
func TestRunAndGroups(t *testing.T) {
	l := writerLog()
	check := filepath.Join(t.TempDir(), "check.sh")
	script := "#!/bin/sh\nlast=$(tail -n 1 \"$HEISEN_CRASH_ACKED\")\n[ -z \"$last\" ] && exit 0\n" +
		"[ \"$(cat \"$HEISEN_CRASH_STATE/data\" 2>/dev/null)\" = \"$last\" ] || { echo \"data is not $last\" >&2; exit 1; }\n"
	if err := os.WriteFile(check, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), l, crash.Options{Model: crash.Posix, PerPoint: 64}, Config{Check: []string{check}, Tmp: t.TempDir(), Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked < 4 || rep.Points != 4 || len(rep.Failing) == 0 || rep.Interrupted {
		t.Fatalf("report %+v", rep)
	}
	causes := map[string]bool{}
	for _, g := range Groups(l, rep.Failing) {
		causes[g.Cause()] = true
		if g.States[0].Message != "data is not 1" {
			t.Errorf("message %q", g.States[0].Message)
		}
	}
	for _, want := range []string{"kept rename tmp to data but lost data written to it before", "lost rename tmp to data though acknowledged"} {
		if !causes[want] {
			t.Errorf("no group %q among %v", want, causes)
		}
	}
	for _, r := range rep.Failing {
		if r.State.Point != 3 {
			t.Errorf("state %s fails before anything was acknowledged", r.State.ID)
		}
	}
}

func TestRunTimeoutFails(t *testing.T) {
	l := writerLog()
	rep, err := Run(context.Background(), l, crash.Options{Model: crash.Posix, PerPoint: 1, Points: crash.Points{Sample: 1}},
		Config{Check: []string{"sleep", "5"}, Tmp: t.TempDir(), Timeout: 50e6})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failing) != rep.Checked || rep.Checked == 0 || !strings.Contains(rep.Failing[0].Err.Error(), "timed out") {
		t.Fatalf("a checker past its timeout: %+v", rep.Failing)
	}
}

// TestRunLeftoverDoesNotBlock runs a checker that exits at once but leaves
// a process holding its stderr: the check ends without waiting for that
// process, with the checker's status, and the process is killed.
func TestRunLeftoverDoesNotBlock(t *testing.T) {
	l := writerLog()
	pidFile := filepath.Join(t.TempDir(), "pid")
	done := make(chan *Report, 1)
	go func() {
		rep, err := Run(context.Background(), l, crash.Options{Model: crash.Posix, PerPoint: 1, Points: crash.Points{Sample: 1}},
			Config{Check: []string{"sh", "-c", "sleep 60 & echo $! > " + pidFile + "; exit 3"}, Tmp: t.TempDir(), Parallel: 1})
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	var rep *Report
	select {
	case rep = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run still waits 20s after the checker exited, for the process it left")
	}
	if rep.Checked != 1 || len(rep.Failing) != 1 || rep.Failing[0].Status != 3 || rep.Failing[0].Err != nil {
		t.Fatalf("a checker that exits 3 leaving a process: checked %d, failing %+v", rep.Checked, rep.Failing)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") Z") {
			break // killed, not yet reaped by its new parent
		}
		if time.Now().After(deadline) {
			t.Fatalf("the checker's leftover process %d still runs 10s after the check", pid)
		}
	}
}
