package analyze

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// A Timeline writes windows and findings as Chrome trace-event JSON, which
// Perfetto (ui.perfetto.dev) and chrome://tracing open: one track per
// process, each open→close window an async span named by its path (async,
// because one process's windows overlap and plain spans on one thread
// would nest badly), and each finding an instant event named by its kind.
// It streams: windows are written as they end.
type Timeline struct {
	w     *bufio.Writer
	n     int
	procs map[int]bool
	err   error
	buf   []byte
}

// NewTimeline starts a trace on w. Call Close to finish the JSON.
func NewTimeline(w io.Writer) *Timeline {
	t := &Timeline{w: bufio.NewWriter(w), procs: map[int]bool{}}
	t.write([]byte(`{"displayTimeUnit":"ms","traceEvents":[`))
	return t
}

func (t *Timeline) write(b []byte) {
	if t.err == nil {
		_, t.err = t.w.Write(b)
	}
}

func (t *Timeline) event(b []byte) {
	if t.n > 0 {
		t.write([]byte(",\n"))
	} else {
		t.write([]byte("\n"))
	}
	t.n++
	t.write(b)
}

// micros renders t as microseconds since the epoch, keeping nanoseconds.
func micros(b []byte, t time.Time) []byte {
	ns := t.UnixNano()
	b = strconv.AppendInt(b, ns/1000, 10)
	b = append(b, '.')
	frac := ns % 1000
	return append(b, byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

func (t *Timeline) process(pid int) {
	if t.procs[pid] {
		return
	}
	t.procs[pid] = true
	t.event(fmt.Appendf(nil, `{"ph":"M","name":"process_name","pid":%d,"args":{"name":"pid %d"}}`, pid, pid))
}

// Window adds one open→close window as an async span.
func (t *Timeline) Window(w *Window) {
	t.process(w.PID)
	name, _ := json.Marshal(w.Path)
	for _, ph := range []struct {
		c  byte
		at time.Time
	}{{'b', w.Start}, {'e', w.End}} {
		b := t.buf[:0]
		b = append(b, `{"ph":"`...)
		b = append(b, ph.c)
		b = append(b, `","cat":"file","name":`...)
		b = append(b, name...)
		b = fmt.Appendf(b, `,"id":"0x%x","pid":%d,"tid":%d,"ts":`, w.ID, w.PID, w.TID)
		b = micros(b, ph.at)
		if ph.c == 'b' {
			b = append(b, `,"args":{"flags":"`...)
			b = append(b, w.Flags.String()...)
			b = append(b, `"}`...)
		}
		b = append(b, '}')
		t.buf = b
		t.event(b)
	}
}

// Finding adds f as an instant event on the track of each of its
// processes, at the start of its time window.
func (t *Timeline) Finding(f *Finding) {
	ev := make([]string, len(f.Evidence))
	for i := range f.Evidence {
		ev[i] = f.Evidence[i].Pos.String()
	}
	args, _ := json.Marshal(map[string]any{
		"severity": f.Severity.String(), "path": f.Path, "message": f.Message, "evidence": ev,
	})
	for _, pid := range f.PIDs {
		t.process(pid)
		b := fmt.Appendf(nil, `{"ph":"i","s":"p","cat":"finding","name":%q,"pid":%d,"tid":%d,"ts":`, f.Kind, pid, pid)
		b = micros(b, f.Start)
		b = append(b, `,"args":`...)
		b = append(b, args...)
		t.event(append(b, '}'))
	}
}

// Close finishes the JSON document and flushes it.
func (t *Timeline) Close() error {
	t.write([]byte("\n]}\n"))
	if t.err == nil {
		t.err = t.w.Flush()
	}
	return t.err
}

// KeepWindow reports whether a window passes the time and path filters of
// o, as findings do.
func (o *Options) KeepWindow(w *Window) bool {
	if !o.Since.IsZero() && w.End.Before(o.Since) || !o.Until.IsZero() && w.Start.After(o.Until) {
		return false
	}
	if len(o.Paths) == 0 {
		return true
	}
	for _, p := range o.Paths {
		if pathMatches(p, w.Path) {
			return true
		}
	}
	return false
}
