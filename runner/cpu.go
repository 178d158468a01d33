package runner

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// spinEnv turns any binary importing this package into a busy process for
// cpu-contention: heisen re-executes itself with it set.
const spinEnv = "HEISEN_RUNNER_SPIN"

func init() {
	if _, ok := os.LookupEnv(spinEnv); ok {
		runtime.GOMAXPROCS(1)
		//lint:ignore SA5002 burning a CPU is this process's job
		for {
		}
	}
}

// allowedCPUs lists the CPUs this process may run on, which the command
// inherits.
func allowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("runner: sched_getaffinity: %w", err)
	}
	var cpus []int
	for i := range len(set) * 64 {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("runner: sched_getaffinity: no CPUs")
	}
	return cpus, nil
}

// startPinned starts cmd with its affinity set to one CPU from the very
// first instruction: the child inherits the mask of the thread that forks
// it, so it is forked from a locked thread pinned to cpu. That thread is
// never unlocked, so it exits afterwards instead of carrying the mask back
// into the Go scheduler.
func startPinned(cmd *exec.Cmd, cpu int) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			errc <- fmt.Errorf("sched_setaffinity cpu %d: %w", cpu, err)
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// contend starts n busy processes, the i-th pinned to the i-th of the
// command's CPUs (round robin), and returns a function that kills them.
func (r *runner) contend(n int) (stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("runner: cpu-contention: %w", err)
	}
	var procs []*os.Process
	stop = func() {
		for _, p := range procs {
			p.Kill()
			p.Wait()
		}
	}
	for i := range n {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), spinEnv+"=1")
		if err := startPinned(cmd, r.cpus[i%len(r.cpus)]); err != nil {
			stop()
			return nil, fmt.Errorf("runner: cpu-contention: starting %s: %w", self, err)
		}
		procs = append(procs, cmd.Process)
	}
	return stop, nil
}
