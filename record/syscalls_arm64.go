//go:build linux && arm64

package record

// arm64 has only the *at calls.
var legacySyscalls []syscallOp

var legacyDescSyscalls []syscallOp

// dup2Nr, openNr, creatNr, renameNr, unlinkNr and rmdirNr stand for
// calls arm64 does not have: no syscall has their number.
const (
	dup2Nr   = 1<<32 - 1
	openNr   = 1<<32 - 1
	creatNr  = 1<<32 - 1
	renameNr = 1<<32 - 1
	unlinkNr = 1<<32 - 1
	rmdirNr  = 1<<32 - 1
)
