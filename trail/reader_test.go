package trail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
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
		{TS: ts0.Add(3 * time.Microsecond), PID: 4242, TID: 4242, Op: OpRename, Path: "/data/out.tmp", To: "/data/out",
			FD: NoFD, Off: -1, Len: -1, Src: "ebpf", Called: ts0.Add(2500 * time.Nanosecond), Returned: ts0.Add(9 * time.Millisecond)},
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
	if !bytes.Contains(b, []byte(`"called":"2026-11-25T12:00:00.000102500Z","returned":"2026-11-25T12:00:00.009100000Z"}`)) {
		t.Errorf("the rename's call times are not encoded as RFC 3339 times:\n%s", b)
	}
	if s := r.Stats(); s.Lines != 5 || s.Events != 5 || s.Malformed != 0 || s.LossRecords != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestReaderDescriptorOps round-trips the descriptor, process, lock and
// untraced events, and checks that each required field is enforced.
func TestReaderDescriptorOps(t *testing.T) {
	ev := func(op Op) Event {
		return Event{TS: ts0, PID: 7, TID: 7, Op: op, FD: NoFD, Off: -1, Len: -1, Src: "ebpf"}
	}
	dup := ev(OpDup)
	dup.FD, dup.OldFD, dup.CloExec = 1, 0, true
	closeRange := ev(OpClose)
	closeRange.FD, closeRange.MaxFD = 3, math.MaxInt32
	setfd := ev(OpSetFD)
	setfd.FD = 10
	fork := ev(OpFork)
	fork.Child, fork.Mode = 8, "shared"
	exec := ev(OpExec)
	exec.Path = "/usr/bin/cat"
	exit := ev(OpExit)
	lock := ev(OpLock)
	lock.FD, lock.Lock, lock.Mode, lock.Off, lock.Len = 3, "posix", "exclusive", 0, 0
	copyWrite := ev(OpWrite)
	copyWrite.FD, copyWrite.Off, copyWrite.Len, copyWrite.Ret, copyWrite.Sys = 4, 0, 8192, 8192, "copy_file_range"
	untraced := ev(OpUntraced)
	untraced.Sys = "io_uring_setup"
	in := []Event{dup, closeRange, setfd, fork, exec, exit, lock, copyWrite, untraced}
	var b []byte
	for i := range in {
		b = AppendJSON(b, &in[i])
	}
	for _, want := range []string{`"op":"dup","fd":1,"ret":0,"src":"ebpf","oldfd":0,"cloexec":true}`, `"maxfd":2147483647`,
		`"op":"fork","ret":0,"src":"ebpf","child":8,"mode":"shared"}`, `"sys":"copy_file_range"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("encoding lacks %s:\n%s", want, b)
		}
	}
	out := readAll(t, NewReader(bytes.NewReader(b), "d"))
	if len(out) != len(in) {
		t.Fatalf("read %d events, want %d:\n%s", len(out), len(in), b)
	}
	for i := range in {
		in[i].Pos = Pos{"d", i + 1}
		if !reflect.DeepEqual(in[i], out[i]) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, out[i], in[i])
		}
	}

	const bad = `{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"dup","fd":1}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"dup","oldfd":1}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"fork"}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"setfd"}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"setfd","fd":3,"cloexec":1}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"close","fd":3,"maxfd":4294967295}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"rename","path":"/a","to":"/b","called":12}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"rename","path":"/a","to":"/b","returned":"yesterday"}`
	r := NewReader(strings.NewReader(bad), "b")
	var reasons []string
	r.Malformed = func(e *LineError) { reasons = append(reasons, e.Error()) }
	got := readAll(t, r)
	want := []string{"b:1: dup without fd and oldfd", "b:2: dup without fd and oldfd", "b:3: fork without child",
		"b:4: setfd without fd", "b:5: bad cloexec", "b:7: bad called", "b:8: bad returned"}
	if !reflect.DeepEqual(reasons, want) {
		t.Errorf("malformed %q, want %q", reasons, want)
	}
	if len(got) != 1 || got[0].MaxFD != math.MaxInt32 {
		t.Errorf("close_range's ~0U: %+v", got)
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
	want2 := Stats{Lines: 12, Events: 3, Malformed: 7, LossRecords: 1, Lost: 123, Backwards: 1, MaxBackwards: 100 * time.Microsecond}
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

// FuzzReader holds the hand-written reader to encoding/json on the same
// bytes: a line that is not JSON (but for the raw control characters in
// strings and the byte-order mark the reader accepts) is never an event; a
// line that encoding/json cannot decode into the format's field types is
// never an event; every event has the value encoding/json reads for each
// field the line gives; and what the reader returns writes and reads back
// the same.
func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"ts":"2026-11-25T12:00:00.000100000Z","pid":4242,"tid":4242,"op":"open","path":"/data/out.1764072000.tmp","fd":3,"flags":"O_WRONLY|O_CREAT|O_TRUNC","dev":2049,"ino":131074,"ret":3,"src":"ebpf"}`))
	f.Add([]byte(`{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"rename","path":"/a\u00e9\ud83d\ude00\ud800x","to":"/b","x":[{"a":[]},"\""]}`))
	f.Add([]byte(`{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"dup","fd":1,"oldfd":3,"cloexec":true}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"fork","child":2,"mode":"shared"}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"lock","fd":3,"lock":"ofd","mode":"shared","off":10,"len":5}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"close","fd":3,"maxfd":4294967295}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"rename","path":"/a","to":"/b","called":12}
{"ts":"2026-11-25T12:00:00Z","pid":1,"op":"rename","path":"/a","to":"/b","returned":"yesterday"}`))
	// Where a reader by hand and encoding/json could part: bytes that are
	// not UTF-8, keys in another case, repeated keys with null, raw control
	// characters, a byte-order mark, numbers encoding/json refuses in a
	// field the reader skips.
	f.Add([]byte("\xef\xbb\xbf{\"ts\":\"2026-11-25T12:00:00Z\",\"op\":\"open\",\"path\":\"/a\xdd\xff\tb\",\"PID\":5,\"pid\":7,\"pid\":null}\r"))
	f.Add([]byte(`{"ts":"2026-11-25T12:00:00Z","op":"close","fd":3,"x":1.2.3}
{"ts":"2026-11-25T12:00:00Z","op":"close","fd":3,"x":-}
{"ts":"2026-11-25T12:00:00Z","op":"close","fd":3,"x":01}
{"ts":"2026-11-25T12:00:00Z","op":"close","fd":3,"x":[1e5,-0.5E-3,{"y":true}]}
{"ts":"2026-11-25T12:00:00Z","op":"close","mode":0,"mode":"shared"}`))
	// Where the reader's caches could carry one line into the next: times
	// in one second (one with a bad fraction, one in another RFC 3339
	// form), a text repeated raw and after replacement, numbers of 19 and
	// 20 digits.
	f.Add([]byte("{\"ts\":\"2026-11-25T12:00:00.000100000Z\",\"pid\":1,\"comm\":\"a\xff\",\"op\":\"close\",\"fd\":3}\n" +
		"{\"ts\":\"2026-11-25T12:00:00.000200000Z\",\"pid\":1,\"comm\":\"a\xff\",\"op\":\"close\",\"dev\":18446744073709551615}\n" +
		"{\"ts\":\"2026-11-25T12:00:00.0002x0000Z\",\"pid\":1,\"op\":\"close\",\"fd\":3}\n" +
		"{\"ts\":\"2026-11-25T12:00:00,000300000Z\",\"pid\":1,\"op\":\"close\",\"dev\":18446744073709551616}\n" +
		"{\"ts\":\"2026-11-25T12:00:00.000400000Z\",\"pid\":1,\"comm\":\"a\\ufffd\",\"op\":\"close\",\"ino\":1234567890123456789}\n" +
		"{\"ts\":\"2026-11-25T12:00:01.000000000Z\",\"pid\":1,\"comm\":\"\",\"op\":\"close\",\"off\":9223372036854775807}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Split(data, []byte("\n"))
		accepted := map[int]bool{}
		r := NewReader(bytes.NewReader(data), "f")
		r.Malformed = func(e *LineError) {
			if e.Pos.Line < 1 || e.Reason == "" {
				t.Fatalf("bad LineError %+v", e)
			}
			checkRejected(t, lines[e.Pos.Line-1], e)
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
			accepted[e.Pos.Line] = true
			checkAsJSON(t, lines[e.Pos.Line-1], e.Pos.Line == 1, &e)
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

// jsonEvent is the trail format as encoding/json reads it: a pointer per
// field, nil when the line leaves it out (or gives null), each of the type
// the format gives it.
type jsonEvent struct {
	TS         *string   `json:"ts"`
	Called     *string   `json:"called"`
	Returned   *string   `json:"returned"`
	Host       *string   `json:"host"`
	Comm       *string   `json:"comm"`
	Op         *string   `json:"op"`
	Path       *string   `json:"path"`
	To         *string   `json:"to"`
	Flags      *string   `json:"flags"`
	Err        *string   `json:"err"`
	Src        *string   `json:"src"`
	Call       *string   `json:"call"`
	Sys        *string   `json:"sys"`
	Lock       *string   `json:"lock"`
	Mode       *string   `json:"mode"`
	PID        *int32    `json:"pid"`
	TID        *int32    `json:"tid"`
	FD         *int32    `json:"fd"`
	OldFD      *int32    `json:"oldfd"`
	Child      *int32    `json:"child"`
	MaxFD      *int64    `json:"maxfd"`
	Off        *int64    `json:"off"`
	Len        *int64    `json:"len"`
	Ret        *int64    `json:"ret"`
	Dev        *uint64   `json:"dev"`
	Ino        *uint64   `json:"ino"`
	Lost       *uint64   `json:"lost"`
	LostPerCPU *[]uint64 `json:"lost_per_cpu"`
	CloExec    *bool     `json:"cloexec"`
}

// asJSON is line as encoding/json should see it: the byte-order mark the
// reader skips on the first line dropped, and the raw control characters
// the reader accepts in strings escaped.
func asJSON(line []byte, first bool) []byte {
	if first {
		line = bytes.TrimPrefix(line, utf8BOM)
	}
	line = bytes.TrimRight(line, "\r")
	var out []byte
	in, esc := false, false
	for _, c := range line {
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in && c < 0x20:
			out = fmt.Appendf(out, `\u%04x`, c)
			continue
		}
		out = append(out, c)
	}
	return out
}

// decodeJSON reads line with encoding/json as the format reads it: keys
// match exactly (encoding/json alone would match them in any case), every
// occurrence of a repeated key must have its field's type, and the last
// one that is not null counts.
func decodeJSON(line []byte) (jsonEvent, error) {
	var j jsonEvent
	if err := json.Unmarshal(line, new(map[string]json.RawMessage)); err != nil {
		return j, err // not one JSON object
	}
	v := reflect.ValueOf(&j).Elem()
	fields := map[string]reflect.Value{}
	for i := range v.NumField() {
		fields[v.Type().Field(i).Tag.Get("json")] = v.Field(i)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.Token() // {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return j, err
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return j, err
		}
		f, ok := fields[tok.(string)]
		if !ok || string(val) == "null" {
			continue // an unknown field, or a null one: absent
		}
		ptr := reflect.New(f.Type().Elem())
		if err := json.Unmarshal(val, ptr.Interface()); err != nil {
			return j, err
		}
		f.Set(ptr)
	}
	return j, nil
}

// checkRejected fails when the reader rejected a line that encoding/json
// reads as an object of the format's types, but for the reasons only the
// format gives (a time, an op, flags, a required field): the reason must
// then be one of those.
func checkRejected(t *testing.T, line []byte, e *LineError) {
	t.Helper()
	if len(line) > maxReadLine {
		return
	}
	j := asJSON(line, e.Pos.Line == 1)
	if _, err := decodeJSON(j); err != nil {
		return
	}
	if string(bytes.TrimSpace(j)) == "null" && e.Reason == "not a JSON object" {
		return // encoding/json decodes null into a struct as nothing at all
	}
	for _, ok := range []string{"no ts", "no op", "bad ts", "bad called", "bad returned", "unknown op", "bad flags", "without", "data after"} {
		if strings.Contains(e.Reason, ok) {
			return
		}
	}
	t.Fatalf("line %d %q: the reader says %q, encoding/json reads it", e.Pos.Line, line, e.Reason)
}

// checkAsJSON fails unless line is JSON that encoding/json decodes into
// the format's types with the values the reader gave e.
func checkAsJSON(t *testing.T, line []byte, first bool, e *Event) {
	t.Helper()
	j, err := decodeJSON(asJSON(line, first))
	if err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) && strings.Contains(err.Error(), "exceeded max depth") {
			return // encoding/json's nesting limit; the reader has none
		}
		t.Fatalf("line %q is an event, but encoding/json: %v", line, err)
	}
	bad := func(field string, want, got any) {
		t.Errorf("line %q: %s: encoding/json reads %v, the reader %v", line, field, want, got)
	}
	checkTexts(j, e, bad)
	checkNumbers(j, e, bad)
}

