package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// A payload is what iteration I of loop L writes: payloadLines lines
// "rw L I kk 64 <pad>\n", kk counting 00..63. Every line names its writer,
// so a reader can tell a whole version from a torn or mixed one and say
// whose bytes it holds. The shell loops print the same lines with printf.
const (
	payloadLines = 64
	payloadPad   = "................................"
)

// iter names one iteration of one loop: the writer of one payload.
type iter struct{ Loop, I int }

func payloadLine(it iter, k int) string {
	return fmt.Sprintf("rw %d %d %02d %d %s\n", it.Loop, it.I, k, payloadLines, payloadPad)
}

func payload(it iter) []byte {
	var b bytes.Buffer
	for k := range payloadLines {
		b.WriteString(payloadLine(it, k))
	}
	return b.Bytes()
}

// check reports whether data is exactly one whole payload, and the
// iterations that whole, well-formed lines of data come from.
func check(data []byte) (whole bool, from []iter) {
	seen := map[iter]bool{}
	for line := range bytes.Lines(data) {
		if it, ok := parseLine(line); ok && !seen[it] {
			seen[it] = true
			from = append(from, it)
		}
	}
	whole = len(from) == 1 && bytes.Equal(data, payload(from[0]))
	return whole, from
}

// parseLine returns the iteration a line names when the line is exactly
// one of that iteration's payload lines.
func parseLine(line []byte) (iter, bool) {
	f := bytes.Fields(line)
	if len(f) != 6 || string(f[0]) != "rw" {
		return iter{}, false
	}
	l, err1 := strconv.Atoi(string(f[1]))
	i, err2 := strconv.Atoi(string(f[2]))
	k, err3 := strconv.Atoi(string(f[3]))
	if err1 != nil || err2 != nil || err3 != nil || k < 0 || k >= payloadLines {
		return iter{}, false
	}
	it := iter{l, i}
	return it, string(line) == payloadLine(it, k)
}

// gen writes DIR/L.I holding payload(L, I) for L in 1..LOOPS and I in
// 1..N: the sources the cat, cp, dd, tee, copyfile and io.Copy loops copy.
func gen(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: gen DIR LOOPS N")
	}
	loops, err1 := strconv.Atoi(args[1])
	n, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("gen: LOOPS and N must be integers, got %q %q", args[1], args[2])
	}
	if err := os.MkdirAll(args[0], 0o755); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	for l := 1; l <= loops; l++ {
		for i := 1; i <= n; i++ {
			name := filepath.Join(args[0], fmt.Sprintf("%d.%d", l, i))
			if err := os.WriteFile(name, payload(iter{l, i}), 0o644); err != nil {
				return fmt.Errorf("gen: %w", err)
			}
		}
	}
	return nil
}
