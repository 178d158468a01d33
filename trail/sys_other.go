//go:build !linux

package trail

import (
	"os"
	"syscall"
)

// gettid falls back to the pid where threads have no portable id.
func gettid() int { return os.Getpid() }

func errnoString(syscall.Errno) string { return "" }
