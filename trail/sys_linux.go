package trail

import "golang.org/x/sys/unix"

func gettid() int { return unix.Gettid() }

func errnoString(e unix.Errno) string { return unix.ErrnoName(e) }
