package ptrace

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
)

// The three benchmarks run dd copying b.N single bytes (one read and one
// write each): plainly, under the engine with a filter that stops none of
// dd's calls, and with every read and write stopping. Their difference is
// the cost of the filter (near zero) and of one stop round trip.

func ddArgs(n int) []string {
	return []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=" + strconv.Itoa(n), "status=none"}
}

func BenchmarkDDPlain(b *testing.B) {
	if err := exec.Command(ddArgs(b.N)[0], ddArgs(b.N)[1:]...).Run(); err != nil {
		b.Fatal(err)
	}
}

func benchTraced(b *testing.B, list string) {
	nrs, err := Syscalls(list)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &Config{Syscalls: nrs, Enter: func(*Stop) Action { return Action{} }}
	res, err := Run(context.Background(), &Cmd{Path: "dd", Args: ddArgs(b.N)}, cfg, nil)
	if err != nil || res.ExitCode() != 0 {
		b.Fatalf("Run: %v, exit %d", err, res.ExitCode())
	}
}

func BenchmarkDDFilteredOut(b *testing.B) { benchTraced(b, "rename") }

func BenchmarkDDEveryCallStops(b *testing.B) { benchTraced(b, "read,write") }
