//go:build linux && (amd64 || arm64)

package record

import "golang.org/x/sys/unix"

// A syscall is one traced system call: its number on this architecture,
// its tracepoint name (syscalls/sys_enter_<name>) and the kernel op code.
type syscallOp struct {
	nr   int
	name string
	op   int
}

// syscalls lists the traced calls every architecture has; legacySyscalls
// (per architecture) adds the old path-only calls where they exist.
var syscalls = append([]syscallOp{
	{unix.SYS_OPENAT, "openat", kOpenat},
	{unix.SYS_OPENAT2, "openat2", kOpenat2},
	{unix.SYS_WRITE, "write", kWrite},
	{unix.SYS_PWRITE64, "pwrite64", kPwrite64},
	{unix.SYS_WRITEV, "writev", kWritev},
	{unix.SYS_PWRITEV, "pwritev", kPwritev},
	{unix.SYS_FSYNC, "fsync", kFsync},
	{unix.SYS_FDATASYNC, "fdatasync", kFdatasync},
	{unix.SYS_CLOSE, "close", kClose},
	{unix.SYS_RENAMEAT, "renameat", kRenameat},
	{unix.SYS_RENAMEAT2, "renameat2", kRenameat2},
	{unix.SYS_LINKAT, "linkat", kLinkat},
	{unix.SYS_UNLINKAT, "unlinkat", kUnlinkat},
	{unix.SYS_TRUNCATE, "truncate", kTruncate},
	{unix.SYS_FTRUNCATE, "ftruncate", kFtruncate},
}, legacySyscalls...)

// descSyscalls are the calls the eBPF backend traces besides syscalls:
// the descriptor table's (fcntl and ioctl only for the commands that dup,
// set close-on-exec or lock), data moved into files, reads, locks, and
// io_uring_setup.
var descSyscalls = append([]syscallOp{
	{unix.SYS_DUP, "dup", kDup},
	{unix.SYS_DUP3, "dup3", kDup3},
	{unix.SYS_FCNTL, "fcntl", kFcntl},
	{unix.SYS_IOCTL, "ioctl", kIoctl},
	{unix.SYS_CLOSE_RANGE, "close_range", kCloseRange},
	{unix.SYS_COPY_FILE_RANGE, "copy_file_range", kCopyFileRange},
	{unix.SYS_SENDFILE, "sendfile", kSendfile},
	{unix.SYS_SPLICE, "splice", kSplice},
	{unix.SYS_PWRITEV2, "pwritev2", kPwritev2},
	{unix.SYS_FALLOCATE, "fallocate", kFallocate},
	{unix.SYS_MMAP, "mmap", kMmap},
	{unix.SYS_MSYNC, "msync", kMsync},
	{unix.SYS_READ, "read", kRead},
	{unix.SYS_PREAD64, "pread64", kPread64},
	{unix.SYS_READV, "readv", kReadv},
	{unix.SYS_PREADV, "preadv", kPreadv},
	{unix.SYS_PREADV2, "preadv2", kPreadv2},
	{unix.SYS_FLOCK, "flock", kFlock},
	{unix.SYS_IO_URING_SETUP, "io_uring_setup", kIoUringSetup},
	{unix.SYS_MUNMAP, "munmap", kMunmap},
	{unix.SYS_OPEN_BY_HANDLE_AT, "open_by_handle_at", kOpenByHandle},
	{unix.SYS_IO_SETUP, "io_setup", kIoSetup},
}, legacyDescSyscalls...)
