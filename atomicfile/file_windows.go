package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

// sysFile is the Windows state of a pending replace: a named temp in the
// target's directory, moved over the target with MoveFileEx.
type sysFile struct {
	tmp  *os.File
	name string // the temp's path
	tmp0 [nameMax]byte
}

func (f *File) openTemp() error {
	target := filepath.Join(f.dir, f.base)
	if fi, err := os.Lstat(target); err == nil {
		if fi.IsDir() {
			return pathError("open", f.path, syscall.EISDIR)
		}
		if f.cfg.noClobber {
			return pathError("open", f.path, syscall.EEXIST)
		}
	}
	for range 4 {
		n := tempName(&f.sys.tmp0, f.base)
		name := filepath.Join(f.dir, string(f.sys.tmp0[:n]))
		tmp, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if f.tr.t != nil {
			f.tr.emit("open", filepath.Base(name), "", -1, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0, 0, 0, nil, err)
		}
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return pathError("open", f.dir, underlying(err))
		}
		f.sys.tmp, f.sys.name = tmp, name
		return nil
	}
	return pathError("open", f.dir, syscall.EEXIST)
}

func (f *File) write(b []byte) (int, error) {
	n, err := f.sys.tmp.Write(b)
	if f.tr.t != nil {
		f.tr.emit("write", filepath.Base(f.sys.name), "", -1, 0, f.off, int64(len(b)), int64(n), nil, err)
	}
	return n, underlying(err)
}

func (f *File) syncData() error {
	if f.cfg.noSync {
		return nil
	}
	err := f.sys.tmp.Sync() // FlushFileBuffers
	if f.tr.t != nil {
		f.tr.emit("fsync", filepath.Base(f.sys.name), "", -1, 0, 0, 0, 0, nil, err)
	}
	if err != nil {
		return pathError("fsync", f.path, underlying(err))
	}
	return nil
}

// publish moves the temp over the target. MoveFileEx fails while another
// process (often a virus scanner or an indexer) has the target open without
// FILE_SHARE_DELETE, so sharing violations are retried for about a second.
func (f *File) publish() error {
	if err := f.sys.tmp.Close(); err != nil {
		return pathError("close", f.path, underlying(err))
	}
	f.sys.tmp = nil
	from, err := windows.UTF16PtrFromString(f.sys.name)
	if err != nil {
		return pathError("rename", f.path, err)
	}
	to, err := windows.UTF16PtrFromString(filepath.Join(f.dir, f.base))
	if err != nil {
		return pathError("rename", f.path, err)
	}
	flags := uint32(windows.MOVEFILE_WRITE_THROUGH)
	if !f.cfg.noClobber {
		flags |= windows.MOVEFILE_REPLACE_EXISTING
	}
	delay := time.Millisecond
	for try := 0; ; try++ {
		err = windows.MoveFileEx(from, to, flags)
		if err == nil || try == 10 || (err != windows.ERROR_SHARING_VIOLATION && err != windows.ERROR_ACCESS_DENIED) {
			break
		}
		time.Sleep(delay)
		delay = min(2*delay, 200*time.Millisecond)
	}
	if f.tr.t != nil {
		f.tr.emit("rename", filepath.Base(f.sys.name), f.base, -1, 0, 0, 0, 0, nil, err)
	}
	if err != nil {
		if err == windows.ERROR_ALREADY_EXISTS || err == windows.ERROR_FILE_EXISTS {
			err = syscall.EEXIST
		}
		return pathError("rename", f.path, err)
	}
	f.sys.name = "" // it is the target's name now: never remove it
	return nil
}

// syncDir has nothing to do: Windows cannot sync a directory, and
// MOVEFILE_WRITE_THROUGH returns only once the move is on disk.
func (f *File) syncDir() error { return nil }

// holdOld, dropOld and startWriteback are Linux optimizations of Batch
// (see sys_linux.go).
func (f *File) holdOld()        {}
func (f *File) dropOld()        {}
func (f *File) startWriteback() {}

func (f *File) discard() {
	f.release()
	if f.sys.name != "" {
		err := os.Remove(f.sys.name)
		if f.tr.t != nil {
			f.tr.emit("unlink", filepath.Base(f.sys.name), "", -1, 0, 0, 0, 0, nil, err)
		}
		f.sys.name = ""
	}
}

func (f *File) release() {
	if f.sys.tmp != nil {
		f.sys.tmp.Close()
		f.sys.tmp = nil
	}
}

// underlying strips the *PathError os adds, so that errors name the target.
func underlying(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func lockFile(path string, tr *tracing) (unlock func(), err error) {
	lf, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, underlying(err)
	}
	h := windows.Handle(lf.Fd())
	var ol windows.Overlapped
	err = windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ol)
	if tr.t != nil {
		tr.emit("lock", filepath.Base(path), "", -1, 0, 0, 0, 0, nil, err)
	}
	if err != nil {
		lf.Close()
		return nil, err
	}
	return func() {
		err := windows.UnlockFileEx(h, 0, 1, 0, &ol)
		if tr.t != nil {
			tr.emit("unlock", filepath.Base(path), "", -1, 0, 0, 0, 0, nil, err)
		}
		lf.Close()
	}, nil
}

// RemoveStaleTemps removes the temporary files that writers of path left
// behind when they were killed before committing, and returns their names.
// A live writer's temp is open without FILE_SHARE_DELETE, so it cannot be
// removed and is skipped.
func RemoveStaleTemps(path string) ([]string, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.Type().IsRegular() && isTempOf(e.Name(), base) {
			p := filepath.Join(dir, e.Name())
			if os.Remove(p) == nil {
				removed = append(removed, p)
			}
		}
	}
	return removed, nil
}
