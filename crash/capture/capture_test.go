package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/crash"
	"github.com/heisen-dev/heisen/internal/reexec"
	"github.com/heisen-dev/heisen/internal/testcap"
)

// TestMain makes this test binary the mount helper when Run starts it
// (the tests set reexec.Env to "mount-helper" for the children Run
// starts), or a process that prints Check's verdict.
func TestMain(m *testing.M) {
	reexec.Main(m, map[string]func() error{
		"check": func() error {
			fmt.Println(Check())
			return nil
		},
		"mount-helper": func() error {
			var cfg Config
			if err := json.Unmarshal([]byte(os.Args[len(os.Args)-1]), &cfg); err != nil {
				os.Exit(2)
			}
			return Serve(cfg, os.Stdin, os.Stderr)
		},
	})
}

func needMount(t *testing.T) {
	t.Helper()
	if err := Check(); err != nil {
		testcap.Missing(t, "root and /dev/fuse to mount FUSE", err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		testcap.Missing(t, "python3", err)
	}
}

// capture runs script (Python) as the workload over a mount point seeded
// with one file, and returns the log.
func capture(t *testing.T, script string) (*crash.Log, string) {
	t.Helper()
	t.Setenv(reexec.Env, "mount-helper")
	dir := t.TempDir()
	mount, backing := filepath.Join(dir, "mnt"), filepath.Join(dir, "backing")
	for _, d := range []string{mount, backing} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(mount, "seed"), []byte("seed"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Command: []string{"python3", "-c", script}, Mount: mount, Backing: backing, Log: filepath.Join(dir, "crash.log"), Grace: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := Run(ctx, Exec{Path: os.Args[0], Args: []string{os.Args[0]}}, cfg, nil, os.Stderr); err != nil {
		t.Fatal(err)
	}
	l, err := crash.ReadLog(cfg.Log)
	if err != nil {
		t.Fatal(err)
	}
	return l, mount
}

const opsScript = `
import os, errno
d = os.environ["HEISEN_CRASH_DIR"]
mounted = any(" heisen-crash " in l or "heisen-crash" in l.split(" - ")[-1] for l in open("/proc/self/mountinfo"))
print("mounted", mounted, flush=True)
os.mkdir(d + "/sub")
fd = os.open(d + "/sub/a", os.O_CREAT | os.O_WRONLY, 0o640)
os.write(fd, b"hello")
os.fdatasync(fd)
os.fsync(fd)
os.close(fd)
print("one", flush=True)
os.rename(d + "/sub/a", d + "/b")
dfd = os.open(d, os.O_RDONLY)
os.fsync(dfd)
os.close(dfd)
os.link(d + "/b", d + "/c")
os.unlink(d + "/b")
os.symlink("c", d + "/l")
os.chmod(d + "/c", 0o600)
os.truncate(d + "/c", 2)
try:
    os.close(os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o600))
    print("tmpfile opened", flush=True)
except OSError as e:
    print("tmpfile", errno.errorcode[e.errno], flush=True)
open(d + "/c", "w").close()
os.rmdir(d + "/sub")
os.sync()
print("seed", open(d + "/seed").read(), end="")
`

func TestCaptureLogsEveryMutation(t *testing.T) {
	needMount(t)
	l, mount := capture(t, opsScript)
	var kinds []string
	for _, op := range l.Ops {
		kinds = append(kinds, string(op.Op))
	}
	want := []string{"mkdir", "create", "write", "fdatasync", "fsync", "rename", "fsync", "link", "unlink", "symlink", "chmod", "truncate", "truncate", "rmdir", "sync"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("logged %v\nwant     %v", kinds, want)
	}
	var lines []string
	for _, ln := range l.Lines {
		lines = append(lines, ln.Text)
	}
	// Python names errno 95 (EOPNOTSUPP, which is ENOTSUP on Linux) ENOTSUP.
	if want := []string{"mounted True", "one", "tmpfile ENOTSUP", "seed seed"}; !slices.Equal(lines, want) {
		t.Fatalf("stdout lines %q, want %q", lines, want)
	}
	if l.Lines[1].After != 5 || l.Lines[2].After != 12 {
		t.Errorf("line positions %d and %d, want 5 (after fsync) and 12 (after truncate)", l.Lines[1].After, l.Lines[2].After)
	}
	if w := l.Ops[2]; string(w.Data) != "hello" || w.Path != "sub/a" {
		t.Errorf("write logged as %+v", w)
	}
	if r := l.Ops[5]; r.Path != "sub/a" || r.Path2 != "b" || r.Dir == r.Dir2 || r.Dir2 != crash.Root {
		t.Errorf("rename logged as %+v", r)
	}
	if l.Ops[6].Node != crash.Root || l.Ops[10].Mode != 0o600 || l.Ops[11].Len != 2 {
		t.Errorf("fsync of the root, chmod or truncate logged wrong: %+v %+v %+v", l.Ops[6], l.Ops[10], l.Ops[11])
	}
	if l.End == nil || l.End.Status != 0 {
		t.Fatalf("end %+v, want status 0", l.End)
	}
	if len(l.Init) < 3 || l.Init[1].Name != "seed" || string(l.Init[2].Data) != "seed" {
		t.Errorf("initial contents logged as %+v", l.Init)
	}
	// The mount point itself was never written, and nothing is mounted here.
	ents, _ := os.ReadDir(mount)
	if len(ents) != 1 || ents[0].Name() != "seed" {
		t.Errorf("the mount point holds %v after the run; want only the seed file", ents)
	}
	assertNotMounted(t)
}

func assertNotMounted(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "heisen-crash") {
		t.Fatalf("a heisen-crash mount is visible outside the helper:\n%s", b)
	}
}

func TestStatesOfCapturedRun(t *testing.T) {
	needMount(t)
	// Write without fsync, rename over: the posix model must find a state
	// where the target exists but is empty.
	l, _ := capture(t, `
import os
d = os.environ["HEISEN_CRASH_DIR"]
open(d + "/t", "w").write("new")
os.replace(d + "/t", d + "/seed")
`)
	found := false
	l.States(crash.Options{Model: crash.Posix, PerPoint: 64}, func(s *crash.State) bool {
		if s.Dup {
			return true
		}
		dir := t.TempDir()
		if err := s.Materialize(dir); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "seed"))
		found = found || (err == nil && len(b) == 0)
		return !found
	})
	if !found {
		t.Fatal("no state with an empty seed after the rename")
	}
}

