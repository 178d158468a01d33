// Command ia32 makes 32-bit system calls from a 64-bit process (int 0x80
// on x86-64), which a recorder must count and report instead of dropping
// in silence: it opens the file named by its argument and fsyncs it three
// times through the 32-bit table. With -probe it only makes a 32-bit
// getpid and exits with status 3 if int 0x80 faults, as it does where the
// kernel has no IA-32 emulation.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

// int80 makes the i386 system call nr with one argument and returns its
// result.
func int80(nr, a1 uint32) int32

// System call numbers of the i386 table.
const (
	getpid386 = 20
	fsync386  = 118
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-probe" {
		debug.SetPanicOnFault(true)
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(os.Stderr, "int 0x80: %v\n", r)
				os.Exit(3)
			}
		}()
		if r := int80(getpid386, 0); int(r) != os.Getpid() {
			fmt.Fprintf(os.Stderr, "32-bit getpid: %d, want %d\n", r, os.Getpid())
			os.Exit(1)
		}
		return
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for range 3 {
		if r := int80(fsync386, uint32(f.Fd())); r != 0 {
			fmt.Fprintf(os.Stderr, "32-bit fsync: %d\n", r)
			os.Exit(1)
		}
	}
	f.Close()
}
