package trail

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func readAll(t testing.TB, r *Reader) []Event {
	t.Helper()
	var out []Event
	for {
		var e Event
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

func TestReaderRoundTrip(t *testing.T) {
	in := []Event{
		{TS: ts0, Host: "h1", PID: 4242, TID: 4243, Comm: "worker", Op: OpOpen, Path: "/data/out.tmp", FD: 0,
			Flags: O_WRONLY | O_CREAT | O_TRUNC, Dev: 2049, Ino: 131074, Off: -1, Len: -1, Ret: 0, Src: "ebpf", Call: "4242-1"},
		{TS: ts0.Add(time.Microsecond), PID: 4242, TID: 4242, Op: OpWrite, FD: 0, Off: 0, Len: 4096, Ret: 4096, Src: "ebpf"},
		{TS: ts0.Add(2 * time.Microsecond), PID: 4242, TID: 4242, Op: OpRename, Path: "/data/\"odd\"\n\x01名", To: "/data/out",
			FD: NoFD, Off: -1, Len: -1, Ret: -1, Err: "EXDEV", Src: "ptrace"},
		{TS: time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC), PID: 1, TID: 1, Op: OpTruncate, FD: 5, Off: 10, Len: 0, Src: "x"},
	}
	var b []byte
	for i := range in {
		b = AppendJSON(b, &in[i])
	}
	r := NewReader(bytes.NewReader(b), "t.trail")
	out := readAll(t, r)
	if len(out) != len(in) {
		t.Fatalf("read %d events, want %d", len(out), len(in))
	}
	for i := range in {
		in[i].Pos = Pos{"t.trail", i + 1}
		if !reflect.DeepEqual(in[i], out[i]) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, out[i], in[i])
		}
	}
	if s := r.Stats(); s != (Stats{Lines: 4, Events: 4}) {
		t.Errorf("stats %+v", s)
	}
}

func TestReaderMalformedAndUnknown(t *testing.T) {
	const trail = `{"ts":"2026-11-25T12:00:00.000100000Z","pid":1,"tid":1,"op":"open","path":"/a","fd":3,"flags":"O_RDONLY","ret":3,"future":{"x":[1,{"y":"}"}],"z":null},"n":-1.5e3,"t":true}
not json
{"pid":1,"op":"close","fd":3}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"mmap"}
{"ts":"2026-11-25T12:00:00Z","pid":"1","op":"close"}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"close"} trailing

{"ts":"2026-11-25T12:00:01.000000000Z","pid":9,"tid":9,"src":"ebpf","lost":123,"lost_per_cpu":[100,23]}
{"ts":"2026-11-25T13:00:00+01:00","pid":2,"op":"rename","path":"/a","to":"/b","fd":null}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"rename","path":"/a"}
{"ts":"2026-02-30T12:00:00.000000000Z","pid":1,"op":"close"}
{"ts":"2026-11-25T12:00:02.000000000Z","pid":3,"op":"close","fd":4}`
	r := NewReader(strings.NewReader(trail), "m.trail")
	var bad []string
	r.Malformed = func(e *LineError) { bad = append(bad, e.Error()) }
	out := readAll(t, r)
	want := []string{
		"m.trail:2: not a JSON object",
		"m.trail:3: no ts",
		`m.trail:4: unknown op "mmap"`,
		"m.trail:5: bad pid",
		"m.trail:6: data after the object",
		"m.trail:10: rename without to",
		"m.trail:11: bad ts",
	}
	if !reflect.DeepEqual(bad, want) {
		t.Errorf("malformed:\n%s\nwant\n%s", strings.Join(bad, "\n"), strings.Join(want, "\n"))
	}
	if len(out) != 3 || out[0].Path != "/a" || out[0].FD != 3 || out[1].Op != OpRename || out[2].FD != 4 {
		t.Fatalf("events %+v", out)
	}
	if out[1].FD != NoFD || !out[1].TS.Equal(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("null fd or offset ts: %+v", out[1])
	}
	if out[2].Pos.Line != 12 {
		t.Errorf("last event at line %d", out[2].Pos.Line)
	}
	want2 := Stats{Lines: 12, Events: 3, Malformed: 7, LossRecords: 1, Lost: 123}
	if s := r.Stats(); s != want2 {
		t.Errorf("stats %+v, want %+v", s, want2)
	}
}

