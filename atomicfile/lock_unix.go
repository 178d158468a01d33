//go:build unix

package atomicfile

import (
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive flock on path, creating it if needed. flock
// needs no write access, so the lock file is opened read-only and any user
// who can read it can take part.
func lockFile(path string, tr *tracing) (unlock func(), err error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if tr.t != nil {
		tr.emit("lock", name, "", fd, 0, 0, 0, 0, nil, err)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return func() {
		err := unix.Flock(fd, unix.LOCK_UN)
		if tr.t != nil {
			tr.emit("unlock", name, "", fd, 0, 0, 0, 0, nil, err)
		}
		unix.Close(fd)
	}, nil
}
