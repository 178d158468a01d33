package fusefs

import (
	"context"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/crash"
)

// node is a loopback node whose mutations are logged. Methods it does not
// override are the loopback's reads, which change nothing.
type node struct {
	*fs.LoopbackNode
	fs *FS
}

// WrapChild makes every node the loopback creates a logging node.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), fs: n.fs}
}

// rel is the node's path under the root, for the report; backing its path
// in the backing directory.
func (n *node) rel() string {
	p := n.EmbeddedInode().Path(nil)
	if p == "" && !n.EmbeddedInode().IsRoot() {
		return "(an unlinked file)"
	}
	return p
}
func (n *node) backing() string {
	return filepath.Join(n.fs.backing, n.rel())
}
func (n *node) id() crash.NodeID {
	if n.EmbeddedInode().IsRoot() {
		return crash.Root // go-fuse gives the root its own inode number
	}
	return n.fs.id(n.StableAttr().Ino, false)
}

func (n *node) child(name string) (backing, rel string) {
	return filepath.Join(n.backing(), name), filepath.Join(n.rel(), name)
}

// created logs a new directory entry for a node just made at name.
func (n *node) created(kind crash.Kind, name, target string) ([]crash.Op, syscall.Errno) {
	p, rel := n.child(name)
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return nil, fs.ToErrno(err)
	}
	op := crash.Op{Op: kind, Dir: n.id(), Name: name, Node: n.fs.id(st.Ino, true),
		Mode: st.Mode & 0o7777, UID: int(st.Uid), GID: int(st.Gid), Target: target, Path: rel}
	return []crash.Op{op}, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (ch *fs.Inode, fh fs.FileHandle, fuseFlags uint32, errno syscall.Errno) {
	errno = n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		p, rel := n.child(name)
		existing, _ := n.fs.lstatID(p)
		var lf fs.FileHandle
		ch, lf, fuseFlags, errno = n.LoopbackNode.Create(ctx, name, flags, mode, out)
		if errno != 0 {
			return nil, errno
		}
		fh = &file{lf: lf.(*fs.LoopbackFile), n: ch.Operations().(*node)}
		if existing != 0 { // made by someone else meanwhile; opened, not created
			if flags&syscall.O_TRUNC != 0 {
				return []crash.Op{{Op: crash.Truncate, Node: existing, Path: rel}}, 0
			}
			return nil, 0
		}
		return n.created(crash.Create, name, "")
	})
	return ch, fh, fuseFlags, errno
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (ch *fs.Inode, errno syscall.Errno) {
	errno = n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		if ch, errno = n.LoopbackNode.Mkdir(ctx, name, mode, out); errno != 0 {
			return nil, errno
		}
		return n.created(crash.Mkdir, name, "")
	})
	return ch, errno
}

func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (ch *fs.Inode, errno syscall.Errno) {
	kind := crash.Create
	switch mode & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFIFO:
		kind = crash.Mkfifo
	default:
		return nil, syscall.EPERM
	}
	errno = n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		if ch, errno = n.LoopbackNode.Mknod(ctx, name, mode, rdev, out); errno != 0 {
			return nil, errno
		}
		return n.created(kind, name, "")
	})
	return ch, errno
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (ch *fs.Inode, errno syscall.Errno) {
	errno = n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		if ch, errno = n.LoopbackNode.Symlink(ctx, target, name, out); errno != 0 {
			return nil, errno
		}
		return n.created(crash.Symlink, name, target)
	})
	return ch, errno
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (ch *fs.Inode, errno syscall.Errno) {
	errno = n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		if ch, errno = n.LoopbackNode.Link(ctx, target, name, out); errno != 0 {
			return nil, errno
		}
		_, rel := n.child(name)
		t := target.(*node)
		return []crash.Op{{Op: crash.Link, Dir: n.id(), Name: name, Node: t.id(), Path: rel, Path2: t.rel()}}, 0
	})
	return ch, errno
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.remove(crash.Unlink, name, n.LoopbackNode.Unlink)
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.remove(crash.Rmdir, name, n.LoopbackNode.Rmdir)
}

