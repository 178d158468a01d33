package trail

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/heisen-dev/heisen/atomicfile"
)

// TestTraceAtomicfile makes real replaces with atomicfile and checks that
// the trail holds each one's operations with one call id per replace.
func TestTraceAtomicfile(t *testing.T) {
	dir := t.TempDir()
	trailPath := filepath.Join(dir, "a.trail")
	w, err := Create(trailPath)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "out")
	for i := range 2 {
		if err := atomicfile.WriteFile(target, bytes.Repeat([]byte{'a' + byte(i)}, 10000), 0o644, atomicfile.WithTracer(w)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(trailPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReader(f, trailPath)
	events := readAll(t, r)
	if s := r.Stats(); s.Malformed != 0 {
		t.Fatalf("malformed lines: %+v", s)
	}
	byCall := map[string][]Event{}
	var calls []string
	for _, e := range events {
		if e.Src != "atomicfile" || e.PID != os.Getpid() || e.TID == 0 {
			t.Errorf("%s: src %q pid %d tid %d", e.Pos, e.Src, e.PID, e.TID)
		}
		if !strings.HasPrefix(e.Call, itoa(os.Getpid())+"-") {
			t.Errorf("%s: call %q", e.Pos, e.Call)
		}
		if _, ok := byCall[e.Call]; !ok {
			calls = append(calls, e.Call)
		}
		byCall[e.Call] = append(byCall[e.Call], e)
	}
	if len(calls) != 2 {
		t.Fatalf("%d call ids, want 2: %v", len(calls), calls)
	}
	for _, c := range calls {
		var ops []string
		var wrote int64
		var renamedTo string
		var fd = NoFD
		for _, e := range byCall[c] {
			ops = append(ops, e.Op.String())
			switch e.Op {
			case OpOpen:
				if e.Path == "" || e.FD < 0 {
					t.Errorf("%s: open %+v", e.Pos, e)
				}
				if e.Flags.Writes() {
					fd = e.FD
				}
			case OpWrite:
				wrote += e.Len
				if e.FD != fd {
					t.Errorf("%s: write on fd %d, opened %d", e.Pos, e.FD, fd)
				}
			case OpRename:
				renamedTo = e.To
			}
		}
		for _, want := range []string{"open", "write", "fdatasync", "rename"} {
			if !slices.Contains(ops, want) {
				t.Errorf("call %s: ops %v lack %s", c, ops, want)
			}
		}
		if wrote != 10000 || renamedTo != target {
			t.Errorf("call %s: wrote %d bytes, renamed to %q; ops %v", c, wrote, renamedTo, ops)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
