package runner

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Kind is one way of changing the conditions a command runs under.
type Kind int

const (
	None          Kind = iota // the baseline: nothing changed
	SyscallDelay              // chosen syscalls wait Delay before they run (ptrace + seccomp)
	OneCPU                    // the whole process tree pinned to one CPU
	CPUContention             // Threads busy processes pinned to the command's CPUs
	Chaos                     // random processes of the tree stopped for 1–50 ms
	Unbuffered                // PYTHONUNBUFFERED=1 and stdbuf -o0 -e0
)

var kindNames = [...]string{None: "none", SyscallDelay: "syscall-delay", OneCPU: "one-cpu",
	CPUContention: "cpu-contention", Chaos: "chaos", Unbuffered: "unbuffered"}

func (k Kind) String() string { return kindNames[k] }

// Perturbation is one condition of a comparison.
type Perturbation struct {
	Kind    Kind
	Delay   time.Duration // SyscallDelay
	Threads int           // CPUContention
}

// String is the perturbation as written on the command line.
func (p Perturbation) String() string {
	switch p.Kind {
	case SyscallDelay:
		return "syscall-delay=" + p.Delay.String()
	case CPUContention:
		return "cpu-contention=" + strconv.Itoa(p.Threads)
	}
	return p.Kind.String()
}

// DefaultPerturbations is the set heisen run compares when given none:
// every kind, with one busy process per CPU for contention.
func DefaultPerturbations() string {
	return fmt.Sprintf("none,syscall-delay=1ms,one-cpu,cpu-contention=%d,chaos,unbuffered", runtime.NumCPU())
}

// ParsePerturbations parses a comma-separated list such as
// "none,syscall-delay=2ms,one-cpu". The baseline "none" is added first when
// missing, since every verdict is a comparison against it; duplicates are
// an error.
func ParsePerturbations(list string) ([]Perturbation, error) {
	var ps []Perturbation
	seen := map[string]bool{}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := parseOne(f)
		if err != nil {
			return nil, err
		}
		if seen[p.String()] {
			return nil, fmt.Errorf("perturbation %q given twice", f)
		}
		seen[p.String()] = true
		ps = append(ps, p)
	}
	if !seen["none"] {
		ps = append([]Perturbation{{Kind: None}}, ps...)
	}
	return ps, nil
}

func parseOne(s string) (Perturbation, error) {
	name, arg, hasArg := strings.Cut(s, "=")
	switch name {
	case "syscall-delay":
		if !hasArg {
			return Perturbation{}, fmt.Errorf("perturbation %q needs a duration, e.g. syscall-delay=1ms", s)
		}
		d, err := time.ParseDuration(arg)
		if err != nil || d <= 0 || d > time.Minute {
			return Perturbation{}, fmt.Errorf("perturbation %q: delay must be a duration in (0, 1m]", s)
		}
		return Perturbation{Kind: SyscallDelay, Delay: d}, nil
	case "cpu-contention":
		if !hasArg {
			return Perturbation{}, fmt.Errorf("perturbation %q needs a number of busy processes, e.g. cpu-contention=2", s)
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 || n > 256 {
			return Perturbation{}, fmt.Errorf("perturbation %q: need 1 to 256 busy processes", s)
		}
		return Perturbation{Kind: CPUContention, Threads: n}, nil
	}
	for k, kn := range kindNames {
		if name == kn && k != int(SyscallDelay) && k != int(CPUContention) {
			if hasArg {
				return Perturbation{}, fmt.Errorf("perturbation %q takes no value", name)
			}
			return Perturbation{Kind: Kind(k)}, nil
		}
	}
	return Perturbation{}, fmt.Errorf("unknown perturbation %q (want none, syscall-delay=DUR, one-cpu, cpu-contention=N, chaos, unbuffered)", s)
}
