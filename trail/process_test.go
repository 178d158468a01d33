package trail

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestMain lets the test binary act as a child process that appends to a
// shared trail (see TestWriterProcesses).
func TestMain(m *testing.M) {
	if path := os.Getenv("TRAIL_TEST_CHILD"); path != "" {
		os.Exit(childWriter(path))
	}
	os.Exit(m.Run())
}

func childWriter(path string) int {
	n, _ := strconv.Atoi(os.Getenv("TRAIL_TEST_N"))
	var opts []Option
	if os.Getenv("TRAIL_TEST_BUFFERED") != "" {
		opts = append(opts, Buffered())
	}
	w, err := Open(path, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := range n {
		// Long paths make lines of ~1 KiB, so a torn write would show.
		e := Event{TS: time.Now(), PID: os.Getpid(), TID: os.Getpid(), Op: OpWrite, FD: 3,
			Path: "/" + fmt.Sprintf("%0900d", i), Off: int64(i), Len: 1, Ret: 1, Src: "test"}
		if err := w.Write(&e); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := w.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestWriterProcesses runs real processes appending to one trail file at
// once, unbuffered and buffered: every line must come out whole, and each
// process's events in its own order.
func TestWriterProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shared.trail")
	const procs, per = 4, 1500
	var cmds []*exec.Cmd
	for i := range procs {
		c := exec.Command(exe, "-test.run=^$")
		c.Env = append(os.Environ(), "TRAIL_TEST_CHILD="+path, "TRAIL_TEST_N="+strconv.Itoa(per))
		if i%2 == 1 {
			c.Env = append(c.Env, "TRAIL_TEST_BUFFERED=1")
		}
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	next := map[float64]float64{}
	lines := 0
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d torn: %v: %.80q", lines, err, sc.Text())
		}
		pid := m["pid"].(float64)
		if m["off"].(float64) != next[pid] {
			t.Fatalf("line %d: pid %v event %v out of order, want %v", lines, pid, m["off"], next[pid])
		}
		next[pid]++
	}
	if lines != procs*per {
		t.Errorf("%d lines, want %d", lines, procs*per)
	}
}