func TestWorkloadThatCannotStart(t *testing.T) {
	needMount(t)
	t.Setenv(reexec.Env, "mount-helper")
	dir := t.TempDir()
	for _, d := range []string{"m", "b"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Command: []string{filepath.Join(dir, "missing")}, Mount: filepath.Join(dir, "m"), Backing: filepath.Join(dir, "b"), Log: filepath.Join(dir, "log")}
	if err := Run(context.Background(), Exec{Path: os.Args[0], Args: []string{os.Args[0]}}, cfg, nil, os.Stderr); err != nil {
		t.Fatal(err)
	}
	l, err := crash.ReadLog(cfg.Log)
	if err != nil {
		t.Fatal(err)
	}
	// Like a shell, a command that cannot be executed exits 127.
	if l.End == nil || l.End.Status != 127 || len(l.Ops) != 0 {
		t.Fatalf("a workload that cannot start ended %+v after %d operations", l.End, len(l.Ops))
	}
	assertNotMounted(t)
}

// TestCheckNamesWhatIsMissing runs Check as an unprivileged user: it must
// say that root is needed, before anything is tried.
func TestCheckNamesWhatIsMissing(t *testing.T) {
	testcap.Root(t, "run a process as another user")
	dir, err := os.MkdirTemp("", "capture-check-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "capture.test")
	if err := copyExe(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = reexec.Environ("check")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "needs root (CAP_SYS_ADMIN)") || !strings.Contains(string(out), "fusermount") {
		t.Fatalf("Check as uid 65534 said %q; want it to name root", out)
	}
}

func copyExe(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

const flagsScript = `
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
d = os.environ["HEISEN_CRASH_DIR"]
def call(name, *args):
    r = getattr(libc, name)(*args)
    return "ok" if r == 0 else errno.errorcode[ctypes.get_errno()]
AT_FDCWD = -100
for n in ("a", "b"):
    with open(d + "/" + n, "w") as f:
        f.write(n)
print("exchange", call("renameat2", AT_FDCWD, (d + "/a").encode(), AT_FDCWD, (d + "/b").encode(), 2), flush=True)
print("noreplace", call("renameat2", AT_FDCWD, (d + "/a").encode(), AT_FDCWD, (d + "/b").encode(), 1), flush=True)
print("whiteout", call("renameat2", AT_FDCWD, (d + "/a").encode(), AT_FDCWD, (d + "/c").encode(), 4), flush=True)
fd = os.open(d + "/a", os.O_RDWR)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
print("keepsize", call("fallocate", fd, 1, 0, 8192), flush=True)
print("punch", call("fallocate", fd, 3, 0, 1), flush=True)
print("collapse", call("fallocate", fd, 8, 0, 4096), flush=True)
os.close(fd)
try:
    os.setxattr(d + "/a", "user.x", b"1")
    print("setxattr ok")
except OSError as e:
    print("setxattr", errno.errorcode[e.errno], flush=True)
os.mkfifo(d + "/p")
os.mkdir(d + "/sub")
os.link(d + "/a", d + "/sub/a2")
`

// TestCaptureFlagsAndRefusals checks the rename flags and fallocate modes
// that are logged, and that what the models cannot represent is refused
// before it happens.
func TestCaptureFlagsAndRefusals(t *testing.T) {
	needMount(t)
	l, _ := capture(t, flagsScript)
	var lines []string
	for _, ln := range l.Lines {
		lines = append(lines, ln.Text)
	}
	want := []string{"exchange ok", "noreplace EEXIST", "whiteout EINVAL", "keepsize ok", "punch ok", "collapse ENOTSUP", "setxattr ENOTSUP"} // Python calls errno 95 ENOTSUP
	if !slices.Equal(lines, want) {
		t.Fatalf("stdout %q\nwant   %q", lines, want)
	}
	var got []string
	for _, op := range l.Ops[4:] { // after the two creates and writes
		got = append(got, fmt.Sprintf("%s/%d", op.Op, op.Flags))
	}
	if want := []string{"rename/2", "fallocate/1", "fallocate/3", "mkfifo/0", "mkdir/0", "link/0"}; !slices.Equal(got, want) {
		t.Fatalf("logged %q, want %q", got, want)
	}
	if ex := l.Ops[4]; ex.Node == 0 || ex.Node2 == 0 || ex.Node == ex.Node2 {
		t.Errorf("exchange logged as %+v", ex)
	}
	if ln := l.Ops[9]; ln.Path != "sub/a2" || ln.Path2 != "a" || ln.Node != l.Ops[4].Node2 { // after the exchange, a names the file first called b
		t.Errorf("link logged as %+v", ln)
	}
}

// TestWorkloadDiesWithHelper kills the helper with SIGKILL while the
// workload holds a file open on the mount: closing it at exit asks the
// server to flush. The workload must still be gone soon after, which it
// can only be when nothing but the helper holds the FUSE connection open
// (the kernel then aborts it and fails the flush).
func TestWorkloadDiesWithHelper(t *testing.T) {
	needMount(t)
	t.Setenv(reexec.Env, "mount-helper")
	dir := t.TempDir()
	for _, d := range []string{"m", "b"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pids := filepath.Join(dir, "pids")
	script := `import os, sys, time
f = open(os.environ["HEISEN_CRASH_DIR"] + "/held", "w")
f.write("x"); f.flush()
open(sys.argv[1] + ".tmp", "w").write("%d %d" % (os.getpid(), os.getppid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True: time.sleep(0.05)
`
	cfg := Config{Command: []string{"python3", "-c", script, pids}, Mount: filepath.Join(dir, "m"), Backing: filepath.Join(dir, "b"), Log: filepath.Join(dir, "log"), Grace: time.Second}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Exec{Path: os.Args[0], Args: []string{os.Args[0]}}, cfg, nil, os.Stderr)
	}()
	var workload, helper int
	poll(t, 30*time.Second, "the workload to write its pid", func() bool {
		b, err := os.ReadFile(pids)
		return err == nil && len(b) > 0 && func() bool { _, err := fmt.Sscan(string(b), &workload, &helper); return err == nil }()
	})
	if err := syscall.Kill(helper, syscall.SIGKILL); err != nil {
		t.Fatalf("kill helper %d: %v", helper, err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("Run after the helper was killed: %v, want an error saying it was killed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run still waits 30s after its helper was killed")
	}
	poll(t, 10*time.Second, fmt.Sprintf("workload %d to be gone", workload), func() bool { return gone(workload) })
}

// gone says pid no longer runs: it does not exist or is a zombie.
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || strings.HasPrefix(string(b[i+1:]), " Z")
}

// poll calls cond every 20 ms until it holds, failing the test after d;
// the failure names what it waited for.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after %v", what, d)
		}
	}
}
