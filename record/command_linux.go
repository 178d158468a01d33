//go:build linux && (amd64 || arm64)

package record

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/trail"
)

// heldShell runs "$0" "$@" once a line arrives on fd 3, closing fd 3 for
// the command; if the recorder dies first, read fails and the command
// never runs. The pid stays the same through exec, so the process can be
// tracked before it runs a single instruction of the command.
const heldShell = `read _ <&3 && exec "$0" "$@" 3<&-`

// startHeld starts cmd (whose Path and Args are the command to record)
// stopped before exec, and returns a function that lets it run, or with
// run false ends it before it runs anything of the command.
func startHeld(cmd *exec.Cmd) (release func(run bool) error, err error) {
	if _, err := exec.LookPath(cmd.Path); err != nil {
		return nil, fmt.Errorf("record: start %s: %w", cmd.Path, err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("record: start %s: pipe: %w", cmd.Path, err)
	}
	defer pr.Close()
	name := cmd.Path
	cmd.Path = "/bin/sh"
	cmd.Args = append([]string{"sh", "-c", heldShell, name}, cmd.Args[1:]...)
	cmd.ExtraFiles = append([]*os.File{pr}, cmd.ExtraFiles...)
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, fmt.Errorf("record: start %s: %w", name, err)
	}
	if err := waitHeld(cmd.Process.Pid); err != nil {
		pw.Close()
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("record: start %s: %w", name, err)
	}
	return func(run bool) error {
		if !run {
			pw.Close() // the shell's read fails: it exits without exec
			cmd.Wait()
			return nil
		}
		_, err := pw.Write([]byte("\n"))
		if cerr := pw.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("record: release %s: %w", name, err)
		}
		return nil
	}, nil
}

// waitHeld waits until the held shell is blocked reading fd 3, so that the
// shell's own start-up is over before the process is tracked and the trail
// begins with the command.
func waitHeld(pid int) error {
	// Shells run "read <&3" with fd 3 dup'ed onto 0 (dash) or read fd 3.
	want0, want3 := fmt.Sprintf("%d 0x0 ", unix.SYS_READ), fmt.Sprintf("%d 0x3 ", unix.SYS_READ)
	file := fmt.Sprintf("/proc/%d/syscall", pid)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("wait for the held process: %w", err)
		}
		if strings.HasPrefix(string(b), want0) || strings.HasPrefix(string(b), want3) {
			return nil
		}
		time.Sleep(200 * time.Microsecond)
	}
	return fmt.Errorf("wait for the held process: %s did not block reading fd 3 within 10s", file)
}

// RunCommand records cmd (not yet started; its Path and Args name the
// command) and every process it forks into w, with the eBPF backend. The
// command is held before exec until the probes are attached and it is
// tracked, so its first syscall is recorded. Recording stops when the
// command exits (descendants still running are no longer waited for).
// When ctx is done first, or recording ends early (the trail's reader is
// gone, or reading the kernel's events failed), every process of the
// traced tree gets SIGTERM, and SIGKILL stopGrace later. It returns the
// command's exit code (ExitCode) and what was recorded and lost.
func RunCommand(ctx context.Context, cfg Config, cmd *exec.Cmd, w *trail.Writer) (code int, st Stats, err error) {
	// The held command starts while the programs load: neither waits for
	// the other, and the command runs only once both are done.
	type held struct {
		release func(run bool) error
		err     error
	}
	started := make(chan held, 1)
	go func() {
		release, err := startHeld(cmd)
		started <- held{release, err}
	}()
	r, err := New(cfg)
	h := <-started
	if err != nil {
		if h.err == nil {
			h.release(false)
		}
		return -1, st, err
	}
	defer func() { err = errors.Join(err, r.Close()) }()
	if h.err != nil {
		return -1, st, h.err
	}
	release := h.release
	if err := r.Track(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return -1, st, err
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	var runErr error
	ended := make(chan struct{})
	go func() {
		runErr = r.Run(runCtx, w)
		close(ended)
	}()
	stopCtx, stopCmd := context.WithCancel(ctx)
	defer stopCmd()
	go func() {
		select {
		case <-ended:
			stopCmd()
		case <-stopCtx.Done():
		}
	}()
	if err := release(true); err != nil {
		cmd.Process.Kill()
	}
	code, err = waitCommand(stopCtx, cmd, r.tree)
	stopRun()
	<-ended
	err = errors.Join(err, runErr)
	return code, r.Stats(), err
}

// tree returns the processes being recorded (the eBPF map of tracked
// thread-group ids).
func (r *Recorder) tree() []int {
	var pids []int
	var pid uint32
	var v uint8
	for it := r.objs.Tracked.Iterate(); it.Next(&pid, &v); {
		pids = append(pids, int(pid))
	}
	return pids
}

// ExitCode is the exit status of a command as a shell reports it: its exit
// code, or 128 plus the signal that killed it.
func ExitCode(state *os.ProcessState) int {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}

// stopGrace is how long the traced processes get to exit after SIGTERM
// when the recording is stopped, before they are killed.
const stopGrace = 5 * time.Second

// waitCommand waits for cmd; when ctx is done first it stops the whole
// tree (stopTree) and waits for cmd.
func waitCommand(ctx context.Context, cmd *exec.Cmd, tree func() []int) (int, error) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = stopTree(cmd, tree, done)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return -1, fmt.Errorf("record: wait for %s: %w", cmd.Args[3], err)
	}
	return ExitCode(cmd.ProcessState), nil
}

// stopTree sends SIGTERM to cmd and every process tree returns, and
// SIGKILL to those left after stopGrace: the whole tree stops, background
// processes included (a shell's Ctrl-C stops those too, unless they
// ignore SIGINT). It returns cmd's wait error from done.
func stopTree(cmd *exec.Cmd, tree func() []int, done <-chan error) error {
	signal := func(sig syscall.Signal) (left bool) {
		cmd.Process.Signal(sig)
		for _, pid := range tree() {
			if pid != cmd.Process.Pid && unix.Kill(pid, sig) == nil {
				left = true
			}
		}
		return left
	}
	deadline := time.Now().Add(stopGrace)
	signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-done:
	case <-time.After(stopGrace):
		signal(syscall.SIGKILL)
		return <-done
	}
	for signal(0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	signal(syscall.SIGKILL)
	return err
}

// Attach records the running processes pids, and every process they fork
// from then on, with the eBPF backend into a new trail file at path, until
// the returned stop is called (or ctx is done); stop drains what the kernel
// recorded, closes the trail and detaches. It fits stress.Attach, for
// heisen stress --observe record.
func Attach(ctx context.Context, pids []int, path string) (stop func() error, err error) {
	r, err := New(Config{PIDs: pids})
	if err != nil {
		return nil, err
	}
	w, err := trail.Create(path, trail.Buffered())
	if err != nil {
		r.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx, w) }()
	return func() error {
		cancel()
		err := <-done
		return errors.Join(err, w.Close(), r.Close())
	}, nil
}
