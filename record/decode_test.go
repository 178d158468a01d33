//go:build linux && (amd64 || arm64)

package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/record/bpf"
	"github.com/heisen-dev/heisen/trail"
)

func TestSizesMatchKernelStructs(t *testing.T) {
	if n := binary.Size(bpf.RecordEvent{}); n != headerSize {
		t.Errorf("struct event is %d bytes, decode assumes %d", n, headerSize)
	}
	if n := binary.Size(bpf.RecordMore{}); n != moreSize {
		t.Errorf("struct more is %d bytes, decode assumes %d", n, moreSize)
	}
}

// rawEvent encodes an event as sys_exit in bpf/record.c lays it out.
func rawEvent(ev bpf.RecordEvent, strs ...string) []byte {
	for len(strs) < 4 {
		strs = append(strs, "")
	}
	ev.PathDirLen, ev.PathLen = uint16(len(strs[0])), uint16(len(strs[1]))
	ev.ToDirLen, ev.ToLen = uint16(len(strs[2])), uint16(len(strs[3]))
	b, err := binary.Append(nil, binary.LittleEndian, ev)
	if err != nil {
		panic(err)
	}
	for _, s := range strs {
		b = append(b, s...)
	}
	return b
}

// decodeCases are full records as sys_exit in bpf/record.c sends them,
// each at boot time 5 ns, and the events they decode to without the time.
var decodeCases = []struct {
	name string
	raw  []byte
	want trail.Event
}{
	{
		name: "open resolved from the file",
		raw: rawEvent(bpf.RecordEvent{Ts: 5, Dev: 254<<20 | 3, Ino: 77, Off: -1, Len: -1, Ret: 3,
			Flags: unix.O_WRONLY | unix.O_CREAT, Pid: 10, Tid: 11, Fd: 3, Op: kOpenat, Comm: [16]int8{'p', 'y'}}, "/tmp/a/../b"),
		want: trail.Event{PID: 10, TID: 11, Comm: "py", Op: trail.OpOpen, Path: "/tmp/b", FD: 3,
			Flags: trail.O_WRONLY | trail.O_CREAT, Dev: unix.Mkdev(254, 3), Ino: 77, Off: -1, Len: -1, Ret: 3, Src: "ebpf"},
	},
	{
		name: "rename relative to two directories, failed",
		raw: rawEvent(bpf.RecordEvent{Ts: 5, Off: -1, Len: -1, Ret: -int64(unix.EXDEV), Pid: 1, Tid: 2, Fd: -1, Op: kRenameat2},
			"/d1", "x.tmp", "/d2/", "./y"),
		want: trail.Event{PID: 1, TID: 2, Op: trail.OpRename, Path: "/d1/x.tmp", To: "/d2/y", FD: -1, Off: -1, Len: -1,
			Ret: -1, Err: "EXDEV", Src: "ebpf"},
	},
	{
		name: "dup2 of a pipe onto a file's descriptor, the file replaced sent for the filter",
		raw:  rawEvent(bpf.RecordEvent{Ts: 5, Off: -1, Len: -1, Ret: 1, Pid: 1, Tid: 1, Fd: 1, Fd2: 10, Op: kDup2}, "", "", "/d/f"),
		want: trail.Event{PID: 1, TID: 1, Op: trail.OpDup, To: "/d/f", FD: 1, OldFD: 10, Off: -1, Len: -1, Ret: 1, Src: "ebpf"},
	},
	{
		name: "dup3 with O_CLOEXEC",
		raw:  rawEvent(bpf.RecordEvent{Ts: 5, Ino: 9, Off: -1, Len: -1, Ret: 4, Pid: 1, Tid: 1, Fd: 4, Fd2: 3, Cloexec: 1, Op: kDup3}, "/d/f"),
		want: trail.Event{PID: 1, TID: 1, Op: trail.OpDup, Path: "/d/f", FD: 4, OldFD: 3, CloExec: true, Ino: 9, Off: -1, Len: -1, Ret: 4, Src: "ebpf"},
	},
	{
		name: "close_range to the last descriptor",
		raw:  rawEvent(bpf.RecordEvent{Ts: 5, Off: -1, Len: -1, Pid: 1, Tid: 1, Fd: 3, Fd2: ^uint32(0), Op: kCloseRange}),
		want: trail.Event{PID: 1, TID: 1, Op: trail.OpClose, FD: 3, MaxFD: 1<<31 - 1, Off: -1, Len: -1, Src: "ebpf"},
	},
	{
		name: "close_range with CLOSE_RANGE_CLOEXEC",
		raw:  rawEvent(bpf.RecordEvent{Ts: 5, Off: -1, Len: -1, Pid: 1, Tid: 1, Fd: 3, Fd2: 9, Cloexec: 1, Op: kCloseRange}),
		want: trail.Event{PID: 1, TID: 1, Op: trail.OpSetFD, FD: 3, MaxFD: 9, CloExec: true, Off: -1, Len: -1, Src: "ebpf"},
	},
	{
		name: "setfd clearing close-on-exec",
		raw:  rawEvent(bpf.RecordEvent{Ts: 5, Off: -1, Len: -1, Pid: 1, Tid: 1, Fd: 3, Op: kSetFD}, "/d/", "f"),
		want: trail.Event{PID: 1, TID: 1, Op: trail.OpSetFD, Path: "/d/f", FD: 3, Off: -1, Len: -1, Src: "ebpf"},
	},
	{
		name: "fork sharing the descriptor table",
		raw:  rawEvent(bpf.RecordEvent{Ts: 5, Off: -1, Len: -1, Pid: 1, Tid: 2, Fd: -1, Fd2: 77, Mode: 1, Op: kFork}),
		want: trail.Event{PID: 1, TID: 2, Op: trail.OpFork, Child: 77, Mode: "shared", FD: -1, Off: -1, Len: -1, Src: "ebpf"},
	},
	{
		name: "exec of a relative program",
		raw:  rawEvent(bpf.RecordEvent{Ts: 5, Off: -1, Len: -1, Pid: 1, Tid: 1, Fd: -1, Op: kExec}, "/home/u", "./bin/x"),
		want: trail.Event{PID: 1, TID: 1, Op: trail.OpExec, Path: "/home/u/bin/x", FD: -1, Off: -1, Len: -1, Src: "ebpf"},
	},
	{
		name: "exit",
		raw:  rawEvent(bpf.RecordEvent{Ts: 5, Off: -1, Len: -1, Pid: 1, Tid: 3, Fd: -1, Op: kExit}),
		want: trail.Event{PID: 1, TID: 3, Op: trail.OpExit, FD: -1, Off: -1, Len: -1, Src: "ebpf"},
	},
	{
		name: "absolute raw path, unknown directory kept as passed",
		raw:  rawEvent(bpf.RecordEvent{Ts: 5, Off: -1, Len: -1, Pid: 1, Tid: 1, Fd: -1, Op: kLink}, "", "/a//b", "", "rel"),
		want: trail.Event{PID: 1, TID: 1, Op: trail.OpLink, Path: "/a/b", To: "rel", FD: -1, Off: -1, Len: -1, Src: "ebpf"},
	},
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			var e trail.Event
			if err := decode(tc.raw, 1000, interner{}, writes{}, &e); err != nil {
				t.Fatal(err)
			}
			if !e.TS.Equal(time.Unix(0, 1005)) {
				t.Errorf("ts %v, want boot time 5 + offset 1000 ns", e.TS)
			}
			e.TS = time.Time{}
			if got, want := string(trail.AppendJSON(nil, &e)), string(trail.AppendJSON(nil, &tc.want)); got != want {
				t.Errorf("decoded\n%s want\n%s", got, want)
			}
		})
	}
}

