package ptrace

import (
	"fmt"
	"sort"
	"strings"
)

// FileSyscalls is the group named "file": the calls that open, read, write,
// sync, close, rename, link, unlink, truncate or lock files, as far as the
// architecture has them. It is what heisen traces by default.
var FileSyscalls = []string{
	"open", "openat", "openat2", "creat",
	"read", "pread64", "readv", "preadv", "preadv2",
	"write", "pwrite64", "writev", "pwritev", "pwritev2",
	"fsync", "fdatasync", "sync_file_range",
	"close",
	"rename", "renameat", "renameat2",
	"link", "linkat",
	"unlink", "unlinkat",
	"truncate", "ftruncate", "fallocate",
	"flock",
}

// Syscalls parses a comma-separated list of syscall names and group names
// ("file") into syscall numbers for this architecture, sorted and without
// duplicates. Names of the group that this architecture lacks (open on
// arm64) are skipped; an unknown name given on its own is an error.
func Syscalls(list string) ([]int, error) {
	seen := map[int]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case name == "file":
			for _, n := range FileSyscalls {
				if nr, ok := sysNumbers[n]; ok {
					seen[nr] = true
				}
			}
		default:
			nr, ok := sysNumbers[name]
			if !ok {
				return nil, fmt.Errorf("ptrace: unknown syscall %q (names as in syscalls(2), or the group \"file\")", name)
			}
			seen[nr] = true
		}
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("ptrace: no syscalls in %q", list)
	}
	nrs := make([]int, 0, len(seen))
	for nr := range seen {
		nrs = append(nrs, nr)
	}
	sort.Ints(nrs)
	return nrs, nil
}

// SyscallName returns the name of syscall number nr on this architecture,
// or "syscall_<nr>" for one heisen has no name for.
func SyscallName(nr int) string {
	if n, ok := sysNames[nr]; ok {
		return n
	}
	return fmt.Sprintf("syscall_%d", nr)
}

var sysNames = func() map[int]string {
	m := make(map[int]string, len(sysNumbers))
	for n, nr := range sysNumbers {
		m[nr] = n
	}
	return m
}()
