package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/heisen-dev/heisen/internal/testcap"
	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs with opts on a fresh directory, unmounted when
// the test ends.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		testcap.Missing(t, "root (CAP_SYS_ADMIN) to mount a tmpfs", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// badCase is one way a replace must fail cleanly.
type badCase struct {
	name  string
	setup func(t *testing.T) (path string, data []byte) // may create a target
	op    string                                        // the op the error must name
	errno error
}

var badCases = []badCase{
	{"empty path", func(t *testing.T) (string, []byte) { return "", []byte("x") }, "open", syscall.ENOENT},
	{"path is a directory", func(t *testing.T) (string, []byte) {
		p := filepath.Join(t.TempDir(), "d")
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p, []byte("x")
	}, "open", syscall.EISDIR},
	{"trailing slash", func(t *testing.T) (string, []byte) { return t.TempDir() + "/", []byte("x") }, "open", syscall.EISDIR},
	{"missing parent", func(t *testing.T) (string, []byte) {
		return filepath.Join(t.TempDir(), "no", "such"), []byte("x")
	}, "open", syscall.ENOENT},
	{"name too long", func(t *testing.T) (string, []byte) {
		return filepath.Join(t.TempDir(), strings.Repeat("n", 300)), []byte("x")
	}, "stat", syscall.ENAMETOOLONG},
	{"read-only file system", func(t *testing.T) (string, []byte) {
		dir := mountTmpfs(t, "size=1m")
		p := filepath.Join(dir, "target")
		if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			t.Fatal(err)
		}
		return p, []byte("new")
	}, "open", syscall.EROFS},
	{"disk full", func(t *testing.T) (string, []byte) {
		dir := mountTmpfs(t, "size=64k")
		p := filepath.Join(dir, "target")
		if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p, make([]byte, 1<<20)
	}, "write", syscall.ENOSPC},
}

func TestBadInputFailsCleanly(t *testing.T) {
	modes(t, func(t *testing.T, named bool) {
		for _, c := range badCases {
			t.Run(c.name, func(t *testing.T) {
				path, data := c.setup(t)
				dir := filepath.Dir(path)
				if _, err := os.Stat(dir); err != nil {
					dir = filepath.Dir(dir) // missing parent: watch its parent
				}
				before := names(t, dir)
				old, oldErr := os.ReadFile(path)

				err := WriteFile(path, data, 0o644)
				checkCleanFailure(t, err, c.op, path, c.errno)
				if got := names(t, dir); !slices.Equal(got, before) {
					t.Errorf("directory changed from %q to %q", before, got)
				}
				if b, err := os.ReadFile(path); string(b) != string(old) || (err == nil) != (oldErr == nil) {
					t.Errorf("target changed: %q, %v; was %q, %v", b, err, old, oldErr)
				}
			})
		}
	})
}

func checkCleanFailure(t *testing.T, err error, op, path string, errno error) {
	t.Helper()
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not an *fs.PathError", err, err)
	}
	if pe.Op != op || !errors.Is(err, errno) {
		t.Errorf("error %q: want op %q and %v", err, op, errno)
	}
	if pe.Path != path && !strings.Contains(err.Error(), filepath.Dir(filepath.Dir(path))) {
		t.Errorf("error %q does not name %s", err, path)
	}
}

