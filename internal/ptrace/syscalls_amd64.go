package ptrace

import "golang.org/x/sys/unix"

const auditArch = unix.AUDIT_ARCH_X86_64

var sysNumbers = map[string]int{
	"open": unix.SYS_OPEN, "openat": unix.SYS_OPENAT, "openat2": unix.SYS_OPENAT2, "creat": unix.SYS_CREAT,
	"read": unix.SYS_READ, "pread64": unix.SYS_PREAD64, "readv": unix.SYS_READV, "preadv": unix.SYS_PREADV, "preadv2": unix.SYS_PREADV2,
	"write": unix.SYS_WRITE, "pwrite64": unix.SYS_PWRITE64, "writev": unix.SYS_WRITEV, "pwritev": unix.SYS_PWRITEV, "pwritev2": unix.SYS_PWRITEV2,
	"fsync": unix.SYS_FSYNC, "fdatasync": unix.SYS_FDATASYNC, "sync_file_range": unix.SYS_SYNC_FILE_RANGE,
	"close":  unix.SYS_CLOSE,
	"rename": unix.SYS_RENAME, "renameat": unix.SYS_RENAMEAT, "renameat2": unix.SYS_RENAMEAT2,
	"link": unix.SYS_LINK, "linkat": unix.SYS_LINKAT,
	"unlink": unix.SYS_UNLINK, "unlinkat": unix.SYS_UNLINKAT,
	"truncate": unix.SYS_TRUNCATE, "ftruncate": unix.SYS_FTRUNCATE, "fallocate": unix.SYS_FALLOCATE,
	"flock": unix.SYS_FLOCK, "fcntl": unix.SYS_FCNTL,
	"mkdir": unix.SYS_MKDIR, "mkdirat": unix.SYS_MKDIRAT, "rmdir": unix.SYS_RMDIR,
	"symlink": unix.SYS_SYMLINK, "symlinkat": unix.SYS_SYMLINKAT,
	"stat": unix.SYS_STAT, "lstat": unix.SYS_LSTAT, "fstat": unix.SYS_FSTAT, "newfstatat": unix.SYS_NEWFSTATAT, "statx": unix.SYS_STATX,
	"getpid": unix.SYS_GETPID, "gettid": unix.SYS_GETTID, "nanosleep": unix.SYS_NANOSLEEP,
	"execve": unix.SYS_EXECVE, "execveat": unix.SYS_EXECVEAT,
	"clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3, "fork": unix.SYS_FORK, "vfork": unix.SYS_VFORK,
	"kill": unix.SYS_KILL, "tgkill": unix.SYS_TGKILL,
	"exit": unix.SYS_EXIT, "exit_group": unix.SYS_EXIT_GROUP,
}