// checkTexts compares the times, strings, op and flags of j and e.
func checkTexts(j jsonEvent, e *Event, bad func(field string, want, got any)) {
	times := []struct {
		name string
		s    *string
		got  time.Time
	}{{"ts", j.TS, e.TS}, {"called", j.Called, e.Called}, {"returned", j.Returned, e.Returned}}
	for _, tm := range times {
		if tm.s == nil {
			continue
		}
		want, err := time.Parse(time.RFC3339Nano, *tm.s)
		if err != nil || !want.Equal(tm.got) {
			bad(tm.name, *tm.s, tm.got)
		}
	}
	strs := []struct {
		name string
		s    *string
		got  string
	}{{"host", j.Host, e.Host}, {"comm", j.Comm, e.Comm}, {"path", j.Path, e.Path}, {"to", j.To, e.To},
		{"err", j.Err, e.Err}, {"src", j.Src, e.Src}, {"call", j.Call, e.Call}, {"sys", j.Sys, e.Sys},
		{"lock", j.Lock, e.Lock}, {"mode", j.Mode, e.Mode}}
	for _, f := range strs {
		if f.s != nil && *f.s != f.got {
			bad(f.name, strconv.Quote(*f.s), strconv.Quote(f.got))
		}
	}
	if j.Op != nil {
		if op, ok := parseOp([]byte(*j.Op)); !ok || op != e.Op {
			bad("op", *j.Op, e.Op)
		}
	}
	if j.Flags != nil {
		if fl, ok := parseOpenFlags([]byte(*j.Flags)); !ok || fl != e.Flags {
			bad("flags", *j.Flags, e.Flags)
		}
	}
}