// TestParentNotWritable runs the writer as an unprivileged user, since root
// may write anywhere.
func TestParentNotWritable(t *testing.T) {
	testcap.Root(t, "run a child as another user (CAP_SETUID)")
	// A directory every user can traverse, holding a copy of the test binary.
	base, err := os.MkdirTemp("", "atomicfile-uid")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	copyExe := filepath.Join(base, "atomicfile.test")
	if err := os.WriteFile(copyExe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "ro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "target")
	if err := os.WriteFile(path, []byte("old"), 0o666); err != nil {
		t.Fatal(err)
	}
	modes(t, func(t *testing.T, named bool) {
		cmd := child(t, "writeonce", path, named)
		cmd.Path, cmd.Args[0] = copyExe, copyExe
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		// O_TMPFILE opens the directory; a named temp is named.
		opened, ok := strings.CutPrefix(string(out), "open ")
		opened, ok2 := strings.CutSuffix(opened, ": permission denied")
		want := opened == dir
		if named {
			want = filepath.Dir(opened) == dir && isTempOf(filepath.Base(opened), "target")
		}
		if !ok || !ok2 || !want {
			t.Errorf("child got %q, want open of %s (its temp when named): permission denied", out, dir)
		}
		wantOnly(t, path, "old")
	})
}

func TestNoClobber(t *testing.T) {
	modes(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		path := filepath.Join(dir, "target")
		if err := WriteFile(path, []byte("first"), 0o644, NoClobber); err != nil {
			t.Fatalf("creating a new file: %v", err)
		}
		err := WriteFile(path, []byte("second"), 0o644, NoClobber)
		if !errors.Is(err, ErrExist) {
			t.Fatalf("got %v, want ErrExist", err)
		}
		if b, _ := os.ReadFile(path); string(b) != "first" {
			t.Errorf("target = %q", b)
		}

		// The existence check and the creation are one step: of writers
		// racing to create a file, exactly one wins.
		race := filepath.Join(dir, "race")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 16 {
			wg.Go(func() {
				f, err := Create(race, NoClobber)
				if err != nil {
					return // lost before starting
				}
				defer f.Close()
				f.WriteString("x")
				if err := f.Commit(); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, ErrExist) {
					t.Errorf("Commit: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d writers created the file, want 1", wins)
		}
		if got := names(t, dir); len(got) != 2 {
			t.Errorf("directory holds %q", got)
		}
	})
}

func TestSymlinkPolicy(t *testing.T) {
	modes(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		real := filepath.Join(dir, "real")
		link := filepath.Join(dir, "link")
		if err := os.WriteFile(real, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("real", link); err != nil {
			t.Fatal(err)
		}

		if err := WriteFile(link, []byte("through"), 0o644, FollowSymlinks); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(real); string(b) != "through" {
			t.Errorf("FollowSymlinks: pointee = %q", b)
		}
		if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink == 0 {
			t.Error("FollowSymlinks replaced the link")
		}

		if err := WriteFile(link, []byte("replaced"), 0o644); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Lstat(link)
		if !fi.Mode().IsRegular() {
			t.Errorf("default policy left %v, want a regular file", fi.Mode())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("the new file has mode %v, want the pointee's 0600", fi.Mode().Perm())
		}
		if b, _ := os.ReadFile(real); string(b) != "through" {
			t.Errorf("default policy wrote through the link: pointee = %q", b)
		}

		// A link to a directory is replaced like any other link.
		dirLink := filepath.Join(dir, "dirlink")
		os.Symlink(".", dirLink)
		if err := WriteFile(dirLink, []byte("file"), 0o644); err != nil {
			t.Fatalf("replacing a link to a directory: %v", err)
		}
		if b, _ := os.ReadFile(dirLink); string(b) != "file" {
			t.Errorf("link to a directory: %q", b)
		}

		// A dangling link is followed to create its pointee.
		dangling := filepath.Join(dir, "dangling")
		os.Symlink("sub/created", dangling)
		os.Mkdir(filepath.Join(dir, "sub"), 0o755)
		if err := WriteFile(dangling, []byte("new"), 0o644, FollowSymlinks); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "sub", "created")); string(b) != "new" {
			t.Errorf("dangling link's pointee = %q", b)
		}
	})
}

func TestPermissionsAndOwner(t *testing.T) {
	modes(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		um := umask()
		newFile := filepath.Join(dir, "new")
		if err := WriteFile(newFile, []byte("x"), 0o666); err != nil {
			t.Fatal(err)
		}
		checkMode(t, newFile, 0o666&^fs.FileMode(um))

		exact := filepath.Join(dir, "exact")
		if err := WriteFile(exact, []byte("x"), 0o666, IgnoreUmask); err != nil {
			t.Fatal(err)
		}
		checkMode(t, exact, 0o666)

		// An existing file keeps its mode (even bits the umask would drop)
		// and its owner, whatever perm says.
		kept := filepath.Join(dir, "kept")
		if err := os.WriteFile(kept, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(kept, 0o662); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := os.Chown(kept, 1234, 5678); err != nil {
				t.Fatal(err)
			}
		}
		if err := WriteFile(kept, []byte("y"), 0o600); err != nil {
			t.Fatal(err)
		}
		checkMode(t, kept, 0o662)
		if os.Geteuid() == 0 {
			var st unix.Stat_t
			unix.Stat(kept, &st)
			if st.Uid != 1234 || st.Gid != 5678 {
				t.Errorf("owner %d:%d, want 1234:5678", st.Uid, st.Gid)
			}
		}
	})
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), fi.Mode().Perm(), want)
	}
}

