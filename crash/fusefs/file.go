package fusefs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/heisen-dev/heisen/crash"
)

// file is an open file whose writes and allocations are logged. It holds
// the loopback file rather than embedding it, so that it offers the
// kernel no passthrough descriptor and no ioctl.
type file struct {
	lf *fs.LoopbackFile
	n  *node
}

func (f *file) Write(ctx context.Context, data []byte, off int64) (written uint32, errno syscall.Errno) {
	errno = f.n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		if written, errno = f.lf.Write(ctx, data, off); errno != 0 {
			return nil, errno
		}
		return []crash.Op{{Op: crash.Write, Node: f.n.id(), Off: off, Data: data[:written], Path: f.n.rel()}}, 0
	})
	return written, errno
}

// allocModes are the fallocate modes the models know.
var allocModes = map[uint32]bool{
	0:                    true,
	crash.FallocKeepSize: true,
	crash.FallocPunchHole | crash.FallocKeepSize: true,
	crash.FallocZeroRange:                        true,
	crash.FallocZeroRange | crash.FallocKeepSize: true,
}

func (f *file) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	if !allocModes[mode] {
		return syscall.EOPNOTSUPP
	}
	return f.n.fs.locked(func() ([]crash.Op, syscall.Errno) {
		if errno := f.lf.Allocate(ctx, off, size, mode); errno != 0 {
			return nil, errno
		}
		return []crash.Op{{Op: crash.Fallocate, Node: f.n.id(), Off: int64(off), Len: int64(size), Flags: mode, Path: f.n.rel()}}, 0
	})
}

func (f *file) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return f.lf.Read(ctx, buf, off)
}
func (f *file) Release(ctx context.Context) syscall.Errno { return f.lf.Release(ctx) }
func (f *file) Flush(ctx context.Context) syscall.Errno   { return f.lf.Flush(ctx) }
func (f *file) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return f.lf.Getattr(ctx, out)
}
func (f *file) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	return f.lf.Lseek(ctx, off, whence)
}
func (f *file) Getlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32, out *fuse.FileLock) syscall.Errno {
	return f.lf.Getlk(ctx, owner, lk, flags, out)
}
func (f *file) Setlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return f.lf.Setlk(ctx, owner, lk, flags)
}
func (f *file) Setlkw(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return f.lf.Setlkw(ctx, owner, lk, flags)
}

// dir is an open directory: the loopback's stream, with fsync logged.
type dir struct {
	h fs.FileHandle
	n *node
}

func (d *dir) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	return d.h.(fs.FileReaddirenter).Readdirent(ctx)
}
func (d *dir) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	return d.h.(fs.FileSeekdirer).Seekdir(ctx, off)
}
func (d *dir) Releasedir(ctx context.Context, flags uint32) {
	d.h.(fs.FileReleasedirer).Releasedir(ctx, flags)
}
func (d *dir) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	return d.n.Fsync(ctx, d, flags)
}

var (
	_ fs.FileWriter       = (*file)(nil)
	_ fs.FileAllocater    = (*file)(nil)
	_ fs.FileGetattrer    = (*file)(nil)
	_ fs.FileReaddirenter = (*dir)(nil)
	_ fs.FileFsyncdirer   = (*dir)(nil)
)