// rawMore builds a continuation record (struct more in bpf/record.c).
func rawMore(ts uint64, op uint32, off, n, ret int64, pid, tid uint32) []byte {
	b, err := binary.Append(nil, binary.LittleEndian, struct {
		TS            uint64
		Off, Len, Ret int64
		PID, TID, Op  uint32
		_             uint32
	}{ts, off, n, ret, pid, tid, op, 0})
	if err != nil || len(b) != moreSize {
		panic(fmt.Sprint(len(b), err))
	}
	return b
}

// TestDecodeContinuation checks that a continuation record turns its
// thread's last open or write into a write at a new offset or a close of
// the same descriptor, and nothing else.
func TestDecodeContinuation(t *testing.T) {
	last := writes{}
	names := interner{}
	var e trail.Event
	open := rawEvent(bpf.RecordEvent{Ts: 1, Ino: 5, Off: -1, Len: -1, Ret: 3, Flags: 0101, Pid: 1, Tid: 2, Fd: 3, Op: kOpenat}, "/d/", "f")
	steps := []struct {
		raw     []byte
		wantErr error
		want    string // op path fd off len ret err, when decoded
	}{
		{rawMore(1, kWrite, 0, 9, 9, 1, 2), errNoPath, ""}, // nothing before it
		{open, nil, "open /d/f 3 -1 -1 3 "},
		// A fork is not a call of the thread's own: the kernel's sequence goes on.
		{rawEvent(bpf.RecordEvent{Ts: 2, Off: -1, Len: -1, Pid: 1, Tid: 2, Fd: -1, Fd2: 5, Op: kFork}), nil, "fork  -1 -1 -1 0 "},
		{rawMore(2, kWrite, 0, 512, 512, 1, 2), nil, "write /d/f 3 0 512 512 "},
		{rawMore(3, kWrite, 512, 512, 512, 1, 2), nil, "write /d/f 3 512 512 512 "},
		{rawMore(4, kWrite, 9, 1, 1, 1, 7), errNoPath, ""},        // another thread
		{rawMore(4, kWrite, 1024, 512, 512, 9, 2), errNoPath, ""}, // a reused thread id
		{rawMore(5, kClose, -1, -1, -int64(unix.EIO), 1, 2), nil, "close /d/f 3 -1 -1 -1 EIO"},
		{rawMore(6, kWrite, 1024, 512, 512, 1, 2), errNoPath, ""}, // the close ended the sequence
		{open, nil, "open /d/f 3 -1 -1 3 "},
		{rawEvent(bpf.RecordEvent{Ts: 7, Off: -1, Len: -1, Pid: 1, Tid: 2, Fd: -1, Op: kRename}, "/d/", "f", "/d/", "g"), nil, "rename /d/f -1 -1 -1 0 "},
		{rawMore(8, kClose, -1, -1, 0, 1, 2), errNoPath, ""}, // any other call ends it too
		{open, nil, "open /d/f 3 -1 -1 3 "},
		{rawMore(9, kRename, 0, 0, 0, 1, 2), nil, ""}, // not a continuation the kernel sends
	}
	for i, st := range steps {
		err := decode(st.raw, 0, names, last, &e)
		if i == len(steps)-1 {
			if err == nil {
				t.Errorf("step %d: a continuation of op %d decoded", i, kRename)
			}
			continue
		}
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("step %d: error %v, want %v", i, err, st.wantErr)
		}
		if err != nil {
			continue
		}
		got := fmt.Sprint(e.Op, " ", e.Path, " ", e.FD, " ", e.Off, " ", e.Len, " ", e.Ret, " ", e.Err)
		if got != st.want || e.PID != 1 || e.Op != trail.OpOpen && e.Flags != 0 {
			t.Errorf("step %d: decoded %q (pid %d, flags %v), want %q", i, got, e.PID, e.Flags, st.want)
		}
	}
	last[2] = &trail.Event{TS: time.Unix(10, 0)}
	last[3] = &trail.Event{TS: time.Unix(20, 0)}
	last.forget(time.Unix(15, 0))
	if _, ok := last[2]; ok || len(last) != 1 {
		t.Errorf("forget(15 s) left %v", last)
	}
}