func TestReaderLongLines(t *testing.T) {
	ok := `{"ts":"2026-11-25T12:00:00.000000000Z","pid":1,"op":"close","pad":"` + strings.Repeat("x", 600<<10) + `"}` + "\n"
	huge := `{"ts":"2026-11-25T12:00:00.000000000Z","pid":1,"op":"close","pad":"` + strings.Repeat("x", 2<<20) + `"}` + "\n"
	tail := `{"ts":"2026-11-25T12:00:00.000000000Z","pid":2,"op":"close"}` // no final newline
	r := NewReader(iotest.HalfReader(strings.NewReader(ok+huge+tail)), "l")
	var bad []string
	r.Malformed = func(e *LineError) { bad = append(bad, e.Error()) }
	out := readAll(t, r)
	if len(out) != 2 || out[0].PID != 1 || out[1].PID != 2 || out[1].Pos.Line != 3 {
		t.Fatalf("events %+v", out)
	}
	if len(bad) != 1 || bad[0] != "l:2: line longer than 1 MiB" {
		t.Errorf("malformed %q", bad)
	}
}

func TestReaderIOError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(iotest.ErrReader(boom), "/x/t.trail")
	var e Event
	err := r.Read(&e)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "/x/t.trail") {
		t.Errorf("Read = %v", err)
	}
}

func TestMergeKeepsFileOrder(t *testing.T) {
	line := func(sec, nsec, pid int) string {
		e := Event{TS: time.Date(2026, 1, 1, 0, 0, sec, nsec, time.UTC), PID: pid, Op: OpClose, FD: 3}
		return string(AppendJSON(nil, &e))
	}
	a := line(1, 0, 1) + line(3, 0, 1) + line(2, 500, 1) + line(5, 0, 1) // goes backwards at line 3
	b := line(0, 0, 2) + line(2, 0, 2) + line(3, 0, 2) + line(4, 0, 2)
	m := Merge(NewReader(strings.NewReader(a), "a"), NewReader(strings.NewReader(b), "b"))
	var got []string
	for {
		var e Event
		if err := m.Read(&e); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Pos.String())
	}
	want := []string{"b:1", "a:1", "b:2", "a:2", "a:3", "b:3", "b:4", "a:4"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged %v, want %v", got, want)
	}
	if s := m.Stats(); s.Events != 8 || s.Lines != 8 {
		t.Errorf("stats %+v", s)
	}
}

// FuzzReader feeds arbitrary bytes to the Reader. It must not panic, and
// every event it returns must survive encode → decode → encode unchanged:
// the encoder and the parser agree on every value the parser accepts.
func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"ts":"2026-11-25T12:00:00.000100000Z","pid":4242,"tid":4242,"op":"open","path":"/data/out.1764072000.tmp","fd":3,"flags":"O_WRONLY|O_CREAT|O_TRUNC","dev":2049,"ino":131074,"ret":3,"src":"ebpf"}`))
	f.Add([]byte(`{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"rename","path":"/a\u00e9\ud83d\ude00\ud800x","to":"/b","x":[{"a":[]},"\""]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), "f")
		r.Malformed = func(e *LineError) {
			if e.Pos.Line < 1 || e.Reason == "" {
				t.Fatalf("bad LineError %+v", e)
			}
		}
		for {
			var e Event
			err := r.Read(&e)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			once := AppendJSON(nil, &e)
			r2 := NewReader(bytes.NewReader(once), "g")
			var e2 Event
			if err := r2.Read(&e2); err != nil {
				t.Fatalf("re-reading %q: %v (stats %+v)", once, err, r2.Stats())
			}
			if twice := AppendJSON(nil, &e2); !bytes.Equal(once, twice) {
				t.Fatalf("not stable:\n%s%s", once, twice)
			}
		}
	})
}
