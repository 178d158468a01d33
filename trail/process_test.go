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

	"github.com/heisen-dev/heisen/internal/reexec"
)

// TestMain lets the test binary act as a child process that appends to a
// shared trail (see TestWriterProcesses).
func TestMain(m *testing.M) {
	reexec.Main(m, map[string]func() error{"writer": childWriter})
}

// childWriter appends os.Args[2] events to the trail os.Args[1], buffered
// when os.Args[3] says so.
func childWriter() error {
	path := os.Args[1]
	n, _ := strconv.Atoi(os.Args[2])
	var opts []Option
	if os.Args[3] == "buffered" {
		opts = append(opts, Buffered())
	}
	w, err := Open(path, opts...)
	if err != nil {
		return err
	}
	for i := range n {
		// Long paths make lines of ~1 KiB, so a torn write would show.
		e := Event{TS: time.Now(), PID: os.Getpid(), TID: os.Getpid(), Op: OpWrite, FD: 3,
			Path: "/" + fmt.Sprintf("%0900d", i), Off: int64(i), Len: 1, Ret: 1, Src: "test"}
		if err := w.Write(&e); err != nil {
			return err
		}
	}
	return w.Close()
}

// TestWriterProcesses runs real processes appending to one trail file at
// once, unbuffered and buffered: every line must come out whole, and each
// process's events in its own order.
func TestWriterProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.trail")
	const procs, per = 4, 1500
	var cmds []*exec.Cmd
	for i := range procs {
		mode := "unbuffered"
		if i%2 == 1 {
			mode = "buffered"
		}
		c := reexec.Command(t, "writer", path, strconv.Itoa(per), mode)
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
