package trail_test

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

func ExampleWriter() {
	w := trail.NewWriter(os.Stdout) // trail.Open(path) for a file several processes share
	ts := time.Date(2026, 11, 25, 12, 0, 0, 100000, time.UTC)
	w.Write(&trail.Event{TS: ts, PID: 4242, TID: 4242, Op: trail.OpOpen, Path: "/data/out.tmp", FD: 3,
		Flags: trail.O_WRONLY | trail.O_CREAT | trail.O_TRUNC, Off: -1, Len: -1, Ret: 3, Src: "example"})
	w.Write(&trail.Event{TS: ts.Add(time.Millisecond), PID: 4242, TID: 4242, Op: trail.OpRename,
		Path: "/data/out.tmp", To: "/data/out", FD: trail.NoFD, Off: -1, Len: -1, Src: "example"})
	w.Close()
	// Output:
	// {"ts":"2026-11-25T12:00:00.000100000Z","pid":4242,"tid":4242,"op":"open","path":"/data/out.tmp","fd":3,"flags":"O_WRONLY|O_CREAT|O_TRUNC","ret":3,"src":"example"}
	// {"ts":"2026-11-25T12:00:00.001100000Z","pid":4242,"tid":4242,"op":"rename","path":"/data/out.tmp","to":"/data/out","ret":0,"src":"example"}
}

func ExampleReader() {
	const t = `{"ts":"2026-11-25T12:00:00.000100000Z","pid":4242,"tid":4242,"op":"open","path":"/data/out.tmp","fd":3,"flags":"O_WRONLY|O_CREAT|O_TRUNC","ret":3}
not a trail line
{"ts":"2026-11-25T12:00:00.000900000Z","pid":4242,"tid":4242,"op":"rename","path":"/data/out.tmp","to":"/data/out","ret":0,"x":{"future":true}}
{"ts":"2026-11-25T12:00:01Z","pid":7,"tid":7,"src":"ebpf","lost":12}
`
	r := trail.NewReader(strings.NewReader(t), "run.trail")
	r.Malformed = func(e *trail.LineError) { fmt.Println("skipped", e) }
	var e trail.Event
	for r.Read(&e) != io.EOF {
		fmt.Println(e.Pos, e.Op, e.Path, e.To, e.FD)
	}
	fmt.Printf("%+v\n", r.Stats())
	// Output:
	// run.trail:1 open /data/out.tmp  3
	// skipped run.trail:2: not a JSON object
	// run.trail:3 rename /data/out.tmp /data/out -1
	// {Lines:4 Events:2 Malformed:1 LossRecords:1 Lost:12 Backwards:0 MaxBackwards:0s}
}

func ExampleMerge() {
	a := trail.NewReader(strings.NewReader(`{"ts":"2026-11-25T12:00:00.1Z","pid":1,"op":"close","fd":3}
{"ts":"2026-11-25T12:00:00.3Z","pid":1,"op":"close","fd":4}
`), "a.trail")
	b := trail.NewReader(strings.NewReader(`{"ts":"2026-11-25T12:00:00.2Z","pid":2,"op":"close","fd":3}
`), "b.trail")
	m := trail.Merge(a, b)
	var e trail.Event
	for m.Read(&e) != io.EOF {
		fmt.Println(e.Pos, e.PID, e.TS.Format("05.0"))
	}
	// Output:
	// a.trail:1 1 00.1
	// b.trail:1 2 00.2
	// a.trail:2 1 00.3
}
