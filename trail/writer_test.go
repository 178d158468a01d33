package trail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var ts0 = time.Date(2026, 11, 25, 12, 0, 0, 100000, time.UTC)

func TestAppendJSONIssueExample(t *testing.T) {
	events := []Event{
		{TS: ts0, PID: 4242, TID: 4242, Op: OpOpen, Path: "/data/out.1764072000.tmp", FD: 3,
			Flags: O_WRONLY | O_CREAT | O_TRUNC, Dev: 2049, Ino: 131074, Off: -1, Len: -1, Ret: 3, Src: "ebpf"},
		{TS: ts0.Add(50 * time.Microsecond), PID: 4242, TID: 4242, Op: OpWrite, FD: 3, Dev: 2049, Ino: 131074,
			Off: 0, Len: 4096, Ret: 4096, Src: "ebpf"},
		{TS: ts0.Add(800 * time.Microsecond), PID: 4242, TID: 4242, Op: OpRename, Path: "/data/out.1764072000.tmp",
			To: "/data/out", FD: NoFD, Ret: 0, Src: "ebpf"},
	}
	want := `{"ts":"2026-11-25T12:00:00.000100000Z","pid":4242,"tid":4242,"op":"open","path":"/data/out.1764072000.tmp","fd":3,"flags":"O_WRONLY|O_CREAT|O_TRUNC","dev":2049,"ino":131074,"ret":3,"src":"ebpf"}
{"ts":"2026-11-25T12:00:00.000150000Z","pid":4242,"tid":4242,"op":"write","fd":3,"dev":2049,"ino":131074,"off":0,"len":4096,"ret":4096,"src":"ebpf"}
{"ts":"2026-11-25T12:00:00.000900000Z","pid":4242,"tid":4242,"op":"rename","path":"/data/out.1764072000.tmp","to":"/data/out","ret":0,"src":"ebpf"}
`
	var b []byte
	for i := range events {
		b = AppendJSON(b, &events[i])
	}
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
}

func TestAppendJSONLossRecord(t *testing.T) {
	e := Event{TS: ts0, PID: 7, TID: 8, FD: NoFD, Src: "ebpf", Lost: 123, LostPerCPU: []uint64{100, 23}}
	got := string(AppendJSON(nil, &e))
	want := `{"ts":"2026-11-25T12:00:00.000100000Z","pid":7,"tid":8,"src":"ebpf","lost":123,"lost_per_cpu":[100,23]}` + "\n"
	if got != want {
		t.Errorf("got %s want %s", got, want)
	}
}

