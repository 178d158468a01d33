package ptrace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Cmd is the program Run starts. Unlike os/exec.Cmd it takes only files for
// the standard streams: the tracee is forked directly from the tracer's
// thread, with no copying goroutines.
type Cmd struct {
	Path string   // program to run; without a slash it is looked up in Env's PATH
	Args []string // argv, including argv[0]; empty means []string{Path}
	Env  []string // nil means os.Environ()
	Dir  string   // working directory; empty means the current one

	// Standard streams; nil means /dev/null.
	Stdin, Stdout, Stderr *os.File

	// Setpgid puts the tracee in a new process group whose id is its pid;
	// cancelling Run's context then signals the whole group as well.
	Setpgid bool

	// StopSignal is what cancelling Run's context sends to every traced
	// process (and the group, with Setpgid), and to any it creates
	// afterwards; those still running StopGrace later are killed with
	// SIGKILL. Zero means SIGKILL at once.
	StopSignal unix.Signal
	StopGrace  time.Duration
}

// Config says which syscalls stop and what happens at each stop.
type Config struct {
	// Syscalls are the numbers that stop (see Syscalls); at most 250.
	Syscalls []int

	// Only narrows a call of Syscalls: it stops only when each of its
	// tests holds (fcntl only for some commands, say). The filter tests
	// the arguments in the kernel, so the calls left out cost no stop.
	Only map[int][]ArgTest

	// Enter is called at the entry of every filtered syscall. A nil Enter
	// lets every call run at once.
	Enter func(*Stop) Action

	// Exit is called after a syscall for which Enter returned TraceExit.
	Exit func(*Stop)

	// Foreign also stops every syscall made through another
	// architecture's table (the 32-bit one of x86-64 or arm64), reported
	// to Enter with Stop.Foreign set and Nr from that table.
	Foreign bool

	// Fork is called when a traced process has created a process (not a
	// thread), before the child runs a single instruction.
	Fork func(Fork)

	// Exited is called when the last thread of a traced process has
	// exited: its descriptors are closed.
	Exited func(pid int)
}

// Fork is a process creation seen by the tracer.
type Fork struct {
	Pid, Tid int  // the process and thread that forked
	Child    int  // the new process
	Shared   bool // the child shares the parent's descriptor table (CLONE_FILES)
}

// Action is Enter's decision for one syscall.
type Action struct {
	// Delay holds the calling thread this long before the syscall runs.
	// The rest of the tree keeps running meanwhile. While any thread is
	// held the wait loop polls every 0.2 ms, so a delay lasts up to about
	// 0.2 ms longer than asked (more on a loaded machine), never shorter.
	Delay time.Duration
	// TraceExit asks for a stop when the syscall returns, reported to
	// Config.Exit.
	TraceExit bool
}

// Stop is one syscall stop. At Exit it carries the entry's Nr and Args (and
// whatever Enter left in Note) with Exiting and Ret set.
type Stop struct {
	Pid  int // thread-group id: the process
	Tid  int // the thread that made the call
	Nr   int
	Args [6]uint64

	// Foreign is set for a call through another architecture's table
	// (Config.Foreign): Nr is a number of that table.
	Foreign bool

	Exiting bool
	Ret     int64 // at exit: the result; a negative errno on failure

	// Note is for the caller: whatever Enter stores here is there at Exit.
	Note any
}

// Name is the syscall's name, as in syscalls(2).
func (s *Stop) Name() string { return SyscallName(s.Nr) }

// Errno is the error of a failed call at exit, or 0.
func (s *Stop) Errno() unix.Errno {
	if s.Exiting && s.Ret < 0 && s.Ret > -4096 {
		return unix.Errno(-s.Ret)
	}
	return 0
}

// Read copies the tracee's memory at addr into buf with process_vm_readv
// and returns how many bytes it read; fewer than len(buf) only with an error.
func (s *Stop) Read(addr uint64, buf []byte) (int, error) {
	return readMem(s.Tid, addr, buf)
}

