// Package locked holds fixed temp names written under an exclusive file
// lock, which serializes the writers that take it (as shellrace treats a
// write after "flock FD"), beside the near-misses where the lock is not
// held on every path to the create.
package locked

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/gofrs/flock"
)

// lockDir takes an exclusive flock on dir/lock and returns holding it: its
// callers' writes are serialized.
func lockDir(dir string) (*os.File, error) { // want lockDir:"lock"
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func unlockDir(f *os.File) { // want unlockDir:"unlock"
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	f.Close()
}

// The update under the directory's lock: quiet for predictable-temp (the
// Sync makes it crash-safe too).
func saveLocked(dir string, data []byte) error {
	l, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlockDir(l)
	path := filepath.Join(dir, "state.json")
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(path+".tmp", path)
}

// The same with a lock-file library: quiet.
func saveFlock(path string, data []byte) error {
	l := flock.New(path + ".lock")
	if err := l.Lock(); err != nil {
		return err
	}
	defer l.Unlock()
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path) // want `unsynced-rename`
}

// Near-miss: the lock is taken on one branch only.
func saveSometimes(path string, data []byte, shared bool) error {
	if shared {
		l := flock.New(path + ".lock")
		if err := l.Lock(); err != nil {
			return err
		}
		defer l.Unlock()
	}
	f, err := os.Create(path + ".tmp") // want `predictable-temp: .*the target's name with a fixed suffix`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(path+".tmp", path)
}

// Near-miss: the lock is released before the create.
func saveAfterUnlock(path string, data []byte) error {
	l := flock.New(path + ".lock")
	if err := l.Lock(); err != nil {
		return err
	}
	l.Unlock()
	f, err := os.Create(path + ".tmp") // want `predictable-temp`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(path+".tmp", path)
}

// Near-miss: a shared lock (LOCK_SH) does not exclude another writer.
func saveShared(path string, lock *os.File, data []byte) error {
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_SH); err != nil {
		return err
	}
	f, err := os.Create(path + ".tmp") // want `predictable-temp`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(path+".tmp", path)
}

// Near-miss: the lock is taken by a helper that also releases it, like
// prometheus's fileutil set(lock bool), whose operation is not a constant:
// nothing proves a lock is held.
func setLock(f *os.File, on bool) error {
	how := syscall.LOCK_UN
	if on {
		how = syscall.LOCK_EX
	}
	return syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
}

func saveUnproved(path string, lock *os.File, data []byte) error {
	if err := setLock(lock, true); err != nil {
		return err
	}
	f, err := os.Create(path + ".tmp") // want `predictable-temp`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(path+".tmp", path)
}

// Near-miss: in the shared temp directory a lock does not stop another
// user from creating the name first or planting a symlink there.
func saveTempLocked(data []byte) error {
	l := flock.New(filepath.Join(os.TempDir(), "app.lock"))
	if err := l.Lock(); err != nil {
		return err
	}
	defer l.Unlock()
	name := filepath.Join(os.TempDir(), "app.state")
	f, err := os.Create(name + ".tmp") // want `predictable-temp`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(name+".tmp", name)
}