// checkNumbers compares the numbers and booleans of j and e.
func checkNumbers(j jsonEvent, e *Event, bad func(field string, want, got any)) {
	ints := []struct {
		name string
		v    *int32
		got  int
	}{{"pid", j.PID, e.PID}, {"tid", j.TID, e.TID}, {"fd", j.FD, e.FD}, {"oldfd", j.OldFD, e.OldFD}, {"child", j.Child, e.Child}}
	for _, f := range ints {
		if f.v != nil && int(*f.v) != f.got {
			bad(f.name, *f.v, f.got)
		}
	}
	int64s := []struct {
		name string
		v    *int64
		got  int64
	}{{"off", j.Off, e.Off}, {"len", j.Len, e.Len}, {"ret", j.Ret, e.Ret}, {"maxfd", j.MaxFD, int64(e.MaxFD)}}
	for _, f := range int64s {
		if f.v == nil {
			continue
		}
		want := *f.v
		if f.name == "maxfd" {
			want = min(want, math.MaxInt32) // close_range's ~0U, clamped
		}
		if want != f.got {
			bad(f.name, want, f.got)
		}
	}
	uints := []struct {
		name string
		v    *uint64
		got  uint64
	}{{"dev", j.Dev, e.Dev}, {"ino", j.Ino, e.Ino}, {"lost", j.Lost, e.Lost}}
	for _, f := range uints {
		if f.v != nil && *f.v != f.got {
			bad(f.name, *f.v, f.got)
		}
	}
	if j.CloExec != nil && *j.CloExec != e.CloExec {
		bad("cloexec", *j.CloExec, e.CloExec)
	}
}

