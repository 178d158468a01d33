package atomicfile

import "golang.org/x/sys/unix"

// dataSync and fullSync use F_FULLFSYNC, as os.File.Sync does on darwin:
// plain fsync there leaves the data in the drive's volatile cache. File
// systems that do not support it (some network ones) get fsync.
func dataSync(fd int) error {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_FULLFSYNC, 0); err == nil {
		return nil
	}
	return unix.Fsync(fd)
}

func fullSync(fd int) error { return dataSync(fd) }

func renameNoReplace(dirfd int, from, to string) error {
	return unix.RenameatxNp(dirfd, from, dirfd, to, unix.RENAME_EXCL)
}
