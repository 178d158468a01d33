//go:build unix && !linux

package atomicfile

import "golang.org/x/sys/unix"

// Outside Linux there is no O_TMPFILE: the new content goes to a named temp
// (see createNamed), and system calls go through x/sys/unix, which allocates
// a C string per path.

func (f *File) createTemp(uint32) error { return f.createNamed() }

func (f *File) publish() error { return f.renameNamed() }

// holdOld, dropOld and startWriteback are Linux optimizations of Batch
// (see sys_linux.go).
func (f *File) holdOld()        {}
func (f *File) dropOld()        {}
func (f *File) startWriteback() {}

func readUmask() (uint32, bool) { return 0, false } // no /proc

func sysStat(dirfd int, name string, follow bool) (statInfo, error) {
	return fstatat(dirfd, name, follow)
}

func sysOpenat(dirfd int, name string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags, mode)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func sysRenameat(dirfd int, from, to string) error {
	return unix.Renameat(dirfd, from, dirfd, to)
}

func sysUnlinkat(dirfd int, name string) error { return unix.Unlinkat(dirfd, name, 0) }

func sysLinkat(olddirfd int, oldname string, newdirfd int, newname string, flags int) error {
	return unix.Linkat(olddirfd, oldname, newdirfd, newname, flags)
}
