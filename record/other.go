//go:build !(linux && (amd64 || arm64))

package record

import (
	"context"
	"os/exec"
	"runtime"

	"github.com/heisen-dev/heisen/trail"
)

func unsupported(backend string) error {
	return &UnavailableError{Backend: backend, Missing: "support for " + runtime.GOOS + "/" + runtime.GOARCH + " (Linux on x86-64 or arm64 only)"}
}

// A Recorder is the eBPF backend, which this platform lacks.
type Recorder struct{}

// New reports that eBPF recording is unavailable on this platform.
func New(Config) (*Recorder, error) { return nil, unsupported("ebpf") }

// Track is never reached: New fails.
func (*Recorder) Track(int) error { return unsupported("ebpf") }

// Run is never reached: New fails.
func (*Recorder) Run(context.Context, *trail.Writer) error { return unsupported("ebpf") }

// Stats is never reached: New fails.
func (*Recorder) Stats() Stats { return Stats{} }

// Close is never reached: New fails.
func (*Recorder) Close() error { return nil }

// RunCommand reports that eBPF recording is unavailable on this platform.
func RunCommand(context.Context, Config, *exec.Cmd, *trail.Writer) (int, Stats, error) {
	return -1, Stats{}, unsupported("ebpf")
}

// RunPtrace reports that ptrace recording is unavailable on this platform.
func RunPtrace(context.Context, Config, *exec.Cmd, *trail.Writer) (int, Stats, error) {
	return -1, Stats{}, unsupported("ptrace")
}

// Attach reports that eBPF recording is unavailable on this platform.
func Attach(context.Context, []int, string) (func() error, error) {
	return nil, unsupported("ebpf")
}