// A field the reader does not know is still held to JSON's grammar: a
// malformed number in it makes the line malformed, not an event.
func TestUnknownFieldMustBeJSON(t *testing.T) {
	for _, bad := range []string{`1.2.3`, `-`, `01`, `1e`, `.5`, `+1`} {
		line := `{"ts":"2026-11-25T12:00:00Z","op":"close","fd":3,"x":` + bad + "}\n"
		r := NewReader(strings.NewReader(line), "t")
		var e Event
		if err := r.Read(&e); err != io.EOF || r.Stats().Malformed != 1 {
			t.Errorf("x:%s: Read = %v, %+v; want the line malformed", bad, err, r.Stats())
		}
	}
	r := NewReader(strings.NewReader(`{"ts":"2026-11-25T12:00:00Z","op":"close","fd":3,"x":[1e5,-0.5E-3,0,{"y":true}]}`), "t")
	var e Event
	if err := r.Read(&e); err != nil || e.FD != 3 {
		t.Errorf("valid numbers in an unknown field: %v, %+v", err, e)
	}
}

// Bytes that are not UTF-8 read as U+FFFD, each, as encoding/json reads
// them and as the Writer writes them.
func TestInvalidUTF8ReadsAsReplacement(t *testing.T) {
	r := NewReader(strings.NewReader("{\"ts\":\"2026-11-25T12:00:00Z\",\"op\":\"unlink\",\"path\":\"/a\xdd\xffb\"}"), "t")
	var e Event
	if err := r.Read(&e); err != nil || e.Path != "/a\ufffd\ufffdb" {
		t.Errorf("Read = %v, path %q; want /a\ufffd\ufffdb", err, e.Path)
	}
}

