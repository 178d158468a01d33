package ptrace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/reexec"
	"github.com/heisen-dev/heisen/internal/testcap"
)

// TestMain lets the test binary serve as a multi-threaded target program:
// "threads" writes into the directory os.Args[1], "exec-from-thread" runs
// the program os.Args[1] from a thread other than the leader.
func TestMain(m *testing.M) {
	reexec.Main(m, map[string]func() error{
		"threads":          func() error { threadWriter(os.Args[1]); return nil },
		"exec-from-thread": func() error { execFromThread(os.Args[1]); return nil },
	})
}

// threadWriter writes one file from each of four OS threads at once.
func threadWriter(dir string) {
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			runtime.LockOSThread()
			p := filepath.Join(dir, fmt.Sprintf("t%d", i))
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			time.Sleep(20 * time.Millisecond) // keep the threads alive together
		})
	}
	wg.Wait()
	os.Exit(0)
}

// execFromThread execs prog from a thread that is not the main one, so
// that the kernel gives it the leader's tid, while the main thread waits.
func execFromThread(prog string) {
	go func() {
		for {
			runtime.LockOSThread() // never unlocked: a thread tried is not reused
			if unix.Gettid() != unix.Getpid() {
				err := unix.Exec(prog, []string{prog}, nil)
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			done := make(chan struct{})
			go func() { defer close(done); execFromThread(prog) }()
			<-done
		}
	}()
	select {}
}

func mustSyscalls(t *testing.T, list string) []int {
	t.Helper()
	nrs, err := Syscalls(list)
	if err != nil {
		t.Fatal(err)
	}
	return nrs
}

type recorded struct {
	Stop
	path string
}

// collect traces cmd, reading the path argument of every open and rename.
func collect(t *testing.T, cmd *Cmd, list string) ([]recorded, Result) {
	t.Helper()
	var mu sync.Mutex
	var got []recorded
	cfg := &Config{
		Syscalls: mustSyscalls(t, list),
		Enter:    func(*Stop) Action { return Action{TraceExit: true} },
		Exit: func(s *Stop) {
			r := recorded{Stop: *s}
			switch s.Name() {
			case "openat", "renameat", "renameat2", "unlinkat":
				r.path, _ = s.ReadString(s.Args[1], 4096)
			case "open", "rename", "unlink":
				r.path, _ = s.ReadString(s.Args[0], 4096)
			}
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
		},
	}
	res, err := Run(context.Background(), cmd, cfg, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return got, res
}

func TestTracesTreeWithArgsAndResults(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	cmd := &Cmd{Path: "sh", Args: []string{"sh", "-c", `echo hello > "$1" && mv "$1" "$2" && cat "$2" > /dev/null && cat "$1" 2>/dev/null; exit 3`, "sh", a, b}}
	got, res := collect(t, cmd, "file")
	if res.ExitCode() != 3 {
		t.Errorf("exit code %d, want 3", res.ExitCode())
	}
	var openA, renamed, missing bool
	pids := map[int]bool{}
	for _, r := range got {
		pids[r.Pid] = true
		switch {
		case strings.HasPrefix(r.Name(), "open") && r.path == a && r.Ret >= 0 && r.Pid == res.Pid:
			openA = true // the shell's redirection: in the root process
		case strings.HasPrefix(r.Name(), "rename") && r.path == a && r.Ret == 0 && r.Pid != res.Pid:
			renamed = true // mv: a forked and exec'd child
		case strings.HasPrefix(r.Name(), "open") && r.path == a && r.Errno() == unix.ENOENT:
			missing = true // the last cat, after the rename
		}
	}
	if !openA || !renamed || !missing {
		t.Errorf("open of a in root: %v, rename by child: %v, ENOENT open after rename: %v; stops:\n%v", openA, renamed, missing, got)
	}
	if len(pids) < 3 {
		t.Errorf("stops from %d processes, want at least 3 (sh, mv, cat)", len(pids))
	}
}

func TestOnlyChosenSyscallsStop(t *testing.T) {
	dir := t.TempDir()
	cmd := &Cmd{Path: "sh", Args: []string{"sh", "-c", `echo x > "$1/f" && mv "$1/f" "$1/g"`, "sh", dir}}
	got, res := collect(t, cmd, "rename,renameat,renameat2")
	if res.ExitCode() != 0 {
		t.Fatalf("exit code %d", res.ExitCode())
	}
	if len(got) != 1 || !strings.HasPrefix(got[0].Name(), "rename") || got[0].path != filepath.Join(dir, "f") {
		t.Fatalf("stops %+v, want exactly the one rename of f", got)
	}
}

func TestFollowsThreads(t *testing.T) {
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &Cmd{Path: self, Args: []string{self, dir}, Env: reexec.Environ("threads"), Stderr: os.Stderr}
	got, res := collect(t, cmd, "openat")
	if res.ExitCode() != 0 {
		t.Fatalf("helper exit code %d", res.ExitCode())
	}
	tids := map[int]bool{}
	for _, r := range got {
		if strings.HasPrefix(r.path, dir) {
			if r.Pid != res.Pid {
				t.Errorf("open of %s reported in pid %d, want the helper's %d", r.path, r.Pid, res.Pid)
			}
			tids[r.Tid] = true
		}
	}
	if len(tids) < 2 {
		t.Errorf("opens in %s came from %d threads, want several", dir, len(tids))
	}
}

func TestDelayHoldsOnlyTheCallingThread(t *testing.T) {
	const n, delay = 6, 100 * time.Millisecond
	dir := t.TempDir()
	// Two processes at once, each opening n files.
	script := `w() { i=0; while [ $i -lt ` + fmt.Sprint(n) + ` ]; do : > "$1.$i"; i=$((i+1)); done; }; w "$1/a" & w "$1/b" & wait`
	type hold struct {
		pid      int
		from, to time.Time // Enter, and Exit: after the held call ran
	}
	var mu sync.Mutex
	var holds []hold
	cfg := &Config{
		Syscalls: mustSyscalls(t, "open,openat,creat"),
		Enter: func(s *Stop) Action {
			if p, _ := s.ReadString(s.Args[1], 4096); strings.HasPrefix(p, dir) {
				s.Note = time.Now()
				return Action{Delay: delay, TraceExit: true}
			}
			return Action{}
		},
		Exit: func(s *Stop) {
			mu.Lock()
			holds = append(holds, hold{s.Pid, s.Note.(time.Time), time.Now()})
			mu.Unlock()
		},
	}
	start := time.Now()
	res, err := Run(context.Background(), &Cmd{Path: "sh", Args: []string{"sh", "-c", script, "sh", dir}}, cfg, nil)
	elapsed := time.Since(start)
	if err != nil || res.ExitCode() != 0 {
		t.Fatalf("Run: %v, exit %d", err, res.ExitCode())
	}
	// Each process waits n delays.
	if elapsed < n*delay {
		t.Errorf("took %v, less than the %v of delays one process must wait", elapsed, n*delay)
	}
	if len(holds) != 2*n {
		t.Fatalf("%d opens held, want %d", len(holds), 2*n)
	}
	// The delays asked, [Enter, Enter+delay], of the two processes overlap
	// unless the tracer serializes them, whatever the load: a tracer that
	// held one thread by waiting would see the other's call only after.
	var overlap time.Duration
	for i, a := range holds {
		if held := a.to.Sub(a.from); held < delay {
			t.Errorf("an open of pid %d ran %v after its stop, before the %v delay", a.pid, held, delay)
		}
		for _, b := range holds[i+1:] {
			if a.pid != b.pid {
				apart := a.from.Sub(b.from)
				overlap += max(0, delay-max(apart, -apart))
			}
		}
	}
	if overlap < delay {
		t.Errorf("the two processes were held at once for %v in all: their delays were serialized", overlap)
	}
	t.Logf("took %v; held at once for %v", elapsed, overlap)
}

// A thread other than the leader that execs takes the leader's tid: the
// stop it asked for at the end of its execve must still come, to Exit.
func TestExecFromThreadKeepsItsExitStop(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		testcap.Missing(t, "true(1) to exec", err)
	}
	var mu sync.Mutex
	var execs []Stop
	cfg := &Config{
		Syscalls: mustSyscalls(t, "execve"),
		Enter:    func(*Stop) Action { return Action{TraceExit: true} },
		Exit: func(s *Stop) {
			mu.Lock()
			execs = append(execs, *s)
			mu.Unlock()
		},
	}
	cmd := &Cmd{Path: self, Args: []string{self, truePath}, Env: reexec.Environ("exec-from-thread")}
	res, err := Run(context.Background(), cmd, cfg, nil)
	if err != nil || res.ExitCode() != 0 {
		t.Fatalf("Run: %v, exit %d", err, res.ExitCode())
	}
	// The shim's execve of the test binary, then the thread's of true.
	if len(execs) != 2 || execs[1].Ret != 0 || execs[1].Tid != res.Pid || execs[1].Pid != res.Pid {
		t.Errorf("execve exit stops %+v, want two successful ones, the second in tid %d", execs, res.Pid)
	}
}

func TestSignalsAreDelivered(t *testing.T) {
	cmd := &Cmd{Path: "sh", Args: []string{"sh", "-c", `trap 'exit 7' USR1; kill -USR1 $$; sleep 5`}}
	res, err := Run(context.Background(), cmd, &Config{Syscalls: mustSyscalls(t, "file")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode() != 7 {
		t.Fatalf("exit code %d, want 7 from the USR1 trap", res.ExitCode())
	}
}

func TestGroupStopStaysStopped(t *testing.T) {
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := &Cmd{Path: "sh", Args: []string{"sh", "-c", `kill -STOP $$; echo resumed`}, Stdout: out}
	pids := make(chan int, 1)
	// Every traced syscall is a tracing stop too: wait for the stop that
	// follows kill, or a slow tracer's syscall stop passes for the group-stop.
	killed := make(chan struct{})
	var once sync.Once
	cfg := &Config{
		Syscalls: mustSyscalls(t, "file,kill"),
		Enter:    func(s *Stop) Action { return Action{TraceExit: s.Name() == "kill"} },
		Exit:     func(*Stop) { once.Do(func() { close(killed) }) },
	}
	done := make(chan error, 1)
	var res Result
	go func() {
		var err error
		res, err = Run(context.Background(), cmd, cfg, func(pid int) { pids <- pid })
		done <- err
	}()
	pid := <-pids
	select {
	case <-killed:
	case err := <-done:
		t.Fatalf("command ended (%v) without its kill being seen", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for procState(pid) != 't' && procState(pid) != 'T' {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d never stopped (state %c)", pid, procState(pid))
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if s := procState(pid); s != 't' && s != 'T' {
		t.Fatalf("stopped tracee is running again (state %c): the group-stop was not kept", s)
	}
	if b, _ := os.ReadFile(out.Name()); len(b) != 0 {
		t.Fatalf("output %q before SIGCONT", b)
	}
	unix.Kill(pid, unix.SIGCONT)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out.Name()); string(b) != "resumed\n" || res.ExitCode() != 0 {
		t.Fatalf("output %q exit %d, want resumed and 0", b, res.ExitCode())
	}
}

func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return '?'
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return '?'
	}
	return b[i+2]
}

func TestCancelKillsTheTree(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"while it runs", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}},
		// An interrupt that lands as a run starts, before the command is
		// traced, must still kill it, not wait for it to end.
		{"before it starts", func() (context.Context, context.CancelFunc) { return cancelled, cancel }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := c.ctx()
			defer cancel()
			start := time.Now()
			cmd := &Cmd{Path: "sh", Args: []string{"sh", "-c", "sleep 30 & sleep 30; wait"}, Setpgid: true}
			res, err := Run(ctx, cmd, &Config{Syscalls: mustSyscalls(t, "file")}, nil)
			if err == nil || !errors.Is(err, ctx.Err()) {
				t.Errorf("err %v, want the context's", err)
			}
			if !res.Status.Signaled() || res.Status.Signal() != unix.SIGKILL {
				t.Errorf("status %v, want killed by SIGKILL", res.Status)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v to cancel", time.Since(start))
			}
		})
	}
}