func TestFileLifecycle(t *testing.T) {
	modes(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		path := filepath.Join(dir, "target")
		os.WriteFile(path, []byte("old"), 0o644)

		// Close before Commit discards.
		f, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("discarded")
		if b, _ := os.ReadFile(path); string(b) != "old" {
			t.Errorf("target changed before Commit: %q", b)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := f.Commit(); !errors.Is(err, ErrClosed) {
			t.Errorf("Commit after Close: %v, want ErrClosed", err)
		}
		wantOnly(t, path, "old")

		// Commit, then a second Commit, a Write and a Close.
		f, err = Create(path)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("new "))
		f.ReadFrom(strings.NewReader("content"))
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := f.Commit(); !errors.Is(err, ErrCommitted) {
			t.Errorf("second Commit: %v, want ErrCommitted", err)
		}
		if _, err := f.Write([]byte("x")); !errors.Is(err, ErrCommitted) {
			t.Errorf("Write after Commit: %v, want ErrCommitted", err)
		}
		if err := f.Close(); err != nil {
			t.Errorf("Close after Commit: %v", err)
		}
		wantOnly(t, path, "new content")
	})
}

func TestBatch(t *testing.T) {
	modes(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		sub := filepath.Join(dir, "sub")
		os.Mkdir(sub, 0o755)
		b := NewBatch()
		var paths []string
		for i := range 20 {
			p := filepath.Join([]string{dir, sub}[i%2], "f"+string(rune('a'+i)))
			paths = append(paths, p)
			b.Add(p, []byte(p), 0o644)
		}
		if b.Len() != 20 {
			t.Errorf("Len = %d", b.Len())
		}
		for _, p := range paths {
			if _, err := os.Stat(p); err == nil {
				t.Fatalf("%s visible before Commit", p)
			}
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if c, _ := os.ReadFile(p); string(c) != p {
				t.Errorf("%s = %q", p, c)
			}
		}

		// A file that cannot be created: nothing is replaced.
		b.Add(paths[0], []byte("v2"), 0o644)
		b.Add(filepath.Join(dir, "missing", "x"), nil, 0o644)
		if err := b.Commit(); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Commit with a missing directory: %v", err)
		}
		if c, _ := os.ReadFile(paths[0]); string(c) != paths[0] {
			t.Errorf("first file = %q, want untouched", c)
		}

		// A rename failing midway (over an immutable file): the files
		// before it are replaced, the failing one and those after are
		// untouched, no temp remains.
		setImmutable(t, paths[2], true)
		for _, p := range paths[:6] {
			b.Add(p, []byte("v2"), 0o644)
		}
		err := b.Commit()
		setImmutable(t, paths[2], false)
		if !errors.Is(err, syscall.EPERM) {
			t.Fatalf("Commit over an immutable file: %v", err)
		}
		for i, p := range paths[:6] {
			want := "v2"
			if i >= 2 {
				want = p
			}
			if c, _ := os.ReadFile(p); string(c) != want {
				t.Errorf("file %d = %q, want %q", i, c, want)
			}
		}
		for _, d := range []string{dir, sub} {
			for _, n := range names(t, d) {
				if strings.HasSuffix(n, ".tmp") {
					t.Errorf("temp %s left in %s", n, d)
				}
			}
		}
	})
}

// setImmutable sets or clears FS_IMMUTABLE_FL (chattr +i), which makes a
// rename over the file fail although it can be opened and stat'ed.
func setImmutable(t *testing.T, path string, on bool) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		testcap.Missing(t, "inode flags (FS_IOC_GETFLAGS) on the test directory's file system", err)
	}
	if on {
		flags |= fsImmutableFL
	} else {
		flags &^= fsImmutableFL
	}
	if err := unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags)); err != nil {
		testcap.Missing(t, "root (CAP_LINUX_IMMUTABLE) and a file system with the immutable flag, like ext4", err)
	}
}

// recorder is a Tracer that keeps the ops it is given.
type recorder struct {
	mu     sync.Mutex
	events []TraceEvent
}

