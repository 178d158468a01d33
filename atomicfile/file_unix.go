//go:build unix

package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysFile is the Unix state of a pending replace. It uses raw descriptors
// and NUL-terminated names in fixed arrays so that a replace does not
// allocate.
type sysFile struct {
	dirfd    int
	fd       int
	oldfd    int    // the replaced file, held open by a Batch; see holdOld
	named    bool   // the temp has a name in dir (not O_TMPFILE)
	metadata bool   // mode or owner changed after creation: sync with fsync, not fdatasync
	mode     uint32 // permission bits the new file must end with
	tmp      [nameMax]byte
	tmpLen   int
}

// tmpName returns the temp's name without copying; it is valid while s is.
func (s *sysFile) tmpName() string { return unsafe.String(&s.tmp[0], s.tmpLen) }

// traceName names the temp in trace events: an unnamed O_TMPFILE is
// reported as its directory, as it was opened.
func (s *sysFile) traceName() string {
	if s.tmpLen == 0 {
		return "."
	}
	return s.tmpName()
}

// openTemp opens the target's directory, looks at the target, and creates
// the temporary file.
func (f *File) openTemp() error {
	f.sys.dirfd, f.sys.fd, f.sys.oldfd = -1, -1, -1
	dirfd, err := sysOpenat(unix.AT_FDCWD, f.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if f.tr.t != nil {
		f.tr.emit("open", ".", "", dirfd, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, int64(dirfd), nil, err)
	}
	if err != nil {
		return pathError("open", f.dir, err)
	}
	f.sys.dirfd = dirfd

	exists := false
	st, err := sysStat(dirfd, f.base, false)
	switch {
	case err == nil:
		if st.mode&unix.S_IFMT == unix.S_IFLNK {
			// Replacing the link: the new file takes the mode and owner of
			// the file it points to, if that is a file.
			if st, err = sysStat(dirfd, f.base, true); err != nil || st.mode&unix.S_IFMT != unix.S_IFREG {
				exists = f.cfg.noClobber // only the link exists
				break
			}
		}
		if st.mode&unix.S_IFMT == unix.S_IFDIR {
			f.release()
			return pathError("open", f.path, syscall.EISDIR)
		}
		exists = true
	case err == unix.ENOENT:
	default:
		f.release()
		return pathError("stat", f.path, err)
	}
	if exists && f.cfg.noClobber {
		f.release()
		return pathError("open", f.path, syscall.EEXIST)
	}

	create := uint32(f.cfg.perm.Perm())
	if exists {
		create = st.mode & 0o7777
	} else if f.cfg.ignoreUmask {
		create = uint32(f.cfg.perm.Perm())
	} else {
		create &^= umask()
	}
	f.sys.mode = create
	if err := f.createTemp(create); err != nil {
		f.release()
		return err
	}
	if exists && (int(st.uid) != os.Geteuid() || int(st.gid) != os.Getegid()) {
		// Keep the owner where we may; an unprivileged writer cannot give a
		// file away, and the file then belongs to the writer.
		if err := unix.Fchown(f.sys.fd, int(st.uid), int(st.gid)); err == nil {
			f.sys.metadata = true
		} else if err != unix.EPERM {
			f.discard()
			return pathError("chown", f.path, err)
		}
	}
	if !f.sys.named && (f.sys.metadata || create&umask() != 0 || create&^0o777 != 0) {
		// The kernel applied the umask (and dropped special bits) at creation.
		if err := unix.Fchmod(f.sys.fd, create); err != nil {
			f.discard()
			return pathError("chmod", f.path, err)
		}
		f.sys.metadata = true
	}
	return nil
}

// createNamed creates the fallback temp ".<base>.<32 hex digits>.tmp" with
// O_EXCL|O_NOFOLLOW and mode 0600, and locks it so that RemoveStaleTemps can
// tell it from the litter of a killed process.
func (f *File) createNamed() error {
	for range 4 { // 128 random bits: a collision means someone copies our names
		f.sys.tmpLen = tempName(&f.sys.tmp, f.base)
		fd, err := sysOpenat(f.sys.dirfd, f.sys.tmpName(), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if f.tr.t != nil {
			f.tr.emit("open", f.sys.tmpName(), "", fd, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0, 0, int64(fd), nil, err)
		}
		if err == unix.EEXIST {
			continue
		}
		if err != nil {
			// The temp's own name: the directory itself may be fine
			// (procfs refuses a new file with ENOENT).
			// A copy, so that the File does not escape to the heap.
			return pathError("open", filepath.Join(f.dir, string(f.sys.tmp[:f.sys.tmpLen])), err)
		}
		f.sys.fd, f.sys.named = fd, true
		if err := lockTemp(fd); err != nil {
			f.discard()
			return pathError("lock", f.dir, err)
		}
		return nil
	}
	return pathError("open", f.dir, syscall.EEXIST)
}

// lockTemp locks a new temp for as long as its writer lives, which tells
// RemoveStaleTemps the temp is not litter. Where the file system has no
// locks (NFS without its lock daemon: ENOLCK) the replace goes on unlocked:
// RemoveStaleTemps cannot lock there either, so it removes nothing.
func lockTemp(fd int) error {
	err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	if err == unix.ENOLCK || err == unix.EOPNOTSUPP || err == unix.ENOSYS {
		return nil
	}
	return err
}

func (f *File) write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Write(f.sys.fd, b[n:])
		if f.tr.t != nil {
			f.tr.emit("write", f.sys.traceName(), "", f.sys.fd, 0, f.off+int64(n), int64(len(b)-n), int64(m), nil, err)
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, syscall.EIO
		}
		n += m
	}
	return n, nil
}

