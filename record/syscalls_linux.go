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
