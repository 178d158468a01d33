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
	"slices"
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
//
// When ctx is done, or the trail's reader is gone (a write fails with
// EPIPE), every process of the tree gets SIGTERM, and SIGKILL stopGrace
// later. Other trail write errors do not stop the command: w keeps the
// first and counts the events it could not write (trail.Writer.Unwritten).
func RunPtrace(ctx context.Context, cfg Config, cmd *exec.Cmd, w *trail.Writer) (int, Stats, error) {
	prefixes, err := cleanPrefixes(cfg.Paths)
	if err != nil {
		return -1, Stats{}, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	p := &ptracer{w: w, prefixes: prefixes, ops: map[int]int{}, stop: stop,
		comms: map[int]string{}, untraced: map[untracedKey]bool{}}
	for _, s := range slices.Concat(syscalls, descSyscalls) {
		p.ops[s.nr] = s.op
	}
	pc := &ptrace.Cmd{
		Path: cmd.Path, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir,
		Stdin: asFile(cmd.Stdin), Stdout: asFile(cmd.Stdout), Stderr: asFile(cmd.Stderr),
		StopSignal: unix.SIGTERM, StopGrace: stopGrace,
	}
	tc := &ptrace.Config{Syscalls: ptraceSyscalls(), Only: ptraceOnly, Enter: p.enter, Exit: p.exit,
		Foreign: true, Fork: p.forked, Exited: p.exited}
	res, err := ptrace.Run(runCtx, pc, tc, nil)
	p.flush() // a rename whose process was killed in the call never returned
	if errors.Is(err, context.Canceled) {
		err = nil // stopped on purpose: the caller knows why
	}
	if err != nil {
		return -1, p.stats, fmt.Errorf("record: %w", err)
	}
	if res.Status.Signaled() {
		return 128 + int(res.Status.Signal()), p.stats, nil
	}
	return res.ExitCode(), p.stats, nil
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
	ops      map[int]int // syscall number → kernel op code, for the calls both backends share
	stats    Stats
	stop     func()               // stops the traced tree: the trail's reader is gone
	comms    map[int]string       // each process's name at its last event, for its exit
	untraced map[untracedKey]bool // what each process was told it does untraced

	// While a rename or unlink is in its call (renaming > 0), events are
	// held so that it can be placed among them when it returns
	// (placeRenames).
	renaming int
	held     []trail.Event
	written  time.Time // the time of the last event written
	history  history   // the last events written
}

type untracedKey struct {
	pid int
	sys string
}

// ptraceSyscalls lists every call the ptrace backend stops at: the calls
// both backends share (syscalls, descSyscalls) and those that handle
// dispatches by number.
func ptraceSyscalls() []int {
	seen := map[int]bool{}
	for _, s := range slices.Concat(syscalls, descSyscalls) {
		seen[s.nr] = true
	}
	for nr := range byNumber {
		seen[nr] = true
	}
	nrs := make([]int, 0, len(seen))
	for nr := range seen {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	return nrs
}

// A call finishes what an entry stop started, at the call's exit.
type finish func(s *ptrace.Stop)

// event starts an event of op for the calling thread; FD, Off and Len are
// unknown until set. Its comm is read when it is written (write).
func (p *ptracer) event(s *ptrace.Stop, op trail.Op) trail.Event {
	return trail.Event{PID: s.Pid, TID: s.Tid, Op: op, FD: trail.NoFD, Off: -1, Len: -1, Src: "ptrace"}
}

func (p *ptracer) enter(s *ptrace.Stop) ptrace.Action {
	if s.Foreign {
		p.stats.Compat++
		p.untracedOnce(s.Pid, s.Tid, "ia32")
		return ptrace.Action{}
	}
	var f finish
	if h, ok := byNumber[s.Nr]; ok {
		f = h(p, s)
	} else {
		f = p.shared(s)
	}
	if f == nil {
		return ptrace.Action{}
	}
	s.Note = f
	return ptrace.Action{TraceExit: true}
}

func (p *ptracer) exit(s *ptrace.Stop) {
	if f, ok := s.Note.(finish); ok {
		f(s)
	}
}

// shared starts the calls both backends trace (the kernel op codes of
// syscalls): opens, writes, syncs, close, renames, links, unlinks and
// truncates.
func (p *ptracer) shared(s *ptrace.Stop) finish {
	op := p.ops[s.Nr]
	if op == 0 {
		return nil
	}
	a := s.Args
	e := p.event(s, trailOps[op])
	at := func(dirfd int, addr uint64) string { return resolveAt(s.Tid, dirfd, readPath(s, addr)) }
	switch op {
	case kOpen, kCreat, kOpenat, kOpenat2:
		return p.open(s, op, e)
	case kWrite, kPwrite64, kWritev, kPwritev, kFsync, kFdatasync, kClose, kFtruncate:
		e.FD = int(int32(a[0]))
		size, ok := fdFile(s.Tid, e.FD, &e)
		if !ok {
			return nil
		}
		switch op {
		case kWrite, kWritev:
			e.Off = writePos(s.Tid, e.FD, size)
		case kPwrite64, kPwritev:
			e.Off = int64(a[3])
		case kFtruncate:
			e.Off, e.Len = int64(a[1]), 0
		}
		if op == kWrite || op == kPwrite64 {
			e.Len = int64(a[2])
		}
		return p.thenIO(e, op == kWritev || op == kPwritev)
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
		if op == kLinkat && a[4]&unix.AT_EMPTY_PATH != 0 && readPath(s, a[1]) == "" {
			e.FD = int(int32(a[0]))
			fdFile(s.Tid, e.FD, &e)
		}
	default:
		return nil // a descriptor call: byNumber has it
	}
	if e.Op == trail.OpRename || e.Op == trail.OpUnlink {
		return p.nameCall(op, e, a[4])
	}
	return p.then(e)
}

// nameCall finishes a rename or unlink with its call's times, and a
// rename's mode from renameat2's flags; until it returns, other events
// are held so that it can be placed among them (placeRenames).
func (p *ptracer) nameCall(op int, e trail.Event, flags uint64) finish {
	e.Called = time.Now()
	if op == kRenameat2 && flags&unix.RENAME_EXCHANGE != 0 {
		e.Mode = "exchange"
	}
	p.renaming++
	return func(s *ptrace.Stop) {
		p.renaming--
		p.result(s, &e)
		e.Returned = e.TS
		p.emit(&e)
	}
}

// open resolves the path the program passed, against its dirfd or working
// directory, now: at the exit another process may have renamed the file,
// and the name the program used is the one the trail needs.
func (p *ptracer) open(s *ptrace.Stop, op int, e trail.Event) finish {
	a := s.Args
	dirfd, raw := unix.AT_FDCWD, ""
	switch op {
	case kOpen:
		raw, e.Flags = readPath(s, a[0]), trail.HostOpenFlags(int(a[1]))
	case kCreat:
		raw, e.Flags = readPath(s, a[0]), trail.O_WRONLY|trail.O_CREAT|trail.O_TRUNC
	case kOpenat:
		dirfd, raw, e.Flags = int(int32(a[0])), readPath(s, a[1]), trail.HostOpenFlags(int(a[2]))
	case kOpenat2:
		dirfd, raw = int(int32(a[0])), readPath(s, a[1])
		var how [8]byte
		if n, _ := s.Read(a[2], how[:]); n == 8 {
			e.Flags = trail.HostOpenFlags(int(binary.NativeEndian.Uint64(how[:]))) // open_how.flags
		}
	}
	e.Path = resolveAt(s.Tid, dirfd, raw)
	return func(s *ptrace.Stop) {
		if !p.result(s, &e) {
			e.FD = int(s.Ret)
			var st unix.Stat_t
			if !fileStat(s.Tid, e.FD, &st) {
				return // a pipe, socket or device
			}
			e.Dev, e.Ino = st.Dev, st.Ino
		}
		p.emit(&e)
	}
}

// then finishes e with the call's result.
func (p *ptracer) then(e trail.Event) finish {
	return func(s *ptrace.Stop) {
		p.result(s, &e)
		p.emit(&e)
	}
}

// thenOK finishes e and writes it when the call succeeded: a failed dup
// or setfd changed nothing.
func (p *ptracer) thenOK(e trail.Event) finish {
	return func(s *ptrace.Stop) {
		if !p.result(s, &e) {
			p.emit(&e)
		}
	}
}

// thenIO finishes a read or write event; with vectored, its length is what
// the call moved.
func (p *ptracer) thenIO(e trail.Event, vectored bool) finish {
	return func(s *ptrace.Stop) {
		if !p.result(s, &e) && vectored {
			e.Len = s.Ret
		}
		p.emit(&e)
	}
}

// result sets e's time, return value and error, and reports whether the
// call failed.
func (p *ptracer) result(s *ptrace.Stop, e *trail.Event) (failed bool) {
	e.TS = time.Now()
	e.Ret = s.Ret
	if errno := s.Errno(); errno != 0 {
		e.Ret, e.Err = -1, errName(errno)
		return true
	}
	return false
}

// emit writes e when its path passes the --path prefixes (see keep).
func (p *ptracer) emit(e *trail.Event) {
	if e.TS.IsZero() {
		e.TS = time.Now()
	}
	if p.keep(e) {
		p.write(e)
	}
}

// write writes e to the trail, with the thread's name read now (after an
// exec, the new program's); a reader that is gone stops the tree.
func (p *ptracer) write(e *trail.Event) {
	if e.Comm == "" && e.Op != trail.OpExit {
		e.Comm = comm(e.TID)
	}
	if e.Comm != "" {
		p.comms[e.PID] = e.Comm
	}
	p.stats.Events++
	p.stats.Calls++
	if p.renaming == 0 && len(p.held) == 0 {
		p.out(e)
		return
	}
	p.held = append(p.held, *e)
	if p.renaming == 0 || e.TS.Sub(p.held[0].TS) >= 2*placeWindow {
		p.flush()
	}
}

// flush writes the held events, with the renames among them placed.
func (p *ptracer) flush() {
	placeRenames(p.held, p.written, &p.history)
	for i := range p.held {
		p.out(&p.held[i])
	}
	p.held = p.held[:0]
}

// out writes e to the trail; a reader that is gone stops the tree.
func (p *ptracer) out(e *trail.Event) {
	p.written = e.TS
	p.history.add([]trail.Event{*e})
	if err := p.w.Write(e); errors.Is(err, unix.EPIPE) {
		p.stop()
	}
}

// keep reports whether e belongs in the trail: an event about a file needs
// a path under the prefixes; fork, exec, exit, untraced and descriptor
// ranges have no file and always pass.
func (p *ptracer) keep(e *trail.Event) bool {
	switch e.Op {
	case trail.OpFork, trail.OpExec, trail.OpExit, trail.OpUntraced:
		return true
	case trail.OpClose, trail.OpSetFD:
		if e.MaxFD > 0 {
			return true
		}
	}
	if !named(e) {
		p.stats.NoPath++
		return false
	}
	return len(p.prefixes) == 0 || underAny(e.Path, p.prefixes) || underAny(e.To, p.prefixes)
}

// forked writes the fork event of a traced process.
func (p *ptracer) forked(f ptrace.Fork) {
	e := trail.Event{TS: time.Now(), PID: f.Pid, TID: f.Tid, Op: trail.OpFork, FD: trail.NoFD, Off: -1, Len: -1,
		Src: "ptrace", Comm: comm(f.Tid), Child: f.Child}
	if f.Shared {
		e.Mode = "shared"
	}
	p.comms[f.Child] = e.Comm // its name until it execs
	p.emit(&e)
}

// exited writes the exit event of a traced process: every descriptor it
// held is closed.
func (p *ptracer) exited(pid int) {
	e := trail.Event{TS: time.Now(), PID: pid, TID: pid, Op: trail.OpExit, FD: trail.NoFD, Off: -1, Len: -1,
		Src: "ptrace", Comm: p.comms[pid]}
	delete(p.comms, pid)
	p.emit(&e)
}

// untracedOnce writes one untraced event per process and sys, and lists
// it in Stats.Untraced.
func (p *ptracer) untracedOnce(pid, tid int, sys string) {
	k := untracedKey{pid, sys}
	if p.untraced[k] {
		return
	}
	p.untraced[k] = true
	e := trail.Event{TS: time.Now(), PID: pid, TID: tid, Op: trail.OpUntraced, FD: trail.NoFD, Off: -1, Len: -1,
		Src: "ptrace", Comm: comm(tid), Sys: sys}
	p.stats.Untraced = append(p.stats.Untraced, Untraced{PID: pid, Comm: e.Comm, Sys: sys})
	p.emit(&e)
}

// readPath reads a path argument of the stopped thread.
func readPath(s *ptrace.Stop, addr uint64) string {
	v, _ := s.ReadString(addr, 4096)
	return v
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
	var st unix.Stat_t
	if !fileStat(tid, fd, &st) {
		return 0, false
	}
	if path, err := os.Readlink(fdLink(tid, fd)); err == nil {
		e.Path = strings.TrimSuffix(path, " (deleted)")
	}
	e.Dev, e.Ino = st.Dev, st.Ino
	return st.Size, true
}

// fileStat stats fd of thread tid and reports whether it is a file,
// directory or symlink.
func fileStat(tid, fd int, st *unix.Stat_t) bool {
	if fd < 0 || unix.Stat(fdLink(tid, fd), st) != nil {
		return false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
		return true
	}
	return false
}

func fdLink(tid, fd int) string {
	return "/proc/" + strconv.Itoa(tid) + "/fd/" + strconv.Itoa(fd)
}

// writePos is where a write to fd starts: size for an O_APPEND
// descriptor, else its position; -1 when unknown.
func writePos(tid, fd int, size int64) int64 {
	pos, appends := fdPos(tid, fd)
	if appends {
		return size
	}
	return pos
}

// readPos is fd's position, where a read starts; -1 when unknown.
func readPos(tid, fd int) int64 {
	pos, _ := fdPos(tid, fd)
	return pos
}

// fdPos reads fd's position and O_APPEND flag from /proc/TID/fdinfo.
func fdPos(tid, fd int) (pos int64, appends bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(tid) + "/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return -1, false
	}
	defer f.Close()
	pos = -1
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
				appends = true
			}
		}
	}
	return pos, appends
}

func comm(tid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}
