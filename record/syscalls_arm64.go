//go:build linux && arm64

package record

// arm64 has only the *at calls.
var legacySyscalls []syscallOp