// syncData makes the temp's content (and, for a named temp, its final
// mode) durable before it can become visible under the target name: a
// rename that reaches the disk before the data is how XFS and ext4 without
// auto_da_alloc produce empty files after a crash.
func (f *File) syncData() error {
	if f.sys.named {
		if err := unix.Fchmod(f.sys.fd, f.sys.mode); err != nil {
			return pathError("chmod", f.path, err)
		}
		f.sys.metadata = true
	}
	if f.cfg.noSync {
		return nil
	}
	op := "fdatasync"
	if f.sys.metadata {
		op = "fsync"
	}
	if err := f.sync(op); err != nil {
		return pathError(op, f.path, err)
	}
	return nil
}

func (f *File) sync(op string) error {
	var err error
	for {
		if op == "fsync" {
			err = fullSync(f.sys.fd)
		} else {
			err = dataSync(f.sys.fd)
		}
		if err != unix.EINTR {
			break
		}
	}
	if f.tr.t != nil {
		f.tr.emit(op, f.sys.traceName(), "", f.sys.fd, 0, 0, 0, 0, nil, err)
	}
	return err
}

// renameNamed moves the named temp over the target (or, with NoClobber, to
// the target only if it does not exist). On failure it removes the temp.
func (f *File) renameNamed() error {
	var err error
	if f.cfg.noClobber {
		err = renameNoReplace(f.sys.dirfd, f.sys.tmpName(), f.base)
		if err == unix.EINVAL || err == unix.ENOSYS || err == unix.ENOTSUP {
			// No RENAME_NOREPLACE here: link(2) also fails if the name exists.
			err = f.linkat(f.sys.dirfd, f.sys.tmpName(), f.base, 0)
			if err == nil {
				f.unlinkTemp()
			}
			return f.renameErr("link", err)
		}
	} else {
		err = sysRenameat(f.sys.dirfd, f.sys.tmpName(), f.base)
	}
	if f.tr.t != nil {
		f.tr.emit("rename", f.sys.tmpName(), f.base, -1, 0, 0, 0, 0, nil, err)
	}
	return f.renameErr("rename", err)
}

func (f *File) renameErr(op string, err error) error {
	if err == nil {
		// The temp's name now belongs to the target (or is gone): never
		// unlink it again, it could delete someone else's new file.
		f.sys.named = false
		return nil
	}
	return pathError(op, f.path, err)
}

// syncDir makes the rename durable. The replace has happened at this point,
// so a failure is reported as ErrNotDurable rather than as a failed replace.
func (f *File) syncDir() error {
	err := fsyncDir(f.sys.dirfd)
	if f.tr.t != nil {
		f.tr.emit("fsync", ".", "", f.sys.dirfd, 0, 0, 0, 0, nil, err)
	}
	if err != nil {
		return pathError("fsync", f.dir, fmt.Errorf("%w: %w", ErrNotDurable, err))
	}
	return nil
}

func fsyncDir(fd int) error {
	for {
		err := unix.Fsync(fd)
		if err != unix.EINTR {
			return err
		}
	}
}

func (f *File) unlinkTemp() {
	err := sysUnlinkat(f.sys.dirfd, f.sys.tmpName())
	if f.tr.t != nil {
		f.tr.emit("unlink", f.sys.tmpName(), "", -1, 0, 0, 0, 0, nil, err)
	}
	f.sys.named = false
}

// discard removes the temp and closes the descriptors.
func (f *File) discard() {
	if f.sys.named {
		f.unlinkTemp()
	}
	f.release()
}

// release closes the descriptors.
func (f *File) release() {
	for _, fd := range [3]*int{&f.sys.fd, &f.sys.oldfd, &f.sys.dirfd} {
		if *fd >= 0 {
			err := unix.Close(*fd)
			if f.tr.t != nil {
				f.tr.emit("close", "", "", *fd, 0, 0, 0, 0, nil, err)
			}
			*fd = -1
		}
	}
}

func (f *File) linkat(olddirfd int, oldname, newname string, flags int) error {
	err := sysLinkat(olddirfd, oldname, f.sys.dirfd, newname, flags)
	if f.tr.t != nil {
		from, fd := oldname, -1
		if from == "" { // AT_EMPTY_PATH: the source is the descriptor itself
			from, fd = ".", olddirfd
		}
		f.tr.emit("link", from, newname, fd, 0, 0, 0, 0, nil, err)
	}
	return err
}

type statInfo struct{ mode, uid, gid uint32 }

// fstatat is sysStat through x/sys/unix, which allocates a C string for
// name: outside Linux, and on Linux before statx.
func fstatat(dirfd int, name string, follow bool) (statInfo, error) {
	flags := 0
	if !follow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, flags); err != nil {
		return statInfo{}, err
	}
	return statInfo{mode: uint32(st.Mode), uid: st.Uid, gid: st.Gid}, nil
}

// umask returns the process umask, read once from /proc/self/status:
// syscall.Umask can only read it by setting it, which races with every other
// goroutine creating files. Without /proc it assumes the common 022.
var umask = sync.OnceValue(func() uint32 {
	if m, ok := readUmask(); ok {
		return m
	}
	return 0o022
})
