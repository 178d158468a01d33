package record

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config says what to record.
type Config struct {
	// PIDs are processes to record, each with every process it forks from
	// then on. RunCommand adds the command it starts.
	PIDs []int
	// All records every process on the machine except the recorder.
	All bool
	// Paths keeps only events whose path (or, for rename and link, either
	// path) is one of these absolute directories or below it. Empty keeps
	// every path.
	Paths []string
	// RingSize is the ring buffer's size in bytes, a power of two of at
	// least the page size; 0 means DefaultRingSize.
	RingSize int
	// Poll is how often the ring buffer is read; 0 means DefaultPoll.
	Poll time.Duration
	// ProbeStats turns on the kernel's BPF run-time statistics while
	// recording (they cost every BPF program on the machine a clock read
	// per run) and reports them in Stats.Probes.
	ProbeStats bool
}

// DefaultRingSize holds about 0.1 s of events at 200,000 events/s with long
// paths, so a reader that polls every 20 ms keeps up with margin.
const DefaultRingSize = 16 << 20

// DefaultPoll is how often the reader drains the ring buffer. The kernel
// never wakes the reader (a wake-up per event cost more than the probes),
// so this is also the latency from an event to the trail.
const DefaultPoll = 20 * time.Millisecond

// Validate reports the first setting of c that the recorder cannot use,
// naming it; New returns the same error. RingSize must be 0 or a power of
// two of at least the page size (the kernel's rule for a ring buffer),
// Paths at most 8 absolute paths of at most 255 bytes once cleaned, PIDs
// positive.
func (c Config) Validate() error {
	page := os.Getpagesize()
	if c.RingSize != 0 && (c.RingSize < page || c.RingSize&(c.RingSize-1) != 0) {
		return fmt.Errorf("record: ring size %d is not a power of two of at least the page size (%d)", c.RingSize, page)
	}
	if c.Poll < 0 {
		return fmt.Errorf("record: poll interval %v is negative", c.Poll)
	}
	for _, pid := range c.PIDs {
		if pid <= 0 {
			return fmt.Errorf("record: pid %d is not a process id", pid)
		}
	}
	_, err := cleanPrefixes(c.Paths)
	return err
}

// maxPrefix and maxPrefixes match PREFIX_CAP and N_PREFIX in bpf/record.c.
const (
	maxPrefix   = 255
	maxPrefixes = 8
)

// cleanPrefixes checks and cleans c.Paths.
func cleanPrefixes(paths []string) ([]string, error) {
	if len(paths) > maxPrefixes {
		return nil, fmt.Errorf("record: at most %d path prefixes, got %d", maxPrefixes, len(paths))
	}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("record: path prefix %q is not absolute", p)
		}
		p = filepath.Clean(p)
		if len(p) > maxPrefix {
			return nil, fmt.Errorf("record: path prefix %q is longer than %d bytes", p, maxPrefix)
		}
		out = append(out, p)
	}
	return out, nil
}

// underAny reports whether path is one of prefixes or below one of them.
// The kernel compares bytes before the path is cleaned ("/a/../b" passes a
// filter for "/a"); this is the exact check afterwards.
func underAny(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || p == "/" || strings.HasPrefix(path, p) && path[len(p)] == '/' {
			return true
		}
	}
	return false
}

// Stats counts what a recording delivered and lost.
type Stats struct {
	Events     uint64   // events written to the trail
	Calls      uint64   // calls they stand for: more when consecutive writes were coalesced
	Lost       uint64   // events traced but not delivered
	LostPerCPU []uint64 // Lost split by CPU
	NoPath     uint64   // calls not written because their path was unreadable (EFAULT)
	Probes     []Probe  // with Config.ProbeStats: what the kernel programs cost
	// Untraced lists each process that set up file I/O the recorder
	// cannot see, once per way (the trail has an untraced event for each).
	Untraced []Untraced
	Compat   uint64 // 32-bit system calls seen and not recorded
	// Load says where the eBPF backend's start went, step by step in the
	// order they began; steps done at the same time overlap.
	Load []LoadStep
}

// LoadStep is one step of loading the eBPF backend: "kernel BTF" (read
// and parsed for CO-RE), "maps", one per program (relocated, loaded and
// verified, with the instructions the verifier processed), "programs"
// (all of them, loaded at the same time) and "attach".
type LoadStep struct {
	Name  string
	Took  time.Duration
	Insns uint32
}

// Untraced is a process whose file I/O through Sys ("io_uring_setup",
// "ia32") is not in the trail.
type Untraced struct {
	PID  int
	Comm string
	Sys  string
}

// Probe is the kernel's account of one eBPF program: how often it ran (for
// the syscall probes, at every syscall of every process, most of them
// leaving after one lookup) and for how long in total.
type Probe struct {
	Name    string
	Runs    uint64
	Runtime time.Duration
}
