package atomicfile

import (
	"path/filepath"
	"strings"
	"sync/atomic"
)

// TraceEvent is one file operation of a replace, handed to a Tracer.
type TraceEvent struct {
	Op       string // "open", "write", "fdatasync", "fsync", "link", "rename", "unlink", "close", "lock", "unlock"
	Path     string // absolute and cleaned; for link and rename the source
	To       string // destination of link and rename
	FD       int    // -1 when the op has none
	Flags    int    // open(2) flags, for "open"
	Dev, Ino uint64 // of the file, when known
	Off, Len int64
	Ret      int64
	Err      error  // nil on success; the errno via errors.As(err, *syscall.Errno)
	Call     uint64 // groups the events of one replace; unique within the process
}

// A Tracer receives every file operation of every replace made with the
// option [WithTracer]. Trace must not retain e. Trace is called from the
// goroutine making the replace, and from several goroutines at once during a
// [Batch] commit, so it must be safe for concurrent use.
type Tracer interface{ Trace(e *TraceEvent) }

var lastCall atomic.Uint64

// tracing holds what a traced replace needs; it is only filled when a tracer
// is set, so untraced replaces pay one nil check per operation.
type tracing struct {
	t    Tracer
	call uint64
	dir  string // absolute directory of the target
}

func newTracing(t Tracer, dir string) tracing {
	if t == nil {
		return tracing{}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = filepath.Clean(dir)
	}
	return tracing{t: t, call: lastCall.Add(1), dir: abs}
}

// emit sends one event. name and to are file names relative to the target's
// directory (empty when the event has no path).
func (tr *tracing) emit(op, name, to string, fd, flags int, off, n, ret int64, ino *fileID, err error) {
	e := TraceEvent{Op: op, FD: fd, Flags: flags, Off: off, Len: n, Ret: ret, Err: err, Call: tr.call}
	e.Path, e.To = tr.abs(name), tr.abs(to)
	if ino != nil {
		e.Dev, e.Ino = ino.dev, ino.ino
	}
	tr.t.Trace(&e)
}

// fileID identifies a file for trace events.
type fileID struct{ dev, ino uint64 }

// abs returns name made absolute against the target's directory. It always
// copies: name may point into a File or a stack buffer.
func (tr *tracing) abs(name string) string {
	switch {
	case name == "":
		return ""
	case filepath.IsAbs(name):
		return filepath.Clean(strings.Clone(name))
	}
	return filepath.Clean(tr.dir + string(filepath.Separator) + name)
}
