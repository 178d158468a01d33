//go:build linux && (amd64 || arm64)

package record

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/internal/reexec"
	"github.com/heisen-dev/heisen/internal/testcap"
	"github.com/heisen-dev/heisen/trail"
)

// TestMain lets the test binary be the recorded command instead of the
// test runner (a real Go program under the probes), in the role the test
// names (reexec); each role takes its directory as os.Args[1].
func TestMain(m *testing.M) {
	do := func(f func()) func() error { return func() error { f(); return nil } }
	reexec.Main(m, map[string]func() error{
		"replace": do(func() { goChild(os.Args[1]) }),
		"dirs":    do(func() { dirsChild(os.Args[1]) }),
		"seqmv":   do(func() { seqMvChild(os.Args[1]) }),
		"grandchild": func() error {
			return os.WriteFile(filepath.Join(os.Args[1], "child.txt"), []byte("from the grandchild"), 0o644)
		},
		"io": do(func() { ioChild(os.Args[1], os.Args[2:]) }),
		"unavailable": do(func() {
			_, err := New(Config{})
			fmt.Println(err)
		}),
		"writecalls":  do(func() { writeCallsChild(os.Args[1]) }),
		"iouring":     do(iouringChild),
		"morecalls":   do(func() { moreCallsChild(os.Args[1]) }),
		"heldwriter":  do(func() { heldWriter(os.Args[1], os.Args[2], os.Args[3]) }),
		"heldrenamer": do(func() { heldRenamer(os.Args[1], os.Args[2], os.Args[3]) }),
	})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(3)
}

// check ends a recorded child on any error.
func check(err error) {
	if err != nil {
		fail(err)
	}
}

