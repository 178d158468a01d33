package trail

import (
	"errors"
	"strconv"
	"syscall"
	"time"

	"github.com/heisen-dev/heisen/atomicfile"
)

// Trace records one operation of an atomicfile replace, which makes a
// *Writer an atomicfile.Tracer:
//
//	w, _ := trail.Open("/var/log/app.trail", trail.Buffered())
//	atomicfile.WriteFile(path, data, 0o644, atomicfile.WithTracer(w))
//
// It stamps ts (now), pid and tid, sets src "atomicfile" and call
// "<pid>-<call>", so the events of one replace share a call id across every
// process writing to the trail. Trace cannot return an error: the first
// write error is kept and returned by Close. Operations outside format v1
// are dropped.
func (w *Writer) Trace(te *atomicfile.TraceEvent) {
	op, ok := ParseOp(te.Op)
	if !ok {
		return
	}
	ts := time.Now()
	tid := gettid()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pid == 0 {
		w.pid = syscall.Getpid()
	}
	// Consecutive events mostly belong to one replace: keep its call id
	// string so that only the first event of a replace allocates.
	if te.Call != w.lastCall || w.callID == "" {
		w.lastCall = te.Call
		w.callID = strconv.Itoa(w.pid) + "-" + strconv.FormatUint(te.Call, 10)
	}
	e := Event{
		TS: ts, PID: w.pid, TID: tid, Op: op,
		Path: te.Path, To: te.To, FD: te.FD, Dev: te.Dev, Ino: te.Ino,
		Off: te.Off, Len: te.Len, Ret: te.Ret,
		Src: "atomicfile", Call: w.callID,
	}
	if op == OpOpen {
		e.Flags = HostOpenFlags(te.Flags)
	}
	if te.Err != nil {
		e.Err = errnoName(te.Err)
	}
	w.writeLocked(&e)
}

// errnoName returns the errno name of err ("EEXIST"), or "EUNKNOWN" when
// err wraps no errno.
func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := errnoString(errno); name != "" {
			return name
		}
		return "E" + strconv.Itoa(int(errno))
	}
	return "EUNKNOWN"
}
