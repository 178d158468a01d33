//go:build unix && !linux && !darwin

package atomicfile

import "golang.org/x/sys/unix"

func dataSync(fd int) error { return unix.Fsync(fd) }
func fullSync(fd int) error { return unix.Fsync(fd) }

// renameNoReplace is not portable here; renameNamed falls back to link(2).
func renameNoReplace(int, string, string) error { return unix.ENOSYS }
