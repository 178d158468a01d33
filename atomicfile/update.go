package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Update replaces the file at path with fn(old), where old is its current
// content (nil if it does not exist), without losing an update made
// concurrently by another Update, in this process or any other.
//
// Update holds an exclusive advisory lock (flock on Unix, LockFileEx on
// Windows) on a sidecar file ".<base>.lock" in the same directory while it
// reads, calls fn and replaces the file. The target itself is never locked
// and is still replaced atomically, so readers never block and never see a
// partial file. The lock file is left in place on purpose: removing it would
// let a waiter that already opened it lock a file nobody else uses.
// The lock is released when the process dies, so a killed updater does not
// wedge the others.
//
// Only cooperating writers are serialized. A writer that replaces the file
// without Update (WriteFile, an editor, a rename) can have its content
// overwritten by an Update that read the file before it: that write is lost,
// though the file is never torn. A writer that modifies the file in place
// can make Update read a half-written old content. An advisory lock on a
// network file system is only as good as that file system's lock support.
//
// If fn returns an error, the file is untouched and Update returns that
// error. A file that does not exist yet gets 0o666 &^ umask unless
// [WithPerm] says otherwise.
func Update(path string, fn func(old []byte) ([]byte, error), opts ...Option) error {
	cfg := newConfig(0o666, opts)
	// Checked before the lock file is created beside the target.
	dir, base, err := splitTarget(path, cfg.follow)
	if err != nil {
		return err
	}
	target := path
	if cfg.follow {
		// Resolved once, so that the lock and the replace name one file.
		target, cfg.follow = filepath.Join(dir, base), false
	}
	lockPath := filepath.Join(dir, "."+base+".lock")
	tr := newTracing(cfg.tracer, dir)
	unlock, err := lockFile(lockPath, &tr)
	if err != nil {
		return pathError("lock", lockPath, err)
	}
	defer unlock()

	old, err := os.ReadFile(target)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	data, err := fn(old)
	if err != nil {
		return err
	}
	var f File
	if err := f.open(target, cfg); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Commit()
}
