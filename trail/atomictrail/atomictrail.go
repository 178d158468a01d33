// Package atomictrail is where atomicfile and trail meet: its Tracer
// writes every file operation of every atomicfile replace to a trail, so
// that neither package imports the other.
//
//	w, _ := trail.Open("/var/log/app.trail", trail.Buffered())
//	atomicfile.WriteFile(path, data, 0o644, atomicfile.WithTracer(atomictrail.Tracer(w)))
package atomictrail

import (
	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/heisen-dev/heisen/trail"
)

// Tracer returns the atomicfile.Tracer that writes to w. Each event is
// stamped with the time, pid and tid (trail.Writer.WriteStamped), has src
// "atomicfile" and call "<pid>-<call>", so the events of one replace share
// a call id across every process writing to the trail. Tracing cannot fail
// a replace: the first write error is kept and returned by w.Close.
// Operations outside the trail format are dropped.
func Tracer(w *trail.Writer) atomicfile.Tracer { return tracer{w} }

type tracer struct{ w *trail.Writer }

func (t tracer) Trace(te *atomicfile.TraceEvent) {
	op, ok := trail.ParseOp(te.Op)
	if !ok {
		return
	}
	e := trail.Event{
		Op: op, Path: te.Path, To: te.To, FD: te.FD, Dev: te.Dev, Ino: te.Ino,
		Off: te.Off, Len: te.Len, Ret: te.Ret, Src: "atomicfile",
	}
	switch op {
	case trail.OpOpen:
		e.Flags = trail.HostOpenFlags(te.Flags)
	case trail.OpLock, trail.OpUnlock:
		// atomicfile's lock is an exclusive whole-file flock (LockFileEx
		// on Windows, which is also owned by the open file).
		e.Lock, e.Off, e.Len = "flock", 0, 0
		if op == trail.OpLock {
			e.Mode = "exclusive"
		}
	}
	if te.Err != nil {
		e.Err = trail.ErrnoName(te.Err)
	}
	t.w.WriteStamped(&e, te.Call)
}
