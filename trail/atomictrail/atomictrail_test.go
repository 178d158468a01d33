package atomictrail

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/heisen-dev/heisen/trail"
)

// TestTraceAtomicfile makes real replaces with atomicfile and checks that
// the trail holds each one's operations with one call id per replace.
func TestTraceAtomicfile(t *testing.T) {
	dir := t.TempDir()
	trailPath := filepath.Join(dir, "a.trail")
	w, err := trail.Create(trailPath)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "out")
	for i := range 2 {
		if err := atomicfile.WriteFile(target, bytes.Repeat([]byte{'a' + byte(i)}, 10000), 0o644, atomicfile.WithTracer(Tracer(w))); err != nil {
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
	r := trail.NewReader(f, trailPath)
	events := readAll(t, r)
	if s := r.Stats(); s.Malformed != 0 {
		t.Fatalf("malformed lines: %+v", s)
	}
	byCall := map[string][]trail.Event{}
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
		var fd = trail.NoFD
		for _, e := range byCall[c] {
			ops = append(ops, e.Op.String())
			switch e.Op {
			case trail.OpOpen:
				if e.Path == "" || e.FD < 0 {
					t.Errorf("%s: open %+v", e.Pos, e)
				}
				if e.Flags.Writes() {
					fd = e.FD
				}
			case trail.OpWrite:
				wrote += e.Len
				if e.FD != fd {
					t.Errorf("%s: write on fd %d, opened %d", e.Pos, e.FD, fd)
				}
			case trail.OpRename:
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

func readAll(t testing.TB, r *trail.Reader) []trail.Event {
	t.Helper()
	var out []trail.Event
	for {
		var e trail.Event
		err := r.Read(&e)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

// TestAllocs pins the zero-allocation promise of the hook: the events of
// one replace allocate nothing once the writer's buffer has grown.
func TestAllocs(t *testing.T) {
	tr := Tracer(trail.NewWriter(io.Discard, trail.Buffered()))
	te := atomicfile.TraceEvent{Op: "write", Path: "/data/out", FD: 3, Len: 4096, Ret: 4096, Call: 9}
	if n := testing.AllocsPerRun(1000, func() { tr.Trace(&te) }); n != 0 {
		t.Errorf("Trace: %v allocations per event of one replace, want 0", n)
	}
}

// An error becomes its errno's name in the trail.
func TestTraceError(t *testing.T) {
	var buf bytes.Buffer
	w := trail.NewWriter(&buf)
	Tracer(w).Trace(&atomicfile.TraceEvent{Op: "open", Path: "/data/out", FD: -1, Ret: -1, Err: &os.PathError{Op: "open", Path: "/data/out", Err: syscall.EEXIST}, Call: 1})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	evs := readAll(t, trail.NewReader(&buf, "e"))
	if len(evs) != 1 || evs[0].Err != "EEXIST" || evs[0].Call != itoa(os.Getpid())+"-1" {
		t.Fatalf("events %+v, want one open with err EEXIST and call <pid>-1", evs)
	}
}

// BenchmarkTrace measures the hook: stamping, the call id and a buffered
// write, as atomicfile calls it for every operation of a replace.
func BenchmarkTrace(b *testing.B) {
	w, err := trail.Create(filepath.Join(b.TempDir(), "bench.trail"), trail.Buffered())
	if err != nil {
		b.Fatal(err)
	}
	tr := Tracer(w)
	te := atomicfile.TraceEvent{Op: "write", Path: "/data/out", FD: 3, Off: 0, Len: 4096, Ret: 4096, Call: 7}
	b.ReportAllocs()
	for b.Loop() {
		tr.Trace(&te)
	}
	b.StopTimer()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// TestTraceAtomicfileLock checks that Update's lock and unlock say what
// kind of lock they are, so that analyze can treat the writers as
// coordinated.
func TestTraceAtomicfileLock(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	w := trail.NewWriter(&buf)
	target := filepath.Join(dir, "counter")
	err := atomicfile.Update(target, func(old []byte) ([]byte, error) { return append(old, 'x'), nil }, atomicfile.WithTracer(Tracer(w)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var locks []string
	for _, e := range readAll(t, trail.NewReader(&buf, "u")) {
		if e.Op == trail.OpLock || e.Op == trail.OpUnlock {
			locks = append(locks, e.Op.String()+" "+e.Lock+" "+e.Mode+" "+strconv.FormatInt(e.Off, 10)+" "+strconv.FormatInt(e.Len, 10))
		}
	}
	if want := []string{"lock flock exclusive 0 0", "unlock flock  0 0"}; !slices.Equal(locks, want) {
		t.Errorf("locks %q, want %q", locks, want)
	}
}