// ReadString reads a NUL-terminated string of at most max bytes at addr in
// the tracee. It reads page by page, so a string that ends just before an
// unmapped page is still read whole.
func (s *Stop) ReadString(addr uint64, max int) (string, error) {
	var out []byte
	var chunk [4096]byte
	for len(out) < max {
		n := 4096 - int(addr%4096) // stay within one page per read
		n = min(n, max-len(out))
		got, err := readMem(s.Tid, addr, chunk[:n])
		if i := slices.Index(chunk[:got], 0); i >= 0 {
			return string(append(out, chunk[:i]...)), nil
		}
		out = append(out, chunk[:got]...)
		if err != nil {
			return string(out), err
		}
		addr += uint64(got)
	}
	return string(out), fmt.Errorf("ptrace: string at %#x in pid %d longer than %d bytes", addr, s.Tid, max)
}

func readMem(tid int, addr uint64, buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	local := []unix.Iovec{{Base: &buf[0], Len: uint64(len(buf))}}
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(buf)}}
	n, err := unix.ProcessVMReadv(tid, local, remote, 0)
	if err != nil {
		return max(n, 0), fmt.Errorf("ptrace: process_vm_readv pid %d at %#x: %w", tid, addr, err)
	}
	if n < len(buf) {
		return n, fmt.Errorf("ptrace: process_vm_readv pid %d at %#x: short read %d of %d", tid, addr, n, len(buf))
	}
	return n, nil
}

// Result is how the traced command ended.
type Result struct {
	Pid    int             // the command's pid
	Status unix.WaitStatus // as from wait4
}

// ExitCode is the exit status, or -1 when a signal killed the command.
func (r Result) ExitCode() int {
	if r.Status.Exited() {
		return r.Status.ExitStatus()
	}
	return -1
}

// Run starts cmd under ptrace with cfg's filter and returns when every
// process of its tree has exited. started, if not nil, is called with the
// command's pid once it is traced, before it execs the target: the place to
// set up anything keyed by pid.
//
// Cancelling ctx sends cmd.StopSignal (SIGKILL by default) to the
// command's process group (with Setpgid) and every traced process; Run
// still waits for them and then returns ctx's error along with the result.
func Run(ctx context.Context, cmd *Cmd, cfg *Config, started func(pid int)) (Result, error) {
	if len(cfg.Syscalls) == 0 || len(cfg.Syscalls) > 250 {
		return Result{}, fmt.Errorf("ptrace: need 1 to 250 syscalls, have %d", len(cfg.Syscalls))
	}
	self, err := os.Executable()
	if err != nil {
		return Result{}, fmt.Errorf("ptrace: finding the shim binary: %w", err)
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	path, err := lookPath(cmd.Path, env)
	if err != nil {
		return Result{}, err
	}
	argv := cmd.Args
	if len(argv) == 0 {
		argv = []string{cmd.Path}
	}
	spec := &filterSpec{Syscalls: cfg.Syscalls, Only: cfg.Only, Foreign: cfg.Foreign}
	if _, err := filter(spec); err != nil {
		return Result{}, err
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return Result{}, fmt.Errorf("ptrace: encode the filter: %w", err)
	}
	t := &tracer{
		cfg:     cfg,
		tasks:   map[int]*task{},
		procs:   map[int]bool{},
		group:   cmd.Setpgid,
		started: started,
	}
	spawn := &spawn{
		self: self,
		argv: append([]string{self, path}, argv...),
		env:  append(slices.Clip(env), shimEnv+"="+string(specJSON)),
		cmd:  cmd,
	}
	done := make(chan outcome, 1)
	go onCleanThread(func() {
		res, err := t.run(spawn)
		done <- outcome{res, err}
	})
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
	}
	o, err := t.stop(done, cmd.StopSignal, cmd.StopGrace)
	if err == nil {
		err = ctx.Err()
	}
	return o, err
}

// stop signals every traced process with sig and waits for the tracer to
// finish; after grace, or at once when sig is 0, it kills them all.
func (t *tracer) stop(done <-chan outcome, sig unix.Signal, grace time.Duration) (Result, error) {
	if sig != 0 && sig != unix.SIGKILL {
		t.signalAll(sig)
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case o := <-done:
			return o.res, o.err
		case <-timer.C:
		}
	}
	t.signalAll(unix.SIGKILL)
	o := <-done
	return o.res, o.err
}