// With a StopSignal, cancelling sends it to every traced process, the
// background ones of a shell included (which a Ctrl-C leaves running), and
// kills what ignores it once the grace period is over.
func TestCancelSignalsTheTree(t *testing.T) {
	for _, c := range []struct {
		name  string
		trap  string
		grace time.Duration
		want  unix.Signal
	}{
		{"obeyed", "", time.Minute, unix.SIGTERM},
		{"ignored", "trap '' TERM;", 300 * time.Millisecond, unix.SIGKILL},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			script := c.trap + `cd "$1"; sleep 31 & echo $! > p1; sleep 32 & echo $! > p2.tmp; mv p2.tmp p2; wait`
			cmd := &Cmd{Path: "sh", Args: []string{"sh", "-c", script, "sh", dir},
				StopSignal: unix.SIGTERM, StopGrace: c.grace}
			type ran struct {
				res Result
				err error
			}
			done := make(chan ran, 1)
			go func() {
				res, err := Run(ctx, cmd, &Config{Syscalls: mustSyscalls(t, "file")}, nil)
				done <- ran{res, err}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for _, err := os.Stat(filepath.Join(dir, "p2")); err != nil; _, err = os.Stat(filepath.Join(dir, "p2")) {
				if time.Now().After(deadline) {
					t.Fatal("the shell did not start both sleeps within 10s")
				}
				time.Sleep(5 * time.Millisecond)
			}
			start := time.Now()
			cancel()
			r := <-done
			if !errors.Is(r.err, context.Canceled) {
				t.Errorf("err %v, want the context's", r.err)
			}
			if !r.res.Status.Signaled() || r.res.Status.Signal() != c.want {
				t.Errorf("status %v, want killed by %v", r.res.Status, c.want)
			}
			if took := time.Since(start); took > c.grace+5*time.Second {
				t.Errorf("took %v to stop", took)
			}
			for _, f := range []string{"p1", "p2"} {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				var pid int
				fmt.Sscan(string(b), &pid)
				// Gone, or a zombie its new parent has yet to reap.
				if s := procState(pid); s != '?' && s != 'Z' {
					t.Errorf("background sleep %d still there after Run returned (state %c)", pid, s)
				}
			}
		})
	}
}

