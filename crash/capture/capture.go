// Package capture runs a workload once over the logging FUSE file system
// (crash/fusefs) and leaves its crash log.
//
// The mount lives in a private mount namespace of a helper process: heisen
// re-executes itself with CLONE_NEWNS (mount propagation private), and the
// helper mounts, starts the workload as its child so that it sees the
// mount, and writes the log. No other process ever sees the mount, and it
// ends with the helper's namespace, so it cannot outlive heisen even when
// heisen is killed with SIGKILL (the helper has SIGKILL as its parent-death
// signal, and the workload, traced by the helper, dies with its tracer:
// PTRACE_O_EXITKILL). Only the helper holds /dev/fuse, so its death aborts
// the FUSE connection and fails any request the workload waits on, as it
// exits too.
package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Config is what the helper needs; Run passes it as JSON.
type Config struct {
	Command []string `json:"command"`
	// Mount is where the workload sees the file system: an existing
	// directory. Its contents are copied into Backing first and are what
	// the workload finds there; the directory itself is never written.
	Mount   string `json:"mount"`
	Backing string `json:"backing"` // an empty scratch directory
	Log     string `json:"log"`     // the crash log to create
	// Grace is how long an interrupted workload has to exit after SIGINT
	// before its process group is killed.
	Grace time.Duration `json:"grace"`
}

// Exec is how to start the helper: the heisen binary and the arguments
// that reach Serve (the hidden "crash-serve" command); the JSON config is
// appended.
type Exec struct {
	Path string
	Args []string
}

// ErrNeedRoot and ErrNoFuse say what the machine lacks.
var (
	ErrNeedRoot = errors.New("needs root (CAP_SYS_ADMIN) to mount its FUSE file system with mount(2), without fusermount")
	ErrNoFuse   = errors.New("no usable /dev/fuse (load the fuse module, or in a container pass --device /dev/fuse)")
)

// Check reports whether this process can mount: root and /dev/fuse.
func Check() error {
	if os.Geteuid() != 0 {
		return ErrNeedRoot
	}
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoFuse, err)
	}
	return f.Close()
}

// Run starts the helper and waits for it. The workload's stderr goes to
// stderr and its stdin is stdin; its stdout is in the log. When ctx is
// cancelled the helper is asked to stop (SIGINT to the workload, then
// SIGKILL after cfg.Grace) and Run waits for it, killing it if it takes
// longer than another 5 seconds.
func Run(ctx context.Context, self Exec, cfg Config, stdin io.Reader, stderr io.Writer) error {
	js, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self.Path, append(append([]string(nil), self.Args[1:]...), string(js))...)
	cmd.Args[0] = self.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stderr, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Go's exec also marks / MS_REC|MS_PRIVATE after unsharing, so
		// the mount does not propagate back.
		Unshareflags: syscall.CLONE_NEWNS,
		Pdeathsig:    syscall.SIGKILL,
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = cfg.Grace + 5*time.Second
	// The parent-death signal comes when the thread that forked the
	// helper exits, not the process: keep that thread, busy with this
	// goroutine, until the helper is waited for.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the mount helper %s: %w", self.Path, err)
	}
	if err := cmd.Wait(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("mount helper: %w", err)
	}
	return nil
}
