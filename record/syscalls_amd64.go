//go:build linux && amd64

package record

import "golang.org/x/sys/unix"

var legacySyscalls = []syscallOp{
	{unix.SYS_OPEN, "open", kOpen},
	{unix.SYS_CREAT, "creat", kCreat},
	{unix.SYS_RENAME, "rename", kRename},
	{unix.SYS_LINK, "link", kLink},
	{unix.SYS_UNLINK, "unlink", kUnlink},
	{unix.SYS_RMDIR, "rmdir", kUnlink},
}

var legacyDescSyscalls = []syscallOp{{unix.SYS_DUP2, "dup2", kDup2}}

// The numbers of dup2, open, creat, rename, unlink and rmdir, which the
// kernel half watches at entry.
const (
	dup2Nr   = unix.SYS_DUP2
	openNr   = unix.SYS_OPEN
	creatNr  = unix.SYS_CREAT
	renameNr = unix.SYS_RENAME
	unlinkNr = unix.SYS_UNLINK
	rmdirNr  = unix.SYS_RMDIR
)