func TestDoesNotReapOtherChildren(t *testing.T) {
	// Leave live children on several threads of the pool, so that Run's
	// goroutine likely starts on a thread that has one.
	var sleepers []*exec.Cmd
	for range 8 {
		c := exec.Command("sleep", "0.5")
		started := make(chan error)
		go func() {
			runtime.LockOSThread() // fork from this thread, then give it back
			started <- c.Start()
			runtime.UnlockOSThread()
		}()
		if err := <-started; err != nil {
			t.Fatal(err)
		}
		sleepers = append(sleepers, c)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), &Cmd{Path: "sleep", Args: []string{"sleep", "0.3"}}, &Config{Syscalls: mustSyscalls(t, "file")}, nil)
		done <- err
	}()
	for range 20 {
		if err := exec.Command("true").Run(); err != nil {
			t.Fatalf("an os/exec child started beside Run: %v", err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := Run(context.Background(), &Cmd{Path: "true"}, &Config{Syscalls: mustSyscalls(t, "file")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range sleepers {
		if err := c.Wait(); err != nil {
			t.Fatalf("a child started before Run: %v (reaped by the tracer?)", err)
		}
	}
}

func TestNotFound(t *testing.T) {
	_, err := Run(context.Background(), &Cmd{Path: "no-such-program-heisen"}, &Config{Syscalls: mustSyscalls(t, "file")}, nil)
	if !errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("err %v, want exec.ErrNotFound", err)
	}
}

func TestReadStringAtPageEnd(t *testing.T) {
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Mprotect(mem[page:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	s := "/tmp/at-the-end-of-a-page"
	off := page - len(s) - 1
	copy(mem[off:], s+"\x00")
	st := &Stop{Tid: os.Getpid()}
	addr := uint64(uintptr(unsafePointer(&mem[off])))
	if got, err := st.ReadString(addr, 4096); err != nil || got != s {
		t.Fatalf("ReadString = %q, %v; want %q", got, err, s)
	}
	// Without the NUL the read runs into the unreadable page and says so.
	mem[page-1] = 'x'
	if got, err := st.ReadString(addr, 4096); err == nil {
		t.Fatalf("ReadString over an unmapped page = %q, nil; want an error", got)
	}
	if got, err := st.ReadString(addr, 5); err == nil || got != s[:5] {
		t.Fatalf("ReadString(max 5) = %q, %v; want %q and a too-long error", got, err, s[:5])
	}
}

func TestSyscalls(t *testing.T) {
	nrs := mustSyscalls(t, "file,openat")
	if len(nrs) < 10 {
		t.Errorf("file group has %d calls", len(nrs))
	}
	for i := 1; i < len(nrs); i++ {
		if nrs[i] <= nrs[i-1] {
			t.Fatalf("not sorted and unique: %v", nrs)
		}
	}
	if _, err := Syscalls("openat,nosuchcall"); err == nil {
		t.Error("unknown name accepted")
	}
	if _, err := Syscalls(" , "); err == nil {
		t.Error("empty list accepted")
	}
	if SyscallName(unix.SYS_OPENAT) != "openat" || SyscallName(99999) != "syscall_99999" {
		t.Error("SyscallName")
	}
}

func FuzzSyscalls(f *testing.F) {
	f.Add("file,openat")
	f.Add(" rename , ,link")
	f.Fuzz(func(t *testing.T, list string) {
		nrs, err := Syscalls(list)
		if err != nil {
			return
		}
		if len(nrs) == 0 || len(nrs) > len(sysNumbers) {
			t.Fatalf("%q: %d numbers", list, len(nrs))
		}
		for _, nr := range nrs {
			if strings.HasPrefix(SyscallName(nr), "syscall_") {
				t.Fatalf("%q: number %d has no name", list, nr)
			}
		}
	})
}

// Config.Fork reports every process a traced one creates, threads not,
// before the child's first syscall; Config.Exited reports each process
// once, after its last thread.
func TestForkAndExit(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Three children; the last is the four-thread writer.
	script := `cat /dev/null; (cat /dev/null) & wait; exec env ` + reexec.Env + `=threads "$2" "$1"`
	cmd := &Cmd{Path: "sh", Args: []string{"sh", "-c", script, "sh", dir, self}}
	var mu sync.Mutex
	forks := map[int]Fork{}
	exits := map[int]int{}
	var unannounced []int
	root := 0
	cfg := &Config{
		Syscalls: mustSyscalls(t, "file"),
		Enter: func(s *Stop) Action {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := forks[s.Pid]; !ok && s.Pid != root {
				unannounced = append(unannounced, s.Pid)
			}
			return Action{}
		},
		Fork: func(f Fork) {
			mu.Lock()
			defer mu.Unlock()
			forks[f.Child] = f
		},
		Exited: func(pid int) {
			mu.Lock()
			defer mu.Unlock()
			exits[pid]++
		},
	}
	res, err := Run(context.Background(), cmd, cfg, func(pid int) { root = pid })
	if err != nil || res.ExitCode() != 0 {
		t.Fatalf("Run: %v, exit %d", err, res.ExitCode())
	}
	if len(unannounced) > 0 {
		t.Errorf("syscalls of processes before their fork was reported: %v", unannounced)
	}
	if len(forks) < 2 {
		t.Errorf("%d forks reported, want the shell's two children at least: %v", len(forks), forks)
	}
	for child, f := range forks {
		if f.Pid != root && forks[f.Pid].Child != f.Pid {
			t.Errorf("fork of %d by %d, which is neither the command nor a reported child", child, f.Pid)
		}
		if f.Shared {
			t.Errorf("fork of %d reported as sharing its parent's descriptor table", child)
		}
		if exits[child] != 1 {
			t.Errorf("process %d exited %d times, want 1", child, exits[child])
		}
	}
	if exits[root] != 1 {
		t.Errorf("the command exited %d times, want 1", exits[root])
	}
	if len(exits) != len(forks)+1 {
		t.Errorf("%d exits for %d processes: threads counted as processes? %v", len(exits), len(forks)+1, exits)
	}
	for i := range 4 {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("t%d", i))); err != nil {
			t.Errorf("the threads' helper did not run: %v", err)
		}
	}
}

// Config.Only stops a call only when its argument tests hold, in the
// kernel: bash's fcntl(F_GETFD) and its private mmaps stop without it and
// not with it, its fcntl(F_DUPFD) stops with both.
func TestOnlyTestsArguments(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		testcap.Missing(t, "bash", err)
	}
	only := map[int][]ArgTest{
		unix.SYS_FCNTL: {{Arg: 1, Values: []uint32{unix.F_DUPFD, unix.F_DUPFD_CLOEXEC, unix.F_SETFD}}},
		unix.SYS_MMAP:  {{Arg: 2, Bits: unix.PROT_WRITE}, {Arg: 3, Bits: unix.MAP_SHARED}},
	}
	stops := func(only map[int][]ArgTest) (fcntls map[uint64]int, mmaps int) {
		fcntls = map[uint64]int{}
		cmd := &Cmd{Path: bash, Args: []string{"bash", "-c", "exec 3>/dev/null; echo x >&3 4>&3; cat /dev/null"}}
		cfg := &Config{Syscalls: []int{unix.SYS_FCNTL, unix.SYS_MMAP}, Only: only, Enter: func(s *Stop) Action {
			if s.Nr == unix.SYS_FCNTL {
				fcntls[s.Args[1]]++
			} else {
				mmaps++
			}
			return Action{}
		}}
		if res, err := Run(context.Background(), cmd, cfg, nil); err != nil || res.ExitCode() != 0 {
			t.Fatalf("Run: %v, exit %d", err, res.ExitCode())
		}
		return fcntls, mmaps
	}
	all, allMmaps := stops(nil)
	some, someMmaps := stops(only)
	if all[unix.F_GETFD] == 0 || allMmaps == 0 {
		t.Fatalf("without Only: fcntl commands %v, %d mmaps; the test needs F_GETFD and mmaps", all, allMmaps)
	}
	for cmd, n := range some {
		if cmd != unix.F_DUPFD && cmd != unix.F_DUPFD_CLOEXEC && cmd != unix.F_SETFD {
			t.Errorf("fcntl command %d stopped %d times; Only allows F_DUPFD, F_DUPFD_CLOEXEC and F_SETFD", cmd, n)
		}
	}
	if some[unix.F_DUPFD]+some[unix.F_DUPFD_CLOEXEC] == 0 {
		t.Errorf("bash's fcntl dups did not stop with Only: %v (without: %v)", some, all)
	}
	if someMmaps != 0 {
		t.Errorf("%d mmaps stopped; bash maps nothing shared and writable", someMmaps)
	}
}

// The filter's jumps are resolved or refused, never wrapped.
func TestFilterTooLong(t *testing.T) {
	spec := &filterSpec{Only: map[int][]ArgTest{}}
	for nr := range 250 {
		spec.Syscalls = append(spec.Syscalls, nr)
		spec.Only[nr] = []ArgTest{{Arg: 1, Values: []uint32{1, 2, 3}}}
	}
	if _, err := filter(spec); err == nil || !strings.Contains(err.Error(), "cannot jump") {
		t.Errorf("filter of 250 tested calls: %v, want a jump too long", err)
	}
	spec.Only = map[int][]ArgTest{0: {{Arg: 6, Bits: 1}}}
	if _, err := filter(spec); err == nil {
		t.Error("a test of argument 6 was accepted")
	}
}