func (n *node) remove(kind crash.Kind, name string, do func(context.Context, string) syscall.Errno) syscall.Errno {
	return n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		p, rel := n.child(name)
		id, _ := n.fs.lstatID(p)
		if errno := do(context.Background(), name); errno != 0 {
			return nil, errno
		}
		return []crash.Op{{Op: kind, Dir: n.id(), Name: name, Node: id, Path: rel}}, 0
	})
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if flags&^(crash.RenameNoReplace|crash.RenameExchange) != 0 {
		return syscall.EINVAL
	}
	to := newParent.(*node)
	return n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		p, rel := n.child(name)
		p2, rel2 := to.child(newName)
		src, _ := n.fs.lstatID(p)
		dst, _ := n.fs.lstatID(p2)
		if errno := n.LoopbackNode.Rename(ctx, name, to, newName, flags); errno != 0 {
			return nil, errno
		}
		return []crash.Op{{Op: crash.Rename, Dir: n.id(), Name: name, Dir2: to.id(), Name2: newName,
			Node: src, Node2: dst, Flags: flags, Path: rel, Path2: rel2}}, 0
	})
}

func (n *node) Open(ctx context.Context, flags uint32) (fh fs.FileHandle, fuseFlags uint32, errno syscall.Errno) {
	open := func() ([]crash.Op, syscall.Errno) {
		var lf fs.FileHandle
		if lf, fuseFlags, errno = n.LoopbackNode.Open(ctx, flags); errno != 0 {
			return nil, errno
		}
		fh = &file{lf: lf.(*fs.LoopbackFile), n: n}
		if flags&syscall.O_TRUNC != 0 {
			return []crash.Op{{Op: crash.Truncate, Node: n.id(), Path: n.rel()}}, 0
		}
		return nil, 0
	}
	if flags&syscall.O_TRUNC == 0 {
		_, errno = open()
	} else {
		errno = n.fs.locked(open)
	}
	return fh, fuseFlags, errno
}

func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if f, ok := fh.(*file); ok {
		fh = f.lf
	}
	return n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		if errno := n.LoopbackNode.Setattr(ctx, fh, in, out); errno != 0 {
			return nil, errno
		}
		var ops []crash.Op
		id, rel := n.id(), n.rel()
		if size, ok := in.GetSize(); ok {
			ops = append(ops, crash.Op{Op: crash.Truncate, Node: id, Len: int64(size), Path: rel})
		}
		if _, ok := in.GetMode(); ok {
			ops = append(ops, crash.Op{Op: crash.Chmod, Node: id, Mode: out.Mode & 0o7777, Path: rel})
		}
		_, uok := in.GetUID()
		_, gok := in.GetGID()
		if uok || gok {
			ops = append(ops, crash.Op{Op: crash.Chown, Node: id, UID: int(out.Uid), GID: int(out.Gid), Path: rel})
		}
		return ops, 0
	})
}

// Fsync logs fsync or fdatasync of a file, and fsync of a directory (the
// directory handle sends it here); the backing directory is not synced.
func (n *node) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	kind := crash.Fsync
	if flags&1 != 0 && !n.IsDir() { // FUSE_FSYNC_FDATASYNC
		kind = crash.Fdatasync
	}
	return n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		return []crash.Op{{Op: kind, Node: n.id(), Path: n.rel()}}, 0
	})
}

// OpendirHandle wraps the loopback's directory stream so that fsync of a
// directory comes to Fsync instead of syncing the backing directory.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	h, fl, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &dir{h: h, n: n}, fl, 0
}

func (n *node) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EOPNOTSUPP
}

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOTSUP
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return syscall.ENOTSUP
}

func (n *node) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle, offOut, size, flags uint64) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

var (
	_ fs.NodeWrapChilder    = (*node)(nil)
	_ fs.NodeFsyncer        = (*node)(nil)
	_ fs.NodeTmpfiler       = (*node)(nil)
	_ fs.NodeCopyFileRanger = (*node)(nil)
)
