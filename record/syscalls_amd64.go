//go:build linux && amd64

package record

import "golang.org/x/sys/unix"

var legacySyscalls = []syscallOp{
	{unix.SYS_OPEN, "open", kOpen},
	{unix.SYS_CREAT, "creat", kCreat},
	{unix.SYS_RENAME, "rename", kRename},
	{unix.SYS_LINK, "link", kLink},
	{unix.SYS_UNLINK, "unlink", kUnlink},
}
