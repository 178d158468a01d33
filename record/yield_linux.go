//go:build linux && (amd64 || arm64)

package record

import "golang.org/x/sys/unix"

// yieldNice is the nice value the ring buffer's reader runs at while the
// ring has room. The reader wakes every Config.Poll and decodes a burst of
// events; at the recorder's own priority that burst preempts a traced
// thread wherever it is, and a thread preempted between the open and the
// rename of a temp file holds its race window open for the whole burst.
// At nice 19 the reader runs on idle CPU time instead, and the traced
// program's races keep their unobserved rate (docs/record.md).
const yieldNice = 19

// catchUp is the fill of the ring buffer, as a fraction of its size, above
// which the reader runs at the recorder's own priority again: a machine
// the traced program keeps busy leaves a nice-19 thread too little time,
// and an unread ring that fills loses events.
const catchUp = 4 // a quarter full

// A yielder sets the priority of the thread that reads the ring buffer.
// It must be used from the goroutine that made it, locked to its thread
// until restore. That thread goes back to Go's pool afterwards rather than
// ending with a locked goroutine: a thread's end sends the parent-death
// signal (Pdeathsig) to every child it started, and callers such as
// heisen stress start their workers with one.
type yielder struct {
	base     int  // the thread's nice value when the reader started
	yielding bool // whether the thread runs at yieldNice now
	ok       bool // whether this process may return from yieldNice to base
}

// newYielder returns a yielder for the calling thread. Raising a nice value
// is always allowed, lowering it back needs CAP_SYS_NICE or RLIMIT_NICE:
// it tries both ways once, and without them the reader never yields, so
// it can always catch up.
func newYielder() *yielder {
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0) // 20 - nice on Linux
	if err != nil {
		return &yielder{}
	}
	y := &yielder{base: 20 - prio}
	y.ok = unix.Setpriority(unix.PRIO_PROCESS, 0, yieldNice) == nil &&
		unix.Setpriority(unix.PRIO_PROCESS, 0, y.base) == nil
	return y
}

// adjust yields while the ring is less than 1/catchUp full and catches up
// above that. It costs a system call only when the priority changes.
func (y *yielder) adjust(unread, size int) {
	want := y.ok && unread < size/catchUp && y.base < yieldNice
	if want == y.yielding {
		return
	}
	nice := y.base
	if want {
		nice = yieldNice
	}
	if unix.Setpriority(unix.PRIO_PROCESS, 0, nice) == nil {
		y.yielding = want
	}
}

// restore returns the thread to the priority it had when the yielder was
// made.
func (y *yielder) restore() {
	if y.yielding && unix.Setpriority(unix.PRIO_PROCESS, 0, y.base) == nil {
		y.yielding = false
	}
}
