//go:build linux && (amd64 || arm64)

package record

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/ptrace"
	"github.com/heisen-dev/heisen/trail"
)

// RunPtrace records cmd and its process tree into w with ptrace, for
// machines where eBPF cannot be used. Only the traced syscalls stop (a
// seccomp filter lets every other call run), but each of those stops twice
// and waits for the recorder, so the command runs slower and its timing
// changes: races may hide. Events have src "ptrace".
//
// Paths are resolved while the calling thread is stopped at the syscall,
// from /proc/TID/cwd and /proc/TID/fd, so no other thread of the tree can
// have changed them in between except one that shares the fd table and
// closes or replaces the fd concurrently. Config.PIDs, All and RingSize do
// not apply.
func RunPtrace(ctx context.Context, cfg Config, cmd *exec.Cmd, w *trail.Writer) (int, Stats, error) {
	prefixes, err := cleanPrefixes(cfg.Paths)
	if err != nil {
		return -1, Stats{}, err
	}
	p := &ptracer{w: w, prefixes: prefixes, ops: map[int]int{}}
	var nrs []int
	for _, s := range syscalls {
		p.ops[s.nr] = s.op
		nrs = append(nrs, s.nr)
	}
	pc := &ptrace.Cmd{
		Path: cmd.Path, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir,
		Stdin: asFile(cmd.Stdin), Stdout: asFile(cmd.Stdout), Stderr: asFile(cmd.Stderr),
	}
	res, err := ptrace.Run(ctx, pc, &ptrace.Config{Syscalls: nrs, Enter: p.enter, Exit: p.exit}, nil)
	if err != nil && !errors.Is(err, context.Canceled) {
		return -1, p.stats, fmt.Errorf("record: ptrace %s: %w", cmd.Path, err)
	}
	code := res.ExitCode()
	if res.Status.Signaled() {
		code = 128 + int(res.Status.Signal())
	}
	return code, p.stats, errors.Join(p.err, err)
}

// asFile returns the stream as a file when it is one (ptrace forks the
// command directly and cannot copy through goroutines); nil means
// /dev/null.
func asFile(v any) *os.File {
	if f, ok := v.(*os.File); ok {
		return f
	}
	return nil
}

type ptracer struct {
	w        *trail.Writer
	prefixes []string
	ops      map[int]int // syscall number → kernel op code
	stats    Stats
	err      error // the first write error
}

// pending is what an entry stop learned, completed at the exit stop.
type pending struct {
	op    int
	ev    trail.Event
	dirfd int    // for opens that fail: the directory of a relative path
	raw   string // the path as passed, for opens
	drop  bool   // not a file (pipe, socket, device)
}

func (p *ptracer) enter(s *ptrace.Stop) ptrace.Action {
	op := p.ops[s.Nr]
	a := s.Args
	pd := &pending{op: op, ev: trail.Event{
		PID: s.Pid, TID: s.Tid, Op: trailOps[op], FD: trail.NoFD, Off: -1, Len: -1, Src: "ptrace",
		Comm: comm(s.Tid),
	}}
	e := &pd.ev
	str := func(addr uint64) string {
		v, _ := s.ReadString(addr, 4096)
		return v
	}
	at := func(dirfd int, addr uint64) string { return resolveAt(s.Tid, dirfd, str(addr)) }
	switch op {
	case kOpen, kCreat, kOpenat, kOpenat2:
		pd.dirfd, pd.raw = unix.AT_FDCWD, str(a[0])
		switch op {
		case kOpen:
			e.Flags = trail.HostOpenFlags(int(a[1]))
		case kCreat:
			e.Flags = trail.O_WRONLY | trail.O_CREAT | trail.O_TRUNC
		case kOpenat:
			pd.dirfd, pd.raw = int(int32(a[0])), str(a[1])
			e.Flags = trail.HostOpenFlags(int(a[2]))
		case kOpenat2:
			pd.dirfd, pd.raw = int(int32(a[0])), str(a[1])
			var how [8]byte
			if n, _ := s.Read(a[2], how[:]); n == 8 {
				e.Flags = trail.HostOpenFlags(int(binary.NativeEndian.Uint64(how[:]))) // open_how.flags
			}
		}
		// Resolved now: the directory may be gone or changed at exit.
		e.Path = resolveAt(s.Tid, pd.dirfd, pd.raw)
	case kWrite, kPwrite64, kWritev, kPwritev, kFsync, kFdatasync, kClose, kFtruncate:
		e.FD = int(int32(a[0]))
		size, ok := fdFile(s.Tid, e.FD, e)
		pd.drop = !ok
		switch op {
		case kWrite, kWritev:
			e.Off = fdPos(s.Tid, e.FD, size)
		case kPwrite64, kPwritev:
			e.Off = int64(a[3])
		case kFtruncate:
			e.Off, e.Len = int64(a[1]), 0
		}
		if op == kWrite || op == kPwrite64 {
			e.Len = int64(a[2])
		}
	case kTruncate:
		e.Path, e.Off, e.Len = at(unix.AT_FDCWD, a[0]), int64(a[1]), 0
	case kUnlink:
		e.Path = at(unix.AT_FDCWD, a[0])
	case kUnlinkat:
		e.Path = at(int(int32(a[0])), a[1])
	case kRename, kLink:
		e.Path, e.To = at(unix.AT_FDCWD, a[0]), at(unix.AT_FDCWD, a[1])
	case kRenameat, kRenameat2, kLinkat:
		e.Path, e.To = at(int(int32(a[0])), a[1]), at(int(int32(a[2])), a[3])
		if op == kLinkat && a[4]&unix.AT_EMPTY_PATH != 0 && str(a[1]) == "" {
			e.FD = int(int32(a[0]))
			fdFile(s.Tid, e.FD, e)
		}
	}
	s.Note = pd
	return ptrace.Action{TraceExit: true}
}