// goChild exercises dirfd-relative, cwd-relative and absolute paths, then
// starts a child of its own. dir/work is its working directory.
func goChild(dir string) {
	check(os.Chdir(filepath.Join(dir, "work")))
	dirfd, err := unix.Open(filepath.Join(dir, "sub"), unix.O_DIRECTORY|unix.O_RDONLY, 0)
	check(err)
	fd, err := unix.Openat(dirfd, "new.tmp", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
	check(err)
	_, err = unix.Write(fd, []byte("hello"))
	check(err)
	check(unix.Fsync(fd))
	check(unix.Close(fd))
	if _, err := unix.Openat(dirfd, "missing/x", unix.O_RDONLY, 0); !errors.Is(err, unix.ENOENT) {
		fail(fmt.Errorf("openat missing/x: %v, want ENOENT", err))
	}
	check(unix.Renameat(dirfd, "new.tmp", dirfd, "final"))
	// A file renamed while open: writes after the rename carry the new name.
	live, err := unix.Openat(dirfd, "live.tmp", unix.O_WRONLY|unix.O_CREAT, 0o644)
	check(err)
	_, err = unix.Write(live, []byte("a"))
	check(err)
	check(unix.Renameat(dirfd, "live.tmp", dirfd, "live"))
	_, err = unix.Write(live, []byte("b"))
	check(err)
	check(unix.Close(live))
	check(os.WriteFile("gone", nil, 0o644))
	check(os.Remove("gone"))
	cmd := exec.Command(os.Args[0], dir)
	cmd.Env = reexec.Environ("grandchild")
	cmd.Stderr = os.Stderr
	check(cmd.Run())
}

// dirsChild creates files in directories that it renames between the
// opens: an ancestor, the directory itself, and the parent of a mount
// point (a tmpfs at dir/p/m). Each path the recorder reports must be the
// one that was true at the call, however it caches directories.
func dirsChild(dir string) {
	create := func(path string) int {
		fd, err := unix.Open(filepath.Join(dir, path), unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
		check(err)
		return fd
	}
	write := func(fd int) {
		_, err := unix.Pwrite(fd, []byte("x"), 0)
		check(err)
	}
	mv := func(from, to string) { check(os.Rename(filepath.Join(dir, from), filepath.Join(dir, to))) }
	check(unix.Close(create("a/b/one")))
	held := create("a/b/held")
	mv("a", "c") // an ancestor
	check(unix.Close(create("c/b/two")))
	write(held)      // through an fd opened before the rename
	mv("c/b", "c/d") // the directory itself
	check(unix.Close(create("c/d/three")))
	write(held)
	check(unix.Close(held))
	check(unix.Close(create("p/m/x/four")))
	mv("p", "q") // above a mount point: the walk crosses the mount
	check(unix.Close(create("q/m/x/five")))
}

// seqMvChild writes a file in two chunks from one thread and, between
// them, waits (with stat and sleep, which are not recorded, so that its
// sequence of recorded calls goes on) until another process has renamed
// the file's directory s to t.
func seqMvChild(dir string) {
	runtime.LockOSThread()
	fd, err := unix.Open(filepath.Join(dir, "s/f"), unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
	check(err)
	_, err = unix.Write(fd, []byte("one"))
	check(err)
	// The write has returned, so its event holds the old name; kill is
	// not a call the recorder follows, so the sequence goes on.
	check(unix.Kill(os.Getppid(), unix.SIGUSR1))
	var st unix.Stat_t
	for deadline := time.Now().Add(10 * time.Second); unix.Stat(filepath.Join(dir, "t/f"), &st) != nil; {
		if time.Now().After(deadline) {
			fail(errors.New("s was not renamed to t"))
		}
		time.Sleep(time.Millisecond)
	}
	_, err = unix.Write(fd, []byte("two"))
	check(err)
	check(unix.Close(fd))
}

// realTemp is t.TempDir with symlinks resolved, as the kernel reports it.
func realTemp(t *testing.T) string {
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// recordRun records cmd with the eBPF backend and returns the events, the
// trail's reader stats, the recorder's stats and the exit code.
func recordRun(t *testing.T, cfg Config, cmd *exec.Cmd) ([]trail.Event, trail.Stats, Stats, int) {
	t.Helper()
	var buf bytes.Buffer
	w := trail.NewWriter(&buf)
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	code, st, err := RunCommand(context.Background(), cfg, cmd, w)
	skipWithoutEBPF(t, err)
	if err != nil {
		t.Fatalf("RunCommand: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	evs, rst := readTrail(t, &buf)
	return evs, rst, st, code
}

func readTrail(t *testing.T, r io.Reader) ([]trail.Event, trail.Stats) {
	t.Helper()
	rd := trail.NewReader(r, "trail")
	rd.Malformed = func(e *trail.LineError) { t.Errorf("malformed trail line: %v", e) }
	var evs []trail.Event
	for {
		var e trail.Event
		err := rd.Read(&e)
		if err == io.EOF {
			return evs, rd.Stats()
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
}

// find returns the first event with op and path, failing the test if none.
func find(t *testing.T, evs []trail.Event, op trail.Op, path string) *trail.Event {
	t.Helper()
	for i := range evs {
		if evs[i].Op == op && evs[i].Path == path {
			return &evs[i]
		}
	}
	t.Errorf("no %s event for %s in:\n%s", op, path, dump(evs))
	return &trail.Event{}
}

func dump(evs []trail.Event) string {
	var b []byte
	for i := range evs {
		b = trail.AppendJSON(b, &evs[i])
	}
	return string(b)
}

func stat(t *testing.T, path string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func TestGoProgramPathsAndDescendants(t *testing.T) {
	for _, backend := range []string{"ebpf", "ptrace"} {
		t.Run(backend, func(t *testing.T) {
			dir := realTemp(t)
			for _, d := range []string{"work", "sub"} {
				if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(os.Args[0], dir)
			cmd.Env = reexec.Environ("replace")
			var evs []trail.Event
			var code int
			if backend == "ebpf" {
				evs, _, _, code = recordRun(t, Config{Paths: []string{dir}}, cmd)
			} else {
				var buf bytes.Buffer
				w := trail.NewWriter(&buf)
				cmd.Stderr = os.Stderr
				var err error
				if code, _, err = RunPtrace(context.Background(), Config{Paths: []string{dir}}, cmd, w); err != nil {
					t.Fatal(err)
				}
				evs, _ = readTrail(t, &buf)
			}
			if code != 0 {
				t.Fatalf("child exit code %d", code)
			}
			root := 0
			if cmd.Process != nil {
				root = cmd.Process.Pid
			}
			checkGoProgram(t, dir, evs, root, backend)
		})
	}
}

// checkGoProgram checks what goChild did; root is the command's pid, or 0
// when the backend does not say (then its first open's pid is taken).
func checkGoProgram(t *testing.T, dir string, evs []trail.Event, root int, src string) {
	t.Helper()
	tmp, final := filepath.Join(dir, "sub/new.tmp"), filepath.Join(dir, "sub/final")
	st := stat(t, final)

	open := find(t, evs, trail.OpOpen, tmp)
	if root == 0 {
		root = open.PID
	}
	if open.Flags != trail.O_WRONLY|trail.O_CREAT|trail.O_EXCL || open.FD < 0 || open.Ret != int64(open.FD) {
		t.Errorf("open: flags %v fd %d ret %d", open.Flags, open.FD, open.Ret)
	}
	for _, e := range []*trail.Event{open, find(t, evs, trail.OpWrite, tmp), find(t, evs, trail.OpFsync, tmp), find(t, evs, trail.OpClose, tmp)} {
		if e.Ino != st.Ino || e.Dev != st.Dev {
			t.Errorf("%s %s: dev/ino %d/%d, want %d/%d (stat of %s)", e.Op, e.Path, e.Dev, e.Ino, st.Dev, st.Ino, final)
		}
		if e.PID != root || e.FD != open.FD {
			t.Errorf("%s: pid %d fd %d, want %d %d", e.Op, e.PID, e.FD, root, open.FD)
		}
	}
	if w := find(t, evs, trail.OpWrite, tmp); w.Off != 0 || w.Len != 5 || w.Ret != 5 {
		t.Errorf("write: off %d len %d ret %d, want 0 5 5", w.Off, w.Len, w.Ret)
	}
	// A failed open of a dirfd-relative path: resolved against dirfd
	// (dir/sub), not the working directory (dir/work).
	if e := find(t, evs, trail.OpOpen, filepath.Join(dir, "sub/missing/x")); e.Err != "ENOENT" || e.Ret != -1 {
		t.Errorf("failed open: err %q ret %d", e.Err, e.Ret)
	}
	if e := find(t, evs, trail.OpRename, tmp); e.To != final || e.Ret != 0 {
		t.Errorf("renameat: to %q ret %d, want %q 0", e.To, e.Ret, final)
	}
	find(t, evs, trail.OpUnlink, filepath.Join(dir, "work/gone"))
	if w := find(t, evs, trail.OpWrite, filepath.Join(dir, "sub/live.tmp")); w.Len != 1 || w.Off != 0 {
		t.Errorf("write before rename: off %d len %d", w.Off, w.Len)
	}
	if w := find(t, evs, trail.OpWrite, filepath.Join(dir, "sub/live")); w.Len != 1 || w.Off != 1 {
		t.Errorf("write after rename: off %d len %d, want 1 1", w.Off, w.Len)
	}
	find(t, evs, trail.OpClose, filepath.Join(dir, "sub/live"))
	child := find(t, evs, trail.OpOpen, filepath.Join(dir, "child.txt"))
	if child.PID == root || child.PID == 0 {
		t.Errorf("grandchild's open has pid %d, the command's is %d", child.PID, root)
	}
	if child.Comm == "" || child.TS.IsZero() || time.Since(child.TS) > time.Minute {
		t.Errorf("grandchild's open: comm %q ts %v", child.Comm, child.TS)
	}
	for _, e := range evs {
		if !fileless(&e) && !underAny(e.Path, []string{dir}) && !underAny(e.To, []string{dir}) {
			t.Errorf("event outside --path %s: %s", dir, dump([]trail.Event{e}))
		}
		if e.Src != src {
			t.Errorf("src %q", e.Src)
		}
	}
}

const pyReplace = `
import os
tmp = "cfg.tmp"
with open(tmp, "w") as f:
    f.write("v1")
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, "cfg")
`

// A directory renamed after the recorder has seen a file in it (an
// ancestor, the directory itself, the parent of a mount point) must not
// leave stale paths in later events.
func TestRenamedDirectories(t *testing.T) {
	dir := realTemp(t)
	for _, d := range []string{"a/b", "p/m"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mnt := filepath.Join(dir, "p/m")
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, ""); err != nil {
		testcap.Missing(t, "root to mount a tmpfs (CAP_SYS_ADMIN)", err)
	}
	t.Cleanup(func() {
		// The child moves the mount point's parent; unmount wherever it is.
		for _, m := range []string{"p/m", "q/m"} {
			unix.Unmount(filepath.Join(dir, m), unix.MNT_DETACH)
		}
	})
	if err := os.Mkdir(filepath.Join(mnt, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], dir)
	cmd.Env = reexec.Environ("dirs")
	evs, _, _, code := recordRun(t, Config{Paths: []string{dir}}, cmd)
	if code != 0 {
		t.Fatalf("child exit code %d", code)
	}
	for _, p := range []string{"a/b/one", "a/b/held", "c/b/two", "c/d/three", "p/m/x/four", "q/m/x/five"} {
		find(t, evs, trail.OpOpen, filepath.Join(dir, p))
	}
	find(t, evs, trail.OpWrite, filepath.Join(dir, "c/b/held"))
	find(t, evs, trail.OpWrite, filepath.Join(dir, "c/d/held"))
	find(t, evs, trail.OpClose, filepath.Join(dir, "c/d/held"))
	for _, e := range evs {
		for _, stale := range []string{"a/b/two", "c/b/three", "p/m/x/five"} {
			if e.Path == filepath.Join(dir, stale) {
				t.Errorf("stale path %s in %s", stale, dump([]trail.Event{e}))
			}
		}
	}
}

// A writer's later chunks are sent as short continuations of its first
// event; when another process renames the directory between chunks, they
// must carry the new path.
func TestDirectoryRenamedDuringSequence(t *testing.T) {
	dir := realTemp(t)
	if err := os.Mkdir(filepath.Join(dir, "s"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The renamer is this process, which the recorder never records: the
	// child's sequence is not ended by a call of its own. The child signals
	// once its first write has returned: the file's size alone would say
	// so while the write's exit probe has yet to read the name.
	written := make(chan os.Signal, 1)
	signal.Notify(written, unix.SIGUSR1)
	defer signal.Stop(written)
	go func() {
		select {
		case <-written:
			if err := os.Rename(filepath.Join(dir, "s"), filepath.Join(dir, "t")); err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
		}
	}()
	cmd := exec.Command(os.Args[0], dir)
	cmd.Env = reexec.Environ("seqmv")
	evs, _, _, code := recordRun(t, Config{Paths: []string{dir}}, cmd)
	if code != 0 {
		t.Fatalf("child exit code %d", code)
	}
	if w := find(t, evs, trail.OpWrite, filepath.Join(dir, "s/f")); w.Off != 0 || w.Len != 3 {
		t.Errorf("first chunk: off %d len %d, want 0 3", w.Off, w.Len)
	}
	if w := find(t, evs, trail.OpWrite, filepath.Join(dir, "t/f")); w.Off != 3 || w.Len != 3 {
		t.Errorf("chunk after the rename: off %d len %d, want 3 3", w.Off, w.Len)
	}
	find(t, evs, trail.OpClose, filepath.Join(dir, "t/f"))
}

func TestPythonReplace(t *testing.T) {
	py := requirePython(t)
	dir := realTemp(t)
	cmd := exec.Command(py, "-I", "-c", pyReplace)
	cmd.Dir = dir
	evs, _, _, code := recordRun(t, Config{Paths: []string{dir}}, cmd)
	if code != 0 {
		t.Fatalf("python exit code %d", code)
	}
	tmp, final := filepath.Join(dir, "cfg.tmp"), filepath.Join(dir, "cfg")
	st := stat(t, final)
	open := find(t, evs, trail.OpOpen, tmp)
	if open.Flags&(trail.O_WRONLY|trail.O_CREAT|trail.O_TRUNC) != trail.O_WRONLY|trail.O_CREAT|trail.O_TRUNC {
		t.Errorf("open flags %v", open.Flags)
	}
	for _, e := range []*trail.Event{open, find(t, evs, trail.OpWrite, tmp), find(t, evs, trail.OpFsync, tmp), find(t, evs, trail.OpClose, tmp)} {
		if e.Ino != st.Ino || e.Dev != st.Dev {
			t.Errorf("%s: dev/ino %d/%d, want %d/%d", e.Op, e.Dev, e.Ino, st.Dev, st.Ino)
		}
	}
	if e := find(t, evs, trail.OpRename, tmp); e.To != final {
		t.Errorf("rename to %q, want %q", e.To, final)
	}
	if e := find(t, evs, trail.OpWrite, tmp); e.Len != 2 || e.Comm == "" {
		t.Errorf("write len %d comm %q", e.Len, e.Comm)
	}
}

func requirePython(t *testing.T) string {
	py, err := exec.LookPath("python3")
	if err != nil {
		testcap.Missing(t, "python3", err)
	}
	return py
}

// shellMv is the third kind of program: a shell whose children (mv, rm)
// must be followed, with relative paths resolved against their cwd.
const shellMv = `cd "$1" && echo v1 > a && echo v2 >> a && (mv a b) && sh -c 'rm -f old'`

func checkShellMv(t *testing.T, dir string, evs []trail.Event, shellPid int) {
	t.Helper()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	st := stat(t, b)
	if e := find(t, evs, trail.OpOpen, a); e.Ino != st.Ino || e.Dev != st.Dev {
		t.Errorf("open a: dev/ino %d/%d, want %d/%d", e.Dev, e.Ino, st.Dev, st.Ino)
	}
	var offs []int64
	for _, e := range evs {
		if e.Op == trail.OpWrite && e.Path == a {
			offs = append(offs, e.Off)
		}
	}
	if len(offs) != 2 || offs[0] != 0 || offs[1] != 3 {
		t.Errorf("write offsets %v, want [0 3] (the second write appends)", offs)
	}
	mv := find(t, evs, trail.OpRename, a)
	if mv.To != b || mv.Comm != "mv" || mv.PID == shellPid {
		t.Errorf("mv: to %q comm %q pid %d (shell %d)", mv.To, mv.Comm, mv.PID, shellPid)
	}
	if e := find(t, evs, trail.OpUnlink, filepath.Join(dir, "old")); e.Err != "ENOENT" {
		t.Errorf("rm -f old: err %q, want ENOENT", e.Err)
	}
}

func TestShellMv(t *testing.T) {
	dir := realTemp(t)
	cmd := exec.Command("sh", "-c", shellMv, "sh", dir)
	evs, _, _, code := recordRun(t, Config{Paths: []string{dir}}, cmd)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	checkShellMv(t, dir, evs, cmd.Process.Pid)
}

// A --path prefix may name a file, not a directory: the kernel's shortcut
// for files in a directory under a prefix must not apply to the directory
// that holds the prefix's file, nor let its neighbours through.
func TestPathPrefixNamesAFile(t *testing.T) {
	dir := realTemp(t)
	keep := filepath.Join(dir, "keep")
	cmd := exec.Command("sh", "-c", `echo x > "$1/keep"; echo y > "$1/drop"; echo z > "$1/keep2"`, "sh", dir)
	evs, _, _, code := recordRun(t, Config{Paths: []string{keep}}, cmd)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	find(t, evs, trail.OpOpen, keep)
	find(t, evs, trail.OpWrite, keep)
	for _, e := range evs {
		if !fileless(&e) && e.Path != keep {
			t.Errorf("event outside --path %s: %s", keep, dump([]trail.Event{e}))
		}
	}
}

func TestPtraceShellMv(t *testing.T) {
	dir := realTemp(t)
	var buf bytes.Buffer
	w := trail.NewWriter(&buf)
	cmd := exec.Command("sh", "-c", shellMv, "sh", dir)
	cmd.Stderr = os.Stderr
	code, st, err := RunPtrace(context.Background(), Config{Paths: []string{dir}}, cmd, w)
	if err != nil {
		t.Fatalf("RunPtrace: %v", err)
	}
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	evs, _ := readTrail(t, &buf)
	if st.Events != uint64(len(evs)) {
		t.Errorf("Stats.Events %d, trail has %d", st.Events, len(evs))
	}
	checkShellMv(t, dir, evs, -1)
	for _, e := range evs {
		if e.Src != "ptrace" {
			t.Errorf("src %q", e.Src)
		}
	}
}

func TestExitCodePassedThrough(t *testing.T) {
	for script, want := range map[string]int{"exit 7": 7, "kill -TERM $$": 128 + int(syscall.SIGTERM)} {
		_, _, _, code := recordRun(t, Config{Paths: []string{"/nonexistent"}}, exec.Command("sh", "-c", script))
		if code != want {
			t.Errorf("%q: exit code %d, want %d", script, code, want)
		}
	}
}

// A ring buffer of one page cannot hold a burst of writes between two
// polls: every event the kernel could not deliver must be counted, so
// delivered plus lost is exactly what the program did.
func TestLostEventsCounted(t *testing.T) {
	py := realPython(t)
	dir := realTemp(t)
	const n = 20000
	script := fmt.Sprintf(`
import os
fd = os.open("f", os.O_WRONLY | os.O_CREAT)
for i in range(%d):
    os.write(fd, b"x")
os.close(fd)
`, n)
	cmd := exec.Command(py, "-I", "-c", script)
	cmd.Dir = dir
	evs, rst, st, code := recordRun(t, Config{Paths: []string{dir}, RingSize: os.Getpagesize()}, cmd)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if st.Lost == 0 {
		t.Fatalf("no events lost with a %d-byte ring buffer and %d writes", os.Getpagesize(), n)
	}
	var perCPU uint64
	for _, v := range st.LostPerCPU {
		perCPU += v
	}
	if perCPU != st.Lost {
		t.Errorf("lost per CPU %v sums to %d, total %d", st.LostPerCPU, perCPU, st.Lost)
	}
	if rst.Lost != st.Lost || rst.LossRecords == 0 {
		t.Errorf("trail loss records say %d lost in %d records, recorder %d", rst.Lost, rst.LossRecords, st.Lost)
	}
	// Each 1-byte write counts once, coalesced or not. The processes'
	// fork, exec and exit events count too, and the command's exit, made
	// when the ring may be full, can be among the lost.
	var calls, procs uint64
	exited := false
	for _, e := range evs {
		switch e.Op {
		case trail.OpWrite:
			calls += uint64(e.Len)
		case trail.OpFork, trail.OpExec, trail.OpExit:
			calls++
			procs++
			exited = exited || e.Op == trail.OpExit && e.PID == cmd.Process.Pid
		default:
			calls++
		}
	}
	if !exited {
		procs++
	}
	if calls != st.Calls {
		t.Errorf("the trail holds %d calls, the recorder says %d", calls, st.Calls)
	}
	if got := calls + st.Lost; got != n+2+procs {
		t.Errorf("delivered %d + lost %d = %d, want %d (open, %d writes, close, %d of processes)", calls, st.Lost, got, n+2+procs, n, procs)
	}
	t.Logf("delivered %d calls in %d events, lost %d %v", calls, len(evs), st.Lost, st.LostPerCPU)
}

// The story's worker, in Python: a temp name from the clock in seconds.
// Workers start together at a given time and replace for half a second, so
// their windows overlap however loaded the machine is.
const pyWorker = `
import os, sys, time, uuid
target, me, fixed, start = sys.argv[1], sys.argv[2], sys.argv[3] == "fixed", float(sys.argv[4])
time.sleep(max(0, start - time.time()))
end = time.time() + 0.5  # late starters (a loaded machine) still replace
while time.time() < end:
    if fixed:
        tmp = f"{target}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    else:
        tmp = f"{target}.{int(time.time())}.tmp"
    with open(tmp, "w") as f:
        for j in range(20):
            f.write(me * 512)
            f.flush()
    try:
        os.replace(tmp, target)
    except FileNotFoundError:
        pass  # another worker renamed our shared temp first
`

// The fixed pattern never collides, whatever the timing: one run shows it.
// The buggy one collides only when two workers overlap on one temp name,
// which a loaded machine can keep from happening in a run, so it gets up
// to storyTries runs to show both findings.
func TestStoryPatternAnalyzed(t *testing.T) {
	py := requirePython(t)
	t.Run("buggy", func(t *testing.T) {
		for try := 1; ; try++ {
			kinds := storyFindings(t, py, "buggy")
			if kinds[analyze.TempCollision] > 0 && kinds[analyze.TornRename] > 0 {
				return
			}
			if try == storyTries {
				t.Fatalf("buggy pattern: findings %v in run %d of %d, want temp-collision and torn-rename", kinds, try, storyTries)
			}
			t.Logf("run %d: findings %v; the workers did not overlap enough, running again", try, kinds)
		}
	})
	t.Run("fixed", func(t *testing.T) {
		if kinds := storyFindings(t, py, "fixed"); kinds[analyze.TempCollision] != 0 || kinds[analyze.TornRename] != 0 {
			t.Errorf("fixed pattern: findings %v, want no temp-collision or torn-rename", kinds)
		}
	})
}

const storyTries = 4

// storyFindings records four Python workers replacing one file the story's
// way (buggy) or with unique temps (fixed) for half a second, and counts
// the findings of analyze in the trail.
func storyFindings(t *testing.T, py, variant string) map[analyze.Kind]int {
	t.Helper()
	dir := realTemp(t)
	script := filepath.Join(t.TempDir(), "worker.py")
	if err := os.WriteFile(script, []byte(pyWorker), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "config")
	var sh strings.Builder
	start := float64(time.Now().Add(2*time.Second).UnixNano()) / 1e9
	for i := range 4 {
		fmt.Fprintf(&sh, "%s -I %s %s %c %s %f & ", py, script, target, 'a'+i, variant, start)
	}
	sh.WriteString("wait")
	evs, _, st, code := recordRun(t, Config{Paths: []string{dir}}, exec.Command("sh", "-c", sh.String()))
	if code != 0 || st.Lost != 0 {
		t.Fatalf("exit code %d, lost %d", code, st.Lost)
	}
	a := analyze.New(analyze.Options{})
	writers := map[int]bool{}
	for i := range evs {
		a.Add(&evs[i])
		if evs[i].Op == trail.OpRename {
			writers[evs[i].PID] = true
		}
	}
	if len(writers) != 4 {
		t.Fatalf("%d of 4 workers renamed anything: the test did not run the pattern", len(writers))
	}
	kinds := map[analyze.Kind]int{}
	for _, f := range a.Finish() {
		kinds[f.Kind]++
	}
	t.Logf("%s: %d events, findings %v", variant, len(evs), kinds)
	return kinds
}

// Without privileges New must name what is missing, not fail somewhere in
// the loader.
func TestUnavailableNamesWhatIsMissing(t *testing.T) {
	testcap.Root(t, "start a child as another user")
	bin := filepath.Join(t.TempDir(), "record.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(bin); d != "/"; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o005 != 0o005 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o005); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = reexec.Environ("unavailable")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "ebpf cannot be used: root privileges (CAP_BPF and CAP_PERFMON") {
		t.Errorf("as uid 65534 New said %q", out)
	}
}

// skipWithoutEBPF skips when err says this machine cannot run the eBPF
// backend at all; CI runs as root on a kernel with all of it.
func skipWithoutEBPF(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, ErrUnavailable) {
		testcap.Missing(t, "eBPF (root, kernel BTF, Linux 6.2 or later, no lockdown)", err)
	}
}

// startWaitingShell starts a shell that waits for a line on its stdin, then
// writes f in dir and renames it to g; it returns the command and its stdin.
func startWaitingShell(t *testing.T, dir string) (*exec.Cmd, io.Writer) {
	t.Helper()
	cmd := exec.Command("sh", "-c", `read _; cd "$1" && echo x > f && mv f g`, "sh", dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdin
}

// recordWhile records with cfg (which must select processes by PIDs or
// All) while run runs, and returns the events.
func recordWhile(t *testing.T, cfg Config, w *trail.Writer, run func()) Stats {
	t.Helper()
	r, err := New(cfg)
	skipWithoutEBPF(t, err)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, w) }()
	run()
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return r.Stats()
}

func TestPIDFollowsRunningProcess(t *testing.T) {
	dir := realTemp(t)
	cmd, stdin := startWaitingShell(t, dir)
	var buf bytes.Buffer
	recordWhile(t, Config{PIDs: []int{cmd.Process.Pid}, Paths: []string{dir}}, trail.NewWriter(&buf), func() {
		stdin.Write([]byte("go\n"))
		if err := cmd.Wait(); err != nil {
			t.Error(err)
		}
	})
	evs, _ := readTrail(t, &buf)
	if e := find(t, evs, trail.OpRename, filepath.Join(dir, "f")); e.To != filepath.Join(dir, "g") || e.Comm != "mv" {
		t.Errorf("rename to %q by %q", e.To, e.Comm)
	}
}

// With All, processes nobody started are recorded, and the recorder's own
// writes of the trail (here under the recorded directory) are not.
func TestAllExcludesItself(t *testing.T) {
	dir := realTemp(t)
	path := filepath.Join(dir, "trail.jsonl")
	tw, err := trail.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	recordWhile(t, Config{All: true, Paths: []string{dir}}, tw, func() {
		out, err := exec.Command("sh", "-c", `cd "$1" && echo x > f && mv f g`, "sh", dir).CombinedOutput()
		if err != nil {
			t.Errorf("%v: %s", err, out)
		}
		// The recorder's own write of the trail, in the recorded
		// directory, must happen while it records, or there would be
		// nothing for it to leave out.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(DefaultPoll) {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(`"op":"rename"`)) {
				break
			}
			if time.Now().After(deadline) {
				t.Error("the recorder wrote no rename to its trail in 10 s")
				break
			}
		}
	})
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "trail.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, _ := readTrail(t, f)
	find(t, evs, trail.OpRename, filepath.Join(dir, "f"))
	for _, e := range evs {
		if e.PID == os.Getpid() {
			t.Errorf("the recorder recorded itself: %s", dump([]trail.Event{e}))
		}
	}
}

// Attach is what heisen stress --observe record uses: processes already
// running, a trail file, a stop function.
func TestAttach(t *testing.T) {
	dir := realTemp(t)
	cmd, stdin := startWaitingShell(t, dir)
	path := filepath.Join(t.TempDir(), "trail.jsonl")
	stop, err := Attach(context.Background(), []int{cmd.Process.Pid}, path)
	skipWithoutEBPF(t, err)
	if err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte("go\n"))
	if err := cmd.Wait(); err != nil {
		t.Error(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, _ := readTrail(t, f)
	find(t, evs, trail.OpRename, filepath.Join(dir, "f"))
}

// Cancelling the context (heisen record's SIGINT/SIGTERM) stops COMMAND
// with SIGTERM, still delivers what was recorded, and returns its status.
func TestInterruptStopsCleanly(t *testing.T) {
	dir := realTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // interrupt once the command has written
		for {
			if _, err := os.Stat(filepath.Join(dir, "f")); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var buf bytes.Buffer
	w := trail.NewWriter(&buf)
	cmd := exec.Command("sh", "-c", `cd "$1" && echo x > f && exec sleep 60`, "sh", dir)
	start := time.Now()
	code, _, err := RunCommand(ctx, Config{Paths: []string{dir}}, cmd, w)
	skipWithoutEBPF(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > stopGrace {
		t.Errorf("stopping took %v", took)
	}
	if code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d (SIGTERM)", code, 128+int(syscall.SIGTERM))
	}
	evs, _ := readTrail(t, &buf)
	find(t, evs, trail.OpOpen, filepath.Join(dir, "f"))
}

func TestTrackRejectsMissingProcess(t *testing.T) {
	r, err := New(Config{})
	skipWithoutEBPF(t, err)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Track(1 << 22); err == nil || !strings.Contains(err.Error(), "track pid 4194304") {
		t.Errorf("Track of a pid that cannot exist: %v", err)
	}
	// A thread id stands for its process: this test's own threads.
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range tids {
		var tid int
		fmt.Sscan(d.Name(), &tid)
		if got, err := tgidOf(tid); err != nil || got != os.Getpid() {
			t.Errorf("tgidOf(%d) = %d, %v; want %d", tid, got, err, os.Getpid())
		}
	}
}

// TestLossRecordsSayOneThing checks each loss record of a trail with
// losses, as written: its own count split per CPU, no process of its own
// (pid and tid 0), and a time no later than the event after it.
func TestLossRecordsSayOneThing(t *testing.T) {
	py := realPython(t)
	dir := realTemp(t)
	cmd := exec.Command(py, "-I", "-c", `
import os
fd = os.open("f", os.O_WRONLY | os.O_CREAT)
for i in range(20000):
    os.write(fd, b"x")
os.close(fd)
`)
	cmd.Dir, cmd.Stderr = dir, os.Stderr
	var buf bytes.Buffer
	w := trail.NewWriter(&buf)
	_, st, err := RunCommand(context.Background(), Config{Paths: []string{dir}, RingSize: os.Getpagesize()}, cmd, w)
	skipWithoutEBPF(t, err)
	if err != nil {
		t.Fatalf("RunCommand: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Lost == 0 {
		t.Fatalf("no events lost with a %d-byte ring buffer", os.Getpagesize())
	}
	type line struct {
		TS         time.Time `json:"ts"`
		PID, TID   int
		Lost       *uint64  `json:"lost"`
		LostPerCPU []uint64 `json:"lost_per_cpu"`
	}
	var lines []line
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", sc.Bytes(), err)
		}
		lines = append(lines, l)
	}
	var total uint64
	for i, l := range lines {
		if l.Lost == nil {
			continue
		}
		total += *l.Lost
		var sum uint64
		for _, n := range l.LostPerCPU {
			sum += n
		}
		if len(l.LostPerCPU) > 0 && sum != *l.Lost {
			t.Errorf("line %d: lost %d, lost_per_cpu %v sums to %d", i+1, *l.Lost, l.LostPerCPU, sum)
		}
		if l.PID != 0 || l.TID != 0 {
			t.Errorf("line %d: a loss record carries pid %d tid %d", i+1, l.PID, l.TID)
		}
		if i+1 < len(lines) && l.TS.After(lines[i+1].TS) {
			t.Errorf("line %d: a loss record at %v after the next event's %v", i+1, l.TS, lines[i+1].TS)
		}
	}
	if total != st.Lost {
		t.Errorf("loss records add up to %d, the recorder lost %d", total, st.Lost)
	}
}