// onCleanThread runs f locked to an OS thread that has no children, and
// never unlocks it: the thread owns the ptrace relations and exits with the
// goroutine. A thread that once ran another goroutine may have forked a
// child for os/exec; waiting on "any child" there would reap that child.
func onCleanThread(f func()) {
	runtime.LockOSThread()
	// The main thread is avoided too: the kernel hands it the children of
	// any thread that exits, such as another goroutine's locked thread.
	b, err := os.ReadFile("/proc/thread-self/children")
	if unix.Gettid() == unix.Getpid() || (err == nil && len(b) > 0) {
		// Hold this thread so the retry lands on another one.
		done := make(chan struct{})
		go func() {
			defer close(done)
			onCleanThread(f)
		}()
		<-done
		runtime.UnlockOSThread()
		return
	}
	f()
}

func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for i := len(env) - 1; i >= 0; i-- {
		if p, ok := strings.CutPrefix(env[i], "PATH="); ok {
			for _, dir := range strings.Split(p, ":") {
				if dir == "" {
					dir = "."
				}
				cand := dir + "/" + file
				if fi, err := os.Stat(cand); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
					return cand, nil
				}
			}
			break
		}
	}
	return "", fmt.Errorf("ptrace: %s: %w", file, exec.ErrNotFound)
}

type outcome struct {
	res Result
	err error
}

type spawn struct {
	self string
	argv []string
	env  []string
	cmd  *Cmd
}

// task is the tracer's state for one traced thread.
type task struct {
	tid      int
	pid      int   // thread-group id
	exit     *Stop // the entry stop, while waiting for the exit stop
	resumeAt time.Time
	early    bool // reported before its creator's fork event
	held     bool // stopped at its first stop until that event
	born     bool // a process whose start was seen: the command, or reported to Config.Fork
}

type tracer struct {
	cfg     *Config
	tasks   map[int]*task
	started func(int)
	held    int // tasks held for their creator's fork event

	mu    sync.Mutex
	procs map[int]bool // live thread groups, for signalAll
	root  int
	group bool        // root leads a process group, signalled with it
	sent  unix.Signal // what signalAll last sent, also to every process as it appears
}

// wnothread is __WNOTHREAD: wait only for this thread's children and
// tracees, never for a child another goroutine's thread started.
const wnothread = 0x20000000

const options = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACESECCOMP |
	unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE |
	unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL

func (t *tracer) run(s *spawn) (Result, error) {
	pid, err := t.start(s)
	if err != nil {
		return Result{}, err
	}
	res := Result{Pid: pid}
	var delayed []*task // held threads, by resumeAt
	for {
		flags := unix.WALL | wnothread
		if len(delayed) > 0 {
			flags |= unix.WNOHANG
		}
		var ws unix.WaitStatus
		tid, err := unix.Wait4(-1, &ws, flags, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			return res, nil
		case err != nil:
			return res, fmt.Errorf("ptrace: wait4: %w", err)
		}
		if tid > 0 {
			if d := t.handle(tid, ws, &res); d != nil {
				delayed = insertByTime(delayed, d)
			}
		}
		now := time.Now()
		for len(delayed) > 0 && !delayed[0].resumeAt.After(now) {
			d := delayed[0]
			delayed = delayed[1:]
			if t.tasks[d.tid] == d { // not exited meanwhile
				t.resume(d.tid, d, 0)
			}
		}
		if tid == 0 && len(delayed) > 0 {
			// Nothing to report: sleep until the next release, but
			// briefly, since a stop may arrive meanwhile.
			time.Sleep(min(time.Until(delayed[0].resumeAt), 200*time.Microsecond))
		}
	}
}

func (t *tracer) start(s *spawn) (int, error) {
	files := [3]*os.File{s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr}
	for i, f := range files {
		if f == nil {
			null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			if err != nil {
				return 0, fmt.Errorf("ptrace: %w", err) // it names /dev/null
			}
			defer null.Close()
			files[i] = null
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("ptrace: pipe: %w", err)
	}
	defer r.Close()
	defer w.Close()
	pid, err := syscall.ForkExec(s.self, s.argv, &syscall.ProcAttr{
		Dir:   s.cmd.Dir,
		Env:   s.env,
		Files: []uintptr{files[0].Fd(), files[1].Fd(), files[2].Fd(), r.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: s.cmd.Setpgid},
	})
	if err != nil {
		return 0, fmt.Errorf("ptrace: starting shim %s for %s: %w", s.self, s.argv[1], err)
	}
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, options, 0, 0); e != 0 {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
		return 0, fmt.Errorf("ptrace: PTRACE_SEIZE pid %d: %w", pid, e)
	}
	t.tasks[pid] = &task{tid: pid, pid: pid, born: true}
	t.mu.Lock()
	t.root = pid
	t.mu.Unlock()
	t.addProc(pid)
	if t.started != nil {
		t.started(pid)
	}
	// An error means the shim died before reading; the wait loop reports
	// how it ended.
	w.Write([]byte{0})
	return pid, nil
}

