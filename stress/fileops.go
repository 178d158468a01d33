package stress

import (
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/heisen-dev/heisen/trail"
	"golang.org/x/sys/unix"
)

// fileOps makes a writer's file operations and, when tr is set, leaves one
// trail event per operation: the log line of the story, with the temp
// name, the pid and the time, plus the inode so that analyze can tell two
// opens of one name from two files.
type fileOps struct {
	tr  *trail.Writer // nil: no trail
	pid int
}

const createFlags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC

func (ops *fileOps) create(path string) (*os.File, error) {
	f, err := os.OpenFile(path, createFlags, 0o644)
	if ops.tr == nil {
		return f, err
	}
	e := ops.event(trail.OpOpen, path, err)
	e.Flags = trail.HostOpenFlags(createFlags)
	if err == nil {
		e.FD = int(f.Fd())
		e.Ret = int64(e.FD)
		var st unix.Stat_t
		if unix.Fstat(e.FD, &st) == nil {
			e.Dev, e.Ino = st.Dev, st.Ino
		}
	}
	ops.tr.Write(&e)
	return f, err
}

func (ops *fileOps) close(f *os.File) error {
	if ops.tr == nil {
		return f.Close()
	}
	fd := int(f.Fd())
	err := f.Close()
	e := ops.event(trail.OpClose, f.Name(), err)
	e.FD = fd
	ops.tr.Write(&e)
	return err
}

func (ops *fileOps) rename(from, to string) error {
	err := os.Rename(from, to)
	if ops.tr == nil {
		return err
	}
	e := ops.event(trail.OpRename, from, err)
	e.To = to
	ops.tr.Write(&e)
	return err
}

func (ops *fileOps) remove(path string) error {
	err := os.Remove(path)
	if ops.tr != nil {
		e := ops.event(trail.OpUnlink, path, err)
		ops.tr.Write(&e)
	}
	return err
}

// event fills what every trail event of a writer has. A failed operation
// carries its errno name and ret -1, as the syscall returned.
func (ops *fileOps) event(op trail.Op, path string, err error) trail.Event {
	e := trail.Event{
		TS: time.Now(), PID: ops.pid, TID: unix.Gettid(), Op: op,
		Path: path, FD: trail.NoFD, Off: -1, Len: -1, Src: "stress",
	}
	if err != nil {
		e.Ret = -1
		var errno syscall.Errno
		if errors.As(err, &errno) {
			e.Err = unix.ErrnoName(errno)
		}
	}
	return e
}