func (r *recorder) Trace(e *TraceEvent) {
	r.mu.Lock()
	r.events = append(r.events, *e)
	r.mu.Unlock()
}

func (r *recorder) ops() []string {
	var ops []string
	for _, e := range r.events {
		ops = append(ops, e.Op)
	}
	return ops
}

func TestTracerSeesEveryStepInOrder(t *testing.T) {
	want := map[bool][]string{
		// dir, tmpfile, write, sync, link to temp name, rename, dir sync, closes
		false: {"open", "open", "write", "fdatasync", "link", "rename", "fsync", "close", "close"},
		// dir, named temp, write, sync (fsync: the mode changed), rename, dir sync, closes
		true: {"open", "open", "write", "fsync", "rename", "fsync", "close", "close"},
	}
	modes(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		path := filepath.Join(dir, "target")
		var r recorder
		if err := WriteFile(path, []byte("hello"), 0o644, WithTracer(&r)); err != nil {
			t.Fatal(err)
		}
		if got := r.ops(); !slices.Equal(got, want[named]) {
			t.Fatalf("ops %q, want %q", got, want[named])
		}
		call := r.events[0].Call
		for _, e := range r.events {
			if e.Call != call || call == 0 {
				t.Errorf("%s: call %d, want %d", e.Op, e.Call, call)
			}
			if e.Op != "close" && e.Path == "" {
				t.Errorf("%s event without a path", e.Op)
			}
			if e.Path != "" && !strings.HasPrefix(e.Path, dir) {
				t.Errorf("%s: path %q not absolute under %s", e.Op, e.Path, dir)
			}
		}
		rename := r.events[slices.IndexFunc(r.events, func(e TraceEvent) bool { return e.Op == "rename" })]
		if rename.To != path || !isTempOf(filepath.Base(rename.Path), "target") {
			t.Errorf("rename %s -> %s", rename.Path, rename.To)
		}
		if w := r.events[2]; w.Len != 5 || w.Ret != 5 || w.FD < 0 {
			t.Errorf("write event %+v", w)
		}

		var u recorder
		if err := Update(path, func([]byte) ([]byte, error) { return nil, nil }, WithTracer(&u)); err != nil {
			t.Fatal(err)
		}
		ops := u.ops()
		if ops[0] != "lock" || ops[len(ops)-1] != "unlock" {
			t.Errorf("Update ops %q: want lock first and unlock last", ops)
		}
		if u.events[1].Call == call {
			t.Error("two replaces share a call id")
		}
	})
}

func FuzzTempName(f *testing.F) {
	f.Add("target")
	f.Add(strings.Repeat("x", 255))
	f.Add(".hidden.tmp")
	f.Fuzz(func(t *testing.T, base string) {
		var buf [nameMax]byte
		n := tempName(&buf, base)
		name := string(buf[:n])
		if n > nameMax-1 {
			t.Fatalf("temp name of %d bytes exceeds NAME_MAX", n)
		}
		if !isTempOf(name, base) {
			t.Fatalf("isTempOf(%q, %q) = false", name, base)
		}
		if isTempOf(base, base) && !strings.HasPrefix(base, ".") {
			t.Fatalf("isTempOf(%q, itself) = true", base)
		}
	})
}

// TestProcFDLinkFallback links O_TMPFILE files through /proc/self/fd, as a
// process without CAP_DAC_READ_SEARCH on older kernels must.
func TestProcFDLinkFallback(t *testing.T) {
	saved := atEmptyPath.Load()
	atEmptyPath.Store(2)
	t.Cleanup(func() { atEmptyPath.Store(saved) })
	path := filepath.Join(t.TempDir(), "target")
	var r recorder
	for _, v := range []string{"one", "two"} {
		if err := WriteFile(path, []byte(v), 0o644, WithTracer(&r)); err != nil {
			t.Fatal(err)
		}
	}
	wantOnly(t, path, "two")
	for _, e := range r.events {
		if e.Op == "link" && !strings.HasPrefix(e.Path, "/proc/self/fd/") {
			t.Errorf("link from %q, want /proc/self/fd/N", e.Path)
		}
	}
}