// signalAll sends sig to the process group and every traced process, and
// has addProc send it to those still to come: a cancellation that arrives
// before the command is traced, or while it forks, must not let any
// process run on.
func (t *tracer) signalAll(sig unix.Signal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = sig
	if t.group && t.root > 0 {
		unix.Kill(-t.root, sig)
	}
	for pid := range t.procs {
		unix.Kill(pid, sig)
	}
}

// handle acts on one wait status. It returns the task when the thread is to
// be held for a delay instead of resumed now.
func (t *tracer) handle(tid int, ws unix.WaitStatus, res *Result) *task {
	tk := t.tasks[tid]
	if tk == nil {
		// A new tracee can report before its creator's fork event.
		tk = &task{tid: tid, pid: tgidOf(tid), early: true}
		t.tasks[tid] = tk
		t.addProc(tk.pid)
	}
	if ws.Exited() || ws.Signaled() {
		t.exited(tid, tk)
		if tid == res.Pid {
			res.Status = ws
		}
		return nil
	}
	if !ws.Stopped() {
		return nil
	}
	sig := ws.StopSignal()
	event := int(ws) >> 16
	switch {
	case sig == unix.SIGTRAP|0x80:
		// Syscall-exit-stop: only requested after a seccomp stop.
		if st := tk.exit; st != nil {
			tk.exit = nil
			if info, err := syscallInfo(tid); err == nil && info.Op == infoExit {
				st.Exiting = true
				st.Ret = info.retval()
				t.cfg.Exit(st)
			}
		}
		t.resume(tid, tk, 0)
	case sig == unix.SIGTRAP && event == unix.PTRACE_EVENT_SECCOMP:
		return t.enter(tid, tk)
	case sig == unix.SIGTRAP && (event == unix.PTRACE_EVENT_FORK || event == unix.PTRACE_EVENT_VFORK || event == unix.PTRACE_EVENT_CLONE):
		if msg, err := unix.PtraceGetEventMsg(tid); err == nil {
			t.forked(tk, int(msg), event == unix.PTRACE_EVENT_CLONE)
		}
		t.resume(tid, tk, 0)
	case sig == unix.SIGTRAP && event == unix.PTRACE_EVENT_EXEC:
		// A non-leader thread that execs takes over the leader's tid, and
		// its state with it (the exit stop it asked for); the leader's is
		// dropped, so that a delay the leader was held for cannot resume
		// the new image.
		if msg, err := unix.PtraceGetEventMsg(tid); err == nil && int(msg) != tid {
			if old := t.tasks[int(msg)]; old != nil {
				delete(t.tasks, int(msg))
				old.tid = tid
				if old.exit != nil {
					old.exit.Tid = tid // for Read at Exit
				}
				t.tasks[tid] = old
				tk = old
			}
		}
		tk.pid = tid
		t.resume(tid, tk, 0)
	case event == unix.PTRACE_EVENT_STOP:
		switch sig {
		case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
			// Group-stop: stay stopped until SIGCONT, yet keep reporting.
			ptrace(unix.PTRACE_LISTEN, tid, 0)
		default:
			// The first stop of a new tracee, or the end of a listen. A
			// child that reports before its creator's fork event waits
			// for it, so that Config.Fork comes before its first syscall.
			if tk.early {
				tk.early, tk.held = false, true
				t.held++
				return nil
			}
			t.resume(tid, tk, 0)
		}
	default:
		// Signal-delivery-stop: deliver the signal as if untraced.
		t.resume(tid, tk, sig)
	}
	return nil
}