// TestAppendJSONEscapes checks the encoder against encoding/json: every
// string must survive a round trip, except invalid UTF-8, which becomes
// U+FFFD exactly as encoding/json does it.
func TestAppendJSONEscapes(t *testing.T) {
	for _, s := range []string{
		"/plain/path", `/a"quote`, `/back\slash`, "/ctl\x00\x01\x1f\x7f", "/nl\n\r\t",
		"/utf8/héllo/日本", "/bad\xff\xfe/x", "/trunc\xe6\x97", "/\u2028sep", "/</script>&",
	} {
		e := Event{TS: ts0, Op: OpUnlink, Path: s, FD: NoFD, Comm: s}
		line := AppendJSON(nil, &e)
		if !json.Valid(line) {
			t.Fatalf("%q: invalid JSON %s", s, line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		// ToValidUTF8 merges a run of bad bytes into one U+FFFD; the
		// encoder, like encoding/json, writes one per byte.
		wantJSON, _ := json.Marshal(s)
		var wantDecoded string
		json.Unmarshal(wantJSON, &wantDecoded)
		if m["path"] != wantDecoded || m["comm"] != wantDecoded {
			t.Errorf("%q: decoded %q, want %q (%q)", s, m["path"], wantDecoded, want)
		}
		if bytes.ContainsAny(line[:len(line)-1], "\n\r") {
			t.Errorf("%q: raw newline inside line %q", s, line)
		}
	}
}

func TestOpenFlagsRoundTrip(t *testing.T) {
	for _, f := range []OpenFlags{
		O_RDONLY, O_WRONLY | O_CREAT | O_TRUNC, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
		O_WRONLY | O_SYNC, O_RDWR | O_TMPFILE, O_WRONLY | O_DSYNC | 0x4000000,
	} {
		s := f.String()
		g, ok := ParseOpenFlags(s)
		if !ok || g != f {
			t.Errorf("%#x -> %q -> %#x, %v", f, s, g, ok)
		}
	}
	if s := (O_WRONLY | O_CREAT | O_TRUNC).String(); s != "O_WRONLY|O_CREAT|O_TRUNC" {
		t.Errorf("got %q", s)
	}
	if s := (O_RDWR | O_SYNC).String(); s != "O_RDWR|O_SYNC" {
		t.Errorf("O_SYNC printed as %q", s)
	}
	if _, ok := ParseOpenFlags("O_WRONLY|O_BOGUS"); ok {
		t.Error("unknown flag name accepted")
	}
	if got := HostOpenFlags(os.O_WRONLY | os.O_CREATE | os.O_EXCL); got != O_WRONLY|O_CREAT|O_EXCL {
		t.Errorf("HostOpenFlags = %v", got)
	}
}

// countingWriter records the size of each Write so tests can check that no
// write exceeds MaxLine or splits a line.
type countingWriter struct {
	mu     sync.Mutex
	writes [][]byte
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, append([]byte(nil), p...))
	c.mu.Unlock()
	return len(p), nil
}

func checkWrites(t *testing.T, writes [][]byte) (lines int) {
	t.Helper()
	for i, w := range writes {
		if len(w) > MaxLine {
			t.Errorf("write %d is %d bytes > MaxLine", i, len(w))
		}
		if len(w) == 0 || w[len(w)-1] != '\n' {
			t.Errorf("write %d does not end at a line boundary: %q", i, w)
		}
		lines += bytes.Count(w, []byte("\n"))
	}
	return lines
}

func testEvent(pid, i int) Event {
	return Event{TS: ts0.Add(time.Duration(i)), PID: pid, TID: pid, Op: OpWrite, FD: 3,
		Path: "/data/out.1764072000.tmp", Off: int64(i) * 4096, Len: 4096, Ret: 4096, Src: "stress", Call: "42-7"}
}

func TestWriterModes(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		var cw countingWriter
		var opts []Option
		if buffered {
			opts = append(opts, Buffered())
		}
		w := NewWriter(&cw, opts...)
		var wg sync.WaitGroup
		const goroutines, per = 8, 500
		for g := range goroutines {
			wg.Go(func() {
				for i := range per {
					e := testEvent(g, i)
					if err := w.Write(&e); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if !buffered && len(cw.writes) != goroutines*per {
			t.Errorf("unbuffered: %d writes for %d events", len(cw.writes), goroutines*per)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buffered && len(cw.writes) >= goroutines*per/4 {
			t.Errorf("buffered: %d writes for %d events: not batching", len(cw.writes), goroutines*per)
		}
		if n := checkWrites(t, cw.writes); n != goroutines*per {
			t.Errorf("buffered=%v: %d lines, want %d", buffered, n, goroutines*per)
		}
	}
}

func TestWriterTooLong(t *testing.T) {
	var cw countingWriter
	w := NewWriter(&cw)
	e := Event{TS: ts0, PID: 1, TID: 1, Op: OpRename, FD: NoFD, Src: "x",
		Path: "/" + strings.Repeat("\x01", 700), To: "/b"}
	if err := w.Write(&e); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Write = %v, want ErrTooLong", err)
	}
	checkWrites(t, cw.writes)
	if got := string(cw.writes[0]); !strings.Contains(got, `"lost":1`) || strings.Contains(got, "rename") {
		t.Errorf("loss record = %s", got)
	}
}

// TestWriterSharedFile has several goroutines, each with its own Writer
// on one file opened O_APPEND, as separate processes would: every line
// must come out whole.
func TestWriterSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.trail")
	var wg sync.WaitGroup
	const writers, per = 4, 2000
	for g := range writers {
		w, err := Open(path, func() []Option {
			if g%2 == 1 {
				return []Option{Buffered()}
			}
			return nil
		}()...)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for i := range per {
				e := testEvent(g, i)
				w.Write(&e)
			}
			if err := w.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		if !json.Valid(sc.Bytes()) {
			t.Fatalf("line %d torn: %q", n, sc.Text())
		}
	}
	if n != writers*per {
		t.Errorf("%d lines, want %d", n, writers*per)
	}
}

func TestWriterErrorNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.trail")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.c.Close() // make the next write fail
	e := testEvent(1, 1)
	if err := w.Write(&e); err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write on closed file = %v", err)
	}
	if _, err := Open(filepath.Join(path, "sub")); err == nil || !strings.Contains(err.Error(), "sub") {
		t.Errorf("Open under a file = %v", err)
	}
}

// TestWriterAllocs pins the zero-allocation promise of the hot path:
// writing allocates nothing once the buffer has grown.
func TestWriterAllocs(t *testing.T) {
	w := NewWriter(io.Discard, Buffered())
	e := testEvent(1, 1)
	if n := testing.AllocsPerRun(1000, func() { w.Write(&e) }); n != 0 {
		t.Errorf("Write: %v allocations per event, want 0", n)
	}
}

// fullFile is a trail file on a disk that has room bytes left: a write
// stores what fits, then fails with ENOSPC, as write(2) does.
type fullFile struct {
	*os.File
	room int
}

func (f *fullFile) Write(p []byte) (int, error) {
	n := min(len(p), f.room)
	f.room -= n
	if _, err := f.File.Write(p[:n]); err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return n, nil
}

// After a write fails the trail is a prefix of whole lines (a line cut
// short is truncated away), every later event is counted as not written,
// and the error names the file once.
func TestWriterStopsAtFirstError(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		t.Run(fmt.Sprintf("buffered=%v", buffered), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.trail")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			var opts []Option
			if buffered {
				opts = append(opts, Buffered())
			}
			w := NewWriter(&fullFile{File: f, room: 3000}, opts...)
			const n = 100
			var firstErr error
			for i := range n {
				e := testEvent(1, i)
				if err := w.Write(&e); err != nil && firstErr == nil {
					firstErr = err
				}
			}
			if err := w.Close(); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Close = %v, want ENOSPC", err)
			}
			f.Close()
			want := "trail: write " + path + ": no space left on device"
			if firstErr == nil || firstErr.Error() != want {
				t.Errorf("Write error %v, want %q", firstErr, want)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 || b[len(b)-1] != '\n' {
				t.Fatalf("trail does not end at a line boundary: ...%q", b[max(0, len(b)-40):])
			}
			r := NewReader(bytes.NewReader(b), path)
			evs := readAll(t, r)
			if m := r.Stats().Malformed; m != 0 {
				t.Errorf("%d malformed lines", m)
			}
			if got := uint64(len(evs)) + w.Unwritten(); got != n || len(evs) == 0 {
				t.Errorf("%d events in the trail + %d unwritten = %d, want %d", len(evs), w.Unwritten(), got, n)
			}
			for i, e := range evs {
				if e.Off != int64(i)*4096 {
					t.Fatalf("event %d has off %d: the trail is not a prefix", i, e.Off)
				}
			}
		})
	}
}

// TestCreateErrorNamesPathOnce checks that a failed Create says the
// operation and the path once, wrapping the cause.
func TestCreateErrorNamesPathOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "t.trail")
	_, err := Create(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Create = %v, want ErrNotExist", err)
	}
	if got, want := err.Error(), "trail: open "+path+": no such file or directory"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}