// wantOnly checks that the file at path holds content and that nothing
// else, no temp, is left in its directory.
func wantOnly(t *testing.T, path, content string) {
	t.Helper()
	if b, err := os.ReadFile(path); string(b) != content {
		t.Errorf("target = %q, %v; want %q", b, err, content)
	}
	if got := names(t, filepath.Dir(path)); len(got) != 1 {
		t.Errorf("directory holds %q, want only %s", got, filepath.Base(path))
	}
}

// TestDirectorySyncRefused checks how a refused directory fsync is reported,
// on a real directory that refuses it: procfs returns EINVAL, like vboxsf.
func TestDirectorySyncRefused(t *testing.T) {
	dirfd, err := unix.Open("/proc/self", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		testcap.Missing(t, "procfs mounted at /proc", err)
	}
	f := File{path: "/proc/self/x", dir: "/proc/self", state: stateCommitted}
	f.sys.dirfd, f.sys.fd = dirfd, -1
	defer f.release()
	err = f.syncDir()
	if !errors.Is(err, ErrNotDurable) || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("got %v, want ErrNotDurable wrapping EINVAL", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "fsync" || pe.Path != "/proc/self" {
		t.Errorf("got %#v, want fsync of /proc/self", err)
	}
	t.Log(err)
}

// TestTempRefusedNamesTheTemp replaces a file in procfs, which refuses a
// named temp (ENOENT for root, EACCES for others): the error names the
// temp it could not create, not the directory, which exists. procfs has no
// O_TMPFILE, so root takes the named temp anyway; others are refused
// O_TMPFILE on the directory first, hence forceNamed.
func TestTempRefusedNamesTheTemp(t *testing.T) {
	if _, err := os.Stat("/proc/version"); err != nil {
		testcap.Missing(t, "procfs mounted on /proc", err)
	}
	forceNamed = true
	t.Cleanup(func() { forceNamed = false })
	err := WriteFile("/proc/version", []byte("x"), 0o644)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || filepath.Dir(pe.Path) != "/proc" || !isTempOf(filepath.Base(pe.Path), "version") {
		t.Fatalf("got %v, want an open error naming a temp of /proc/version", err)
	}
	t.Log(err)
}

const fsImmutableFL = 0x10 // FS_IMMUTABLE_FL from linux/fs.h

// TestUpdateBadPathCreatesNothing checks that Update refuses a path that
// cannot name a file before it creates the lock file beside it.
func TestUpdateBadPathCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		path  string
		errno error
	}{{"", syscall.ENOENT}, {dir + "/", syscall.EISDIR}, {dir + "/.", syscall.EISDIR}} {
		err := Update(c.path, func(old []byte) ([]byte, error) {
			t.Errorf("Update(%q) called fn", c.path)
			return old, nil
		})
		checkCleanFailure(t, err, "open", c.path, c.errno)
		if got := names(t, dir); len(got) != 0 {
			t.Errorf("Update(%q) left %q in %s", c.path, got, dir)
		}
	}
}

// TestWithoutStatxAndRenameat2 replaces files in a process that gets ENOSYS
// from statx and renameat2, as on Linux before 3.15, which Go still
// supports: both have older calls to fall back on.
func TestWithoutStatxAndRenameat2(t *testing.T) {
	modes(t, func(t *testing.T, named bool) {
		path := filepath.Join(t.TempDir(), "target")
		if out, err := child(t, "oldkernel", path, named).Output(); err != nil {
			t.Fatalf("child without statx and renameat2: %v\n%s", err, out)
		}
		for p, want := range map[string]string{path: "two", path + ".new": "new"} {
			if b, err := os.ReadFile(p); string(b) != want {
				t.Errorf("%s = %q, %v; want %q", p, b, err, want)
			}
		}
		if got := names(t, filepath.Dir(path)); len(got) != 2 {
			t.Errorf("directory holds %q, want target and target.new", got)
		}
	})
}

// TestWithoutLocks replaces a file where flock fails with ENOLCK, as on NFS
// without its lock daemon: the temp's lock only serves RemoveStaleTemps,
// which cannot lock there either, so the replace must not fail for it.
func TestWithoutLocks(t *testing.T) {
	modes(t, func(t *testing.T, named bool) {
		path := filepath.Join(t.TempDir(), "target")
		if out, err := child(t, "nolocks", path, named).Output(); err != nil {
			t.Fatalf("child without flock: %v\n%s", err, out)
		}
		wantOnly(t, path, "two")
	})
}
