package trail

import (
	"errors"
	"strconv"
	"syscall"
	"time"
)

// WriteStamped writes e as an event of the calling thread: it stamps TS
// with the time now and PID and TID with the caller's, and, when call is
// not zero, sets Call to "<pid>-<call>", so the events of one operation
// share a call id across every process writing to the trail. Consecutive
// events of one call reuse its id string: they allocate nothing. Errors
// are Write's.
func (w *Writer) WriteStamped(e *Event, call uint64) error {
	e.TS = time.Now()
	e.TID = gettid()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pid == 0 {
		w.pid = syscall.Getpid()
	}
	e.PID = w.pid
	if call != 0 {
		if call != w.lastCall || w.callID == "" {
			w.lastCall = call
			w.callID = strconv.Itoa(w.pid) + "-" + strconv.FormatUint(call, 10)
		}
		e.Call = w.callID
	}
	return w.writeLocked(e)
}

// ErrnoName returns the name a trail's err field gives the errno err
// wraps ("EEXIST"), "E<number>" for an errno without a name here, and
// "EUNKNOWN" when err wraps no errno.
func ErrnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := errnoString(errno); name != "" {
			return name
		}
		return "E" + strconv.Itoa(int(errno))
	}
	return "EUNKNOWN"
}
