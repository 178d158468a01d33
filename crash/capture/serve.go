package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/crash"
	"github.com/heisen-dev/heisen/crash/fusefs"
	"github.com/heisen-dev/heisen/internal/ptrace"
)

// Serve is the helper's body, run in its private mount namespace: copy the
// mount point's contents into the backing directory, mount, run the
// workload, and close the log with how it ended. SIGINT or SIGTERM stops
// the workload. Errors before the workload starts are returned; the
// workload's own failure is only recorded.
func Serve(cfg Config, stdin, stderr *os.File) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := copyTree(cfg.Mount, cfg.Backing); err != nil {
		return err
	}
	w, err := crash.CreateLog(cfg.Log, crash.Header{Dir: cfg.Mount, Command: cfg.Command})
	if err != nil {
		return err
	}
	out, err := newLineReader(w)
	if err != nil {
		w.Close(crash.End{Status: -1, Error: err.Error()})
		return err
	}
	defer out.close()
	fsys, err := fusefs.New(cfg.Backing, w, out.drain)
	if err != nil {
		w.Close(crash.End{Status: -1, Error: err.Error()})
		return err
	}
	srv, err := fsys.Mount(cfg.Mount)
	if err != nil {
		w.Close(crash.End{Status: -1, Error: err.Error()})
		return err
	}
	defer srv.Unmount()
	w.Lock()
	w.Flush() // the header and the initial contents, before anything can fail
	w.Unlock()
	end := runWorkload(cfg, stdin, stderr, out, sigs)
	w.Lock()
	out.drain()
	out.flush()
	w.Unlock()
	return w.Close(end)
}

// runWorkload runs the workload in its own process group, traced so that
// sync(2) and syncfs(2), which never reach a FUSE server, are logged: a
// seccomp filter stops the workload's processes at those two calls only.
// It returns when every process of the workload's tree has exited; a
// signal sends SIGINT to the group and, after cfg.Grace, SIGKILL.
func runWorkload(cfg Config, stdin, stderr *os.File, out *lineReader, sigs <-chan os.Signal) crash.End {
	cmd := &ptrace.Cmd{Path: cfg.Command[0], Args: cfg.Command, Stdin: stdin, Stdout: out.w, Stderr: stderr,
		Env: append(os.Environ(), "HEISEN_CRASH_DIR="+cfg.Mount), Setpgid: true}
	trace := &ptrace.Config{
		Syscalls: []int{unix.SYS_SYNC, unix.SYS_SYNCFS},
		Enter: func(*ptrace.Stop) ptrace.Action {
			// Writes reach the server before write(2) returns (no
			// writeback cache), so at sync's entry every earlier
			// write is logged.
			out.log.Lock()
			out.drain()
			out.log.Append(crash.Op{Op: crash.Sync})
			out.log.Unlock()
			return ptrace.Action{}
		},
	}
	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	pgid := make(chan int, 1)
	type result struct {
		res ptrace.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := ptrace.Run(ctx, cmd, trace, func(pid int) { pgid <- pid })
		done <- result{res, err}
	}()
	stop, polled := make(chan struct{}), make(chan struct{})
	go func() { out.poll(stop); close(polled) }()
	defer func() { close(stop); <-polled }()
	var end crash.End
	var r result
	select {
	case r = <-done:
	case <-sigs:
		end.Interrupted = true
		select {
		case pid := <-pgid:
			syscall.Kill(-pid, syscall.SIGINT)
		default:
		}
		select {
		case r = <-done:
		case <-time.After(cfg.Grace):
			kill()
			r = <-done
		}
	}
	out.w.Close()
	switch {
	case r.err != nil && !end.Interrupted:
		end.Status, end.Error = -1, r.err.Error()
	case r.res.Status.Signaled():
		end.Status = 128 + int(r.res.Status.Signal())
	default:
		end.Status = r.res.Status.ExitStatus()
	}
	return end
}

// lineReader reads the workload's stdout from a non-blocking pipe. drain
// runs under the log lock before every logged operation, so a line the
// workload wrote before an operation is logged before it: its position is
// exact for a workload whose writes and prints are ordered.
type lineReader struct {
	log     *crash.Writer
	r, w    *os.File
	fd      int
	partial []byte
	buf     []byte
}

func newLineReader(log *crash.Writer) (*lineReader, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("workload stdout pipe: %w", err)
	}
	fd := int(r.Fd()) // Fd leaves the descriptor blocking; set it non-blocking for drain
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("workload stdout pipe: %w", err)
	}
	return &lineReader{log: log, r: r, w: w, fd: fd, buf: make([]byte, 64<<10)}, nil
}

// drain reads what the pipe holds and logs each complete line; the caller
// holds the log lock.
func (l *lineReader) drain() {
	for {
		n, err := unix.Read(l.fd, l.buf)
		if n <= 0 || err != nil {
			return
		}
		l.partial = append(l.partial, l.buf[:n]...)
		for {
			i := bytes.IndexByte(l.partial, '\n')
			if i < 0 {
				break
			}
			l.log.AppendLine(string(l.partial[:i]))
			l.partial = l.partial[i+1:]
		}
	}
}

// flush logs a last line that had no newline.
func (l *lineReader) flush() {
	if len(l.partial) > 0 {
		l.log.AppendLine(string(l.partial))
		l.partial = nil
	}
}

// poll drains lines printed while the workload does no file operations,
// and flushes the log every 50 ms, until stop is closed.
func (l *lineReader) poll(stop <-chan struct{}) {
	fds := []unix.PollFd{{Fd: int32(l.fd), Events: unix.POLLIN}}
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, _ := unix.Poll(fds, 50)
		l.log.Lock()
		l.drain()
		l.log.Flush() // so that a killed helper leaves a log up to here
		l.log.Unlock()
		if n > 0 && fds[0].Revents&unix.POLLIN == 0 { // POLLHUP: every writer closed
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (l *lineReader) close() { l.r.Close() }

// copyTree copies the regular files, directories, symlinks and fifos under
// src into dst, keeping modes and owners. Other file types are refused.
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		st := fi.Sys().(*syscall.Stat_t)
		switch m := fi.Mode(); {
		case rel == ".":
			err = os.Chmod(dst, m.Perm()|m&(os.ModeSetgid|os.ModeSticky))
		case m.IsDir():
			err = os.Mkdir(to, m.Perm())
		case m.IsRegular():
			err = copyFile(p, to, m.Perm())
		case m&os.ModeSymlink != 0:
			var t string
			if t, err = os.Readlink(p); err == nil {
				err = os.Symlink(t, to)
			}
		case m&os.ModeNamedPipe != 0:
			err = unix.Mkfifo(to, uint32(m.Perm()))
		default:
			return fmt.Errorf("copy %s: %s is a device or socket, which the crash models do not keep", src, p)
		}
		if err == nil {
			err = os.Lchown(to, int(st.Uid), int(st.Gid))
		}
		if err != nil {
			return fmt.Errorf("copy %s into %s: %w", src, dst, err)
		}
		return nil
	})
}

func copyFile(from, to string, perm os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