// TestReaderStrings reads timestamps and strings by each of the reader's
// ways: a timestamp in the writers' form, one with an escape in it, one
// cut short, one whose closing quote comes early; strings longer than 16
// bytes with an escape in their first 16 bytes and after them.
func TestReaderStrings(t *testing.T) {
	const trail = `{"ts":"2026-11-25T12:00:00.000000001Z","pid":1,"op":"unlink","path":"/data/a-long-name-with-\u00e9"}
{"ts":"2026-11-25T12:00:00.00000000\u0032Z","pid":1,"op":"unlink","path":"/d\u00e9/a-long-name-after-it"}
{"ts":"2026-11-25T12:00:00.00000000"Z","pid":1,"op":"unlink","path":"/a"}
{"ts":"2026-11-25T12:00:00.000000003Z
{"pid":1,"op":"unlink","path":"/b","ts":"2026-11-25T12:00:00.000000004Z"}`
	r := NewReader(strings.NewReader(trail), "s.trail")
	var bad []string
	r.Malformed = func(e *LineError) { bad = append(bad, e.Error()) }
	out := readAll(t, r)
	if want := []string{"s.trail:3: bad ts", "s.trail:4: bad ts"}; !reflect.DeepEqual(bad, want) {
		t.Errorf("malformed %q, want %q", bad, want)
	}
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	want := []struct {
		ns   int
		path string
	}{{1, "/data/a-long-name-with-é"}, {2, "/dé/a-long-name-after-it"}, {4, "/b"}}
	if len(out) != len(want) {
		t.Fatalf("read %d events, want %d: %+v", len(out), len(want), out)
	}
	for i, w := range want {
		if !out[i].TS.Equal(t0.Add(time.Duration(w.ns))) || out[i].Path != w.path {
			t.Errorf("event %d: ts %v path %q, want +%dns %q", i, out[i].TS, out[i].Path, w.ns, w.path)
		}
	}
}