// forked records the child of tk's fork event, reports it to Config.Fork
// when it is a process, and lets it run if it was held for this event.
func (t *tracer) forked(tk *task, child int, clone bool) {
	ck := t.tasks[child]
	if ck == nil {
		pid := child
		if clone {
			pid = tgidOf(child)
		}
		ck = &task{tid: child, pid: pid}
		t.tasks[child] = ck
		t.addProc(pid)
	}
	ck.early = false
	if ck.pid == child {
		ck.born = true
		if t.cfg.Fork != nil {
			t.cfg.Fork(Fork{Pid: tk.pid, Tid: tk.tid, Child: child, Shared: sharesFiles(tk.tid, child)})
		}
	}
	if ck.held {
		ck.held = false
		t.held--
		t.resume(child, ck, 0)
	}
}

// exited forgets a thread that is gone and reports its process's end when
// it was the last thread (a leader is reported after all its threads) of
// a process whose start was reported: a thread or process killed while
// its creator was in clone, before the fork event, is not.
// Children held for their creator's fork event are let go: an exit can be
// their creator's, killed before the event.
func (t *tracer) exited(tid int, tk *task) {
	delete(t.tasks, tid)
	if tid == tk.pid {
		t.mu.Lock()
		delete(t.procs, tid)
		t.mu.Unlock()
		if t.cfg.Exited != nil && tk.born {
			t.cfg.Exited(tid)
		}
	}
	for ctid, ck := range t.tasks {
		if t.held == 0 {
			break
		}
		if ck.held {
			ck.held = false
			t.held--
			t.resume(ctid, ck, 0)
		}
	}
}

// sharesFiles reports whether two threads share one descriptor table
// (kcmp KCMP_FILES); false when the kernel cannot tell (no CONFIG_KCMP).
func sharesFiles(tid1, tid2 int) bool {
	const kcmpFiles = 2
	r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(tid1), uintptr(tid2), kcmpFiles, 0, 0, 0)
	return e == 0 && r == 0
}

func (t *tracer) enter(tid int, tk *task) *task {
	info, err := syscallInfo(tid)
	if err != nil || info.Op != infoSeccomp || t.cfg.Enter == nil {
		t.resume(tid, tk, 0)
		return nil
	}
	st := &Stop{Pid: tk.pid, Tid: tid, Nr: int(info.Nr), Args: info.Args, Foreign: info.Arch != auditArch}
	act := t.cfg.Enter(st)
	if act.TraceExit && t.cfg.Exit != nil {
		tk.exit = st
	}
	if act.Delay > 0 {
		tk.resumeAt = time.Now().Add(act.Delay)
		return tk
	}
	t.resume(tid, tk, 0)
	return nil
}

func (t *tracer) addProc(pid int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.procs[pid] = true
	if t.sent != 0 {
		unix.Kill(pid, t.sent)
	}
}

// resume restarts a stopped thread, asking for the exit stop when one is
// pending. Errors mean the thread died meanwhile (ESRCH); the wait loop
// will report it.
func (t *tracer) resume(tid int, tk *task, sig unix.Signal) {
	req := unix.PTRACE_CONT
	if tk.exit != nil {
		req = unix.PTRACE_SYSCALL
	}
	ptrace(req, tid, uintptr(sig))
}

func ptrace(req, tid int, data uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tid), 0, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func insertByTime(q []*task, tk *task) []*task {
	i, _ := slices.BinarySearchFunc(q, tk, func(a, b *task) int { return a.resumeAt.Compare(b.resumeAt) })
	return slices.Insert(q, i, tk)
}

// tgidOf reads a thread's thread-group id from /proc; a thread that is
// gone counts as its own process.
func tgidOf(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return tid
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return tid
}

// syscallInfo is struct ptrace_syscall_info (linux/ptrace.h) with the
// entry/seccomp arm of its union; the exit arm overlays Nr and Args[0].
type sysInfo struct {
	Op    uint8
	_     uint8
	_     uint16
	Arch  uint32
	IP    uint64
	SP    uint64
	Nr    uint64
	Args  [6]uint64
	RetDt uint32
	_     uint32
}

const (
	infoExit    = 2 // PTRACE_SYSCALL_INFO_EXIT
	infoSeccomp = 3 // PTRACE_SYSCALL_INFO_SECCOMP
)

func (i *sysInfo) retval() int64 { return int64(i.Nr) }

func syscallInfo(tid int) (sysInfo, error) {
	var info sysInfo
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(info), uintptr(unsafe.Pointer(&info)), 0, 0)
	if e != 0 {
		return info, fmt.Errorf("ptrace: PTRACE_GET_SYSCALL_INFO pid %d: %w", tid, e)
	}
	return info, nil
}
