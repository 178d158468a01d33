// Package precision holds shapes from real code that were reported and are
// correct: each must stay quiet.
package precision

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// After runc's pid file (utils.go, createPidFile): the temp file is opened
// with O_SYNC, so every write reaches the disk before it returns; the
// rename needs no Sync.
func pidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_SYNC, 0o666)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Itoa(pid))
	f.Close()
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// The same with O_DSYNC, which syncs the data (what a rename needs).
func dsync(target string, data []byte) error {
	f, err := os.OpenFile(target+".new", os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_DSYNC, 0o600)
	if err != nil {
		return err
	}
	f.Write(data)
	f.Close()
	return os.Rename(target+".new", target)
}

// After etcd's snapshot writer (server/etcdserver/api/snap, SaveDBFrom):
// the Sync runs only when the copy succeeded, and a failed copy returns
// before the rename, so every path that reaches the rename synced.
func saveFrom(r io.Reader, dir, name string) (int64, error) {
	f, err := os.CreateTemp(dir, "tmp")
	if err != nil {
		return 0, err
	}
	var n int64
	n, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		os.Remove(f.Name())
		return n, err
	}
	fn := filepath.Join(dir, name)
	if err := os.Rename(f.Name(), fn); err != nil {
		os.Remove(f.Name())
		return n, err
	}
	return n, nil
}

// The same cut through a named error and a switch on it.
func cutTwice(dir string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "x")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, "y"))
}

// After prometheus's discovery/file tests (writeString): the temp file is
// made in the test's own directory, and the targets live there too.
type runner struct {
	*testing.T
	dir string
}

func newRunner(t *testing.T) *runner { return &runner{T: t, dir: t.TempDir()} }

func (t *runner) writeString(file, data string) {
	f, err := os.CreateTemp(t.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(data)
	f.Sync()
	f.Close()
	if err := os.Rename(f.Name(), file); err != nil {
		t.Fatal(err)
	}
}

// A temp in a directory the caller names, renamed into the same directory.
func sameDir(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "x")
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(f.Name(), filepath.Join(dir, name))
}
