package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/heisen-dev/heisen/trail"
)

// Recorder records the file operations of process trees into a trail.
// *record.Recorder (the eBPF backend of heisen record) satisfies it.
type Recorder interface {
	// Track records process pid and every process it forks from now on.
	Track(pid int) error
	// Run writes what is recorded to w until ctx is done, then drains
	// what was already recorded and returns. It is called once per slot.
	Run(ctx context.Context, w *trail.Writer) error
}

// slotTrail is the recording of one slot.
type slotTrail struct {
	path   string
	w      *trail.Writer
	cancel context.CancelFunc
	done   chan error
}

// startTrail starts recording a slot into a trail file in the work
// directory.
func (r *runner) startTrail(seq int) (*slotTrail, error) {
	st := &slotTrail{path: filepath.Join(r.work, fmt.Sprintf("slot-%d.trail", seq)), done: make(chan error, 1)}
	w, err := trail.Create(st.path, trail.Buffered())
	if err != nil {
		return nil, fmt.Errorf("runner: --record: %w", err)
	}
	st.w = w
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	go func() { st.done <- r.cfg.Record.Run(ctx, w) }()
	return st, nil
}

// stop ends the recording once every run of the slot has exited.
func (st *slotTrail) stop() error {
	st.cancel()
	err := <-st.done
	if cerr := st.w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("runner: --record: %w", err)
	}
	return nil
}

// heldShell runs "$0" "$@" once a line arrives on fd 3: the process can be
// tracked before the command runs a single instruction, since exec keeps
// its pid.
const heldShell = `read _ <&3 && exec "$0" "$@" 3<&-`

// hold rewrites cmd to wait for release before it execs its command.
func hold(cmd *exec.Cmd) (release func() error, err error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("runner: --record: pipe: %w", err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("runner: --record needs sh: %w", err)
	}
	cmd.Args = append([]string{"sh", "-c", heldShell, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = sh
	cmd.ExtraFiles = append(cmd.ExtraFiles, pr)
	return func() error {
		pr.Close()
		_, err := pw.Write([]byte("\n"))
		pw.Close()
		if err != nil {
			return fmt.Errorf("runner: --record: releasing the command: %w", err)
		}
		return nil
	}, nil
}