// The exact --path check passes events about no file, and a dup when its
// file or the one it replaced is under a prefix, then drops the latter.
func TestFilter(t *testing.T) {
	pre := []string{"/d"}
	for _, tc := range []struct {
		e    trail.Event
		keep bool
	}{
		{trail.Event{Op: trail.OpDup, To: "/d/f"}, true},
		{trail.Event{Op: trail.OpDup, Path: "/d/f", To: "/e/g"}, true},
		{trail.Event{Op: trail.OpDup, Path: "/e/f", To: "/e/g"}, false},
		{trail.Event{Op: trail.OpClose, FD: 3, MaxFD: 9}, true},
		{trail.Event{Op: trail.OpExec, Path: "/usr/bin/sh"}, true},
		{trail.Event{Op: trail.OpSetFD, Path: "/dd/f"}, false},
		{trail.Event{Op: trail.OpRename, Path: "/e/f", To: "/d/f"}, true},
	} {
		e := tc.e
		if got := filter(&e, pre); got != tc.keep || e.Op == trail.OpDup && e.To != "" || e.Op != trail.OpDup && e.To != tc.e.To {
			t.Errorf("filter(%+v) = %v, to %q; want %v", tc.e, got, e.To, tc.keep)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	var e trail.Event
	good := rawEvent(bpf.RecordEvent{Op: kWrite}, "/f")
	for name, raw := range map[string][]byte{
		"empty":           nil,
		"short header":    good[:headerSize-1],
		"strings cut off": good[:len(good)-1],
		"unknown op":      rawEvent(bpf.RecordEvent{Op: kMax}),
		"no op":           rawEvent(bpf.RecordEvent{}),
		"no path":         rawEvent(bpf.RecordEvent{Op: kOpenat, Ret: -int64(unix.EFAULT)}),
	} {
		if err := decode(raw, 0, interner{}, writes{}, &e); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestUnderAny(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/data", true}, {"/data/x", true}, {"/database", false}, {"/", false}, {"", false}, {"/tmp/q", true},
	} {
		if got := underAny(tc.path, []string{"/data", "/tmp"}); got != tc.want {
			t.Errorf("underAny(%q) = %v", tc.path, got)
		}
	}
	if !underAny("/anything", []string{"/"}) {
		t.Error(`"/" does not cover everything`)
	}
}

func TestCleanPrefixes(t *testing.T) {
	got, err := cleanPrefixes([]string{"/a/b/", "/c/../d"})
	if err != nil || len(got) != 2 || got[0] != "/a/b" || got[1] != "/d" {
		t.Errorf("cleanPrefixes = %q, %v", got, err)
	}
	for _, bad := range [][]string{{"rel"}, {"/" + string(make([]byte, 300))}, make([]string, maxPrefixes+1)} {
		if _, err := cleanPrefixes(bad); err == nil {
			t.Errorf("cleanPrefixes(%.20q) accepted", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(rawEvent(bpf.RecordEvent{Op: kOpenat, Ret: 3, Fd: 3}, "/tmp/x"))
	f.Add(rawEvent(bpf.RecordEvent{Op: kRenameat2, Ret: -2}, "/d", "a", "", "/b"))
	f.Add(rawEvent(bpf.RecordEvent{Op: kWrite, Ret: 5}, "/a\x00b"))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var e trail.Event
		if err := decode(raw, 0, interner{}, writes{}, &e); err != nil {
			return
		}
		if e.Op == trail.OpNone || e.Src != "ebpf" {
			t.Fatalf("decoded op %v src %q", e.Op, e.Src)
		}
		if len(e.Path)+len(e.To) > len(raw) {
			t.Fatalf("paths longer than the record: %q %q", e.Path, e.To)
		}
		if e.Err != "" && e.Ret != -1 {
			t.Fatalf("err %q with ret %d", e.Err, e.Ret)
		}
		// The trail must be able to carry whatever the kernel sends.
		line := trail.AppendJSON(nil, &e)
		r := trail.NewReader(bytes.NewReader(line), "fuzz")
		r.Malformed = func(le *trail.LineError) { t.Fatalf("the reader rejects %s: %v", line, le) }
		var back trail.Event
		if err := r.Read(&back); err != nil {
			t.Fatalf("round trip of %s: %v", line, err)
		}
		// The trail is UTF-8: other bytes in a name come back as U+FFFD.
		if utf8.ValidString(e.Path) && utf8.ValidString(e.To) && (back.Path != e.Path || back.To != e.To) {
			t.Fatalf("round trip of %s: %q %q", line, back.Path, back.To)
		}
	})
}

func TestInternerReusesAndStaysBounded(t *testing.T) {
	in := interner{}
	a, b := in.str([]byte("/tmp/x")), in.str([]byte("/tmp/x"))
	if a != "/tmp/x" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Errorf("two lookups of one name gave different strings")
	}
	for i := range 3 * maxInterned {
		in.str([]byte(strconv.Itoa(i)))
	}
	if len(in) > maxInterned {
		t.Errorf("interner holds %d names, bound %d", len(in), maxInterned)
	}
}

func TestErrName(t *testing.T) {
	for errno, want := range map[syscall.Errno]string{
		unix.ENOENT: "ENOENT", unix.EEXIST: "EEXIST", 512: "EINTR", 516: "EINTR", 4000: "E4000",
	} {
		if got := errName(errno); got != want {
			t.Errorf("errName(%d) = %q, want %q", errno, got, want)
		}
	}
}

// BenchmarkDecodeContinuation decodes a writer's continued writes, the
// records a chunked replace sends most.
func BenchmarkDecodeContinuation(b *testing.B) {
	open := rawEvent(bpf.RecordEvent{Ts: 1, Ino: 5, Off: -1, Len: -1, Ret: 3, Flags: 0101, Pid: 1, Tid: 2, Fd: 3, Op: kOpenat}, "/d/", "f")
	more := rawMore(2, kWrite, 0, 512, 512, 1, 2)
	names, last := interner{}, writes{}
	var e trail.Event
	if err := decode(open, 0, names, last, &e); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := decode(more, 0, names, last, &e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEvent decodes full records: an open, which starts a
// thread's sequence, and a rename, which carries two paths and its call
// times.
func BenchmarkDecodeEvent(b *testing.B) {
	for _, bc := range []struct {
		name string
		raw  []byte
	}{
		{"open", rawEvent(bpf.RecordEvent{Ts: 1, Ino: 5, Off: -1, Len: -1, Ret: 3, Flags: 0101, Pid: 1, Tid: 2, Fd: 3, Op: kOpenat}, "/d/", "f")},
		{"rename", rawEvent(bpf.RecordEvent{Ts: 7, Off: -1, Len: -1, Pid: 1, Tid: 2, Fd: -1, Op: kRename, Entered: 6}, "/d/", "f.tmp", "/d/", "f")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			names, last := interner{}, writes{}
			var e trail.Event
			b.ReportAllocs()
			for b.Loop() {
				if err := decode(bc.raw, 0, names, last, &e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
