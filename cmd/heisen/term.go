package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal, by asking the tty driver: a
// character device such as /dev/null is not one. Progress lines are drawn
// only on a terminal, so logs and pipes get the summary alone.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// colorful reports whether w is a terminal that wants colour: NO_COLOR set
// to anything non-empty turns colour off (https://no-color.org).
func colorful(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && isTerminal(w)
}
