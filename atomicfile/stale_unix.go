//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// staleAge is how long a temp must have been left unchanged before
// RemoveStaleTemps may lock it to see whether its writer lives: it covers
// the instant between a writer creating its temp and locking it.
const staleAge = time.Second

// RemoveStaleTemps removes the temporary files that writers of path left
// behind when they were killed between creating and committing them, and
// returns their names: the named temps used where O_TMPFILE is unavailable,
// and O_TMPFILE temps whose writer was killed between giving them their temp
// name and the rename (one otherwise has no name and vanishes with its
// process). A writer holds a lock on its temp until it commits or
// discards it, so RemoveStaleTemps never removes the temp of a live writer;
// it also leaves temps changed within the last second. On a file system
// without locks (NFS without its lock daemon) it cannot tell, and returns
// the error of the first lock it tries.
func RemoveStaleTemps(path string) ([]string, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	dirfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, pathError("open", dir, err)
	}
	defer unix.Close(dirfd)
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempOf(e.Name(), base) {
			continue
		}
		ok, err := removeIfStale(dirfd, e.Name())
		if err != nil {
			return removed, pathError("remove", filepath.Join(dir, e.Name()), err)
		}
		if ok {
			removed = append(removed, filepath.Join(dir, e.Name()))
		}
	}
	return removed, nil
}

func removeIfStale(dirfd int, name string) (bool, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return false, nil // committed or removed meanwhile
	}
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	// The age first: a young temp's writer may not have locked it yet,
	// and taking the lock then would make the writer's LOCK_NB fail.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	if time.Since(time.Unix(st.Ctim.Unix())) < staleAge {
		return false, nil
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if err == unix.EWOULDBLOCK {
			return false, nil // its writer is alive
		}
		return false, err
	}
	// The name is random and never reused, and a committed temp's name is
	// gone, so the name still denotes the file we locked.
	if err := unix.Unlinkat(dirfd, name, 0); err != nil && err != unix.ENOENT {
		return false, err
	}
	return true, nil
}
