// Command ia32 makes 32-bit system calls from a 64-bit process (int 0x80
// on x86-64), which a recorder must count and report instead of dropping
// in silence: it opens the file named by its argument and fsyncs it three
// times through the 32-bit table.
package main

import (
	"fmt"
	"os"
)

// int80 makes the i386 system call nr with one argument and returns its
// result.
func int80(nr, a1 uint32) int32

const fsync386 = 118 // __NR_fsync in the i386 table

func main() {
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