func (p *ptracer) exit(s *ptrace.Stop) {
	pd, ok := s.Note.(*pending)
	if !ok || pd.drop {
		return
	}
	e := &pd.ev
	e.TS = time.Now()
	e.Ret = s.Ret
	if errno := s.Errno(); errno != 0 {
		e.Ret, e.Err = -1, errName(errno)
	} else if trailOps[pd.op] == trail.OpOpen {
		e.FD = int(s.Ret)
		if _, ok := fdFile(s.Tid, e.FD, e); !ok {
			return
		}
	} else if pd.op == kWritev || pd.op == kPwritev {
		e.Len = s.Ret
	}
	if !named(e) {
		p.stats.NoPath++
		return
	}
	if len(p.prefixes) > 0 && !underAny(e.Path, p.prefixes) && !underAny(e.To, p.prefixes) {
		return
	}
	if err := p.w.Write(e); err != nil && !errors.Is(err, trail.ErrTooLong) && p.err == nil {
		p.err = err
	}
	p.stats.Events++
	p.stats.Calls++
}

// resolveAt makes raw absolute against dirfd (or the cwd for AT_FDCWD) of
// thread tid, read from /proc while tid is stopped.
func resolveAt(tid, dirfd int, raw string) string {
	if filepath.IsAbs(raw) {
		return filepath.Clean(raw)
	}
	link := "/proc/" + strconv.Itoa(tid) + "/cwd"
	if dirfd != unix.AT_FDCWD {
		link = "/proc/" + strconv.Itoa(tid) + "/fd/" + strconv.Itoa(dirfd)
	}
	dir, err := os.Readlink(link)
	if err != nil {
		return raw
	}
	return joinPath(dir, raw)
}

// fdFile sets e's path, dev and ino from fd of thread tid and reports
// whether it is a file, directory or symlink (not a pipe, socket or device),
// and the file's size.
func fdFile(tid, fd int, e *trail.Event) (size int64, ok bool) {
	link := "/proc/" + strconv.Itoa(tid) + "/fd/" + strconv.Itoa(fd)
	var st unix.Stat_t
	if err := unix.Stat(link, &st); err != nil {
		return 0, false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
	default:
		return 0, false
	}
	if path, err := os.Readlink(link); err == nil {
		e.Path = strings.TrimSuffix(path, " (deleted)")
	}
	e.Dev, e.Ino = st.Dev, st.Ino
	return st.Size, true
}

// fdPos is where a write to fd starts: size for an O_APPEND descriptor,
// else its position, from /proc/TID/fdinfo; -1 when unknown.
func fdPos(tid, fd int, size int64) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(tid) + "/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return -1
	}
	defer f.Close()
	pos := int64(-1)
	sc := bufio.NewScanner(io.LimitReader(f, 4096))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		v = strings.TrimSpace(v)
		switch k {
		case "pos":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				pos = n
			}
		case "flags":
			if fl, err := strconv.ParseInt(v, 8, 64); err == nil && fl&unix.O_APPEND != 0 {
				return size
			}
		}
	}
	return pos
}

func comm(tid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}
