// Package fusefs is a pass-through FUSE file system that logs every
// mutation with its data, and every durability point, to a crash log.
//
// Operations go to a backing directory (heisen's scratch copy, never the
// user's data) and are logged under one lock together with the operation,
// so the log's order is the order in which they took effect. Durability
// points (fsync, fdatasync, fsync of a directory) are logged and not passed
// on: the backing directory is thrown away after the run, so syncing it
// would only cost time.
//
// What the crash models cannot represent is refused, as a file system that
// lacks the feature would refuse it: O_TMPFILE (EOPNOTSUPP; programs fall
// back to a named temporary file), extended attributes (ENOTSUP), device
// and socket nodes (EPERM), fallocate modes other than allocate, keep-size,
// punch-hole and zero-range (EOPNOTSUPP), rename with RENAME_WHITEOUT
// (EINVAL). copy_file_range is answered ENOSYS so that the kernel copies
// with reads and writes, which are logged. Timestamps pass through and are
// not logged: the models do not keep them.
package fusefs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/crash"
)

// FS is the logging file system over one backing directory.
type FS struct {
	backing string
	w       *crash.Writer
	before  func() // runs under the log lock before each logged operation

	idMu sync.Mutex
	ids  map[uint64]crash.NodeID // backing inode number -> node
	next crash.NodeID
}

// New makes the file system over backing and logs backing's current
// contents as the log's initial records. before, if not nil, runs under
// the log's lock before every logged operation (heisen uses it to read the
// workload's stdout lines printed so far, so each line's position is exact).
func New(backing string, w *crash.Writer, before func()) (*FS, error) {
	if before == nil {
		before = func() {}
	}
	f := &FS{backing: backing, w: w, before: before, ids: map[uint64]crash.NodeID{}, next: crash.Root}
	if err := f.logInitial(); err != nil {
		return nil, err
	}
	return f, nil
}

// Mount serves the file system at dir. As root it mounts with mount(2)
// directly; no fusermount is needed. The caller unmounts with the
// server's Unmount.
func (f *FS) Mount(dir string) (*fuse.Server, error) {
	r, err := fs.NewLoopbackRoot(f.backing)
	if err != nil {
		return nil, fmt.Errorf("fusefs: %s: %w", f.backing, err)
	}
	root := &node{LoopbackNode: r.(*fs.LoopbackNode), fs: f}
	root.RootData.RootNode = root
	timeout := time.Second
	srv, err := fs.Mount(dir, root, &fs.Options{
		MountOptions: fuse.MountOptions{
			DirectMount:       true,
			DirectMountStrict: true,
			FsName:            "heisen-crash",
			Name:              "heisen",
			DisableXAttrs:     true,
			AllowOther:        true,
			// Passthrough would let reads and writes bypass the
			// server, and so the log.
			DisabledCapabilities: fuse.CAP_PASSTHROUGH,
		},
		EntryTimeout: &timeout,
		AttrTimeout:  &timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("fusefs: mount %s: %w", dir, err)
	}
	if err := fuseCloseOnExec(); err != nil {
		srv.Unmount()
		return nil, fmt.Errorf("fusefs: mount %s: %w", dir, err)
	}
	return srv, nil
}

// fuseCloseOnExec marks this process's /dev/fuse descriptors close-on-exec.
// go-fuse opens /dev/fuse without O_CLOEXEC when it mounts directly, so
// every program started afterwards would hold the connection open: if the
// server then died, the kernel would not abort the connection, and a
// program waiting on a request (a flush as it exits, even after SIGKILL)
// would wait forever, holding its pipes open.
func fuseCloseOnExec() error {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if t, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || t != "/dev/fuse" {
			continue // not /dev/fuse, or the directory's own descriptor, now closed
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
			return fmt.Errorf("close-on-exec for /dev/fuse (fd %d): %w", fd, err)
		}
	}
	return nil
}

// id returns the node of a backing inode number, giving a new one when the
// log has not seen it (fresh is true for a node just created).
func (f *FS) id(ino uint64, fresh bool) crash.NodeID {
	f.idMu.Lock()
	defer f.idMu.Unlock()
	if id, ok := f.ids[ino]; ok && !fresh {
		return id
	}
	f.next++
	f.ids[ino] = f.next
	return f.next
}

// lstatID is the node at a backing path, 0 if there is none.
func (f *FS) lstatID(path string) (crash.NodeID, *unix.Stat_t) {
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil {
		return 0, nil
	}
	return f.id(st.Ino, false), &st
}

// logInitial logs the backing directory's contents as initial records.
func (f *FS) logInitial() error {
	var st unix.Stat_t
	if err := unix.Lstat(f.backing, &st); err != nil {
		return fmt.Errorf("fusefs: stat %s: %w", f.backing, err)
	}
	f.ids[st.Ino] = crash.Root
	f.w.Init(crash.Op{Op: crash.Chmod, Node: crash.Root, Mode: st.Mode & 0o7777})
	return filepath.WalkDir(f.backing, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == f.backing {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return fmt.Errorf("fusefs: initial contents: %w", err)
		}
		parent, _ := f.lstatID(filepath.Dir(p))
		rel, _ := filepath.Rel(f.backing, p)
		op := crash.Op{Dir: parent, Name: d.Name(), Mode: st.Mode & 0o7777, UID: int(st.Uid), GID: int(st.Gid), Path: rel}
		if id, seen := f.ids[st.Ino]; seen {
			op.Op, op.Node = crash.Link, id
			f.w.Init(op)
			return nil
		}
		op.Node = f.id(st.Ino, true)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			op.Op = crash.Mkdir
		case unix.S_IFREG:
			op.Op = crash.Create
			data, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("fusefs: initial contents: %w", err)
			}
			f.w.Init(op)
			op = crash.Op{Op: crash.Write, Node: op.Node, Data: data, Path: rel}
		case unix.S_IFLNK:
			op.Op = crash.Symlink
			if op.Target, err = os.Readlink(p); err != nil {
				return fmt.Errorf("fusefs: initial contents: %w", err)
			}
		case unix.S_IFIFO:
			op.Op = crash.Mkfifo
		default:
			return fmt.Errorf("fusefs: initial contents: %s is a device or socket, which the crash models do not keep", p)
		}
		f.w.Init(op)
		return nil
	})
}

// locked runs fn under the log lock and appends the operations it returns
// when it succeeds, so that each operation and its records are one step.
func (f *FS) locked(fn func() ([]crash.Op, syscall.Errno)) syscall.Errno {
	f.w.Lock()
	defer f.w.Unlock()
	f.before()
	ops, errno := fn()
	if errno == 0 {
		for _, op := range ops {
			f.w.Append(op)
		}
	}
	return errno
}
