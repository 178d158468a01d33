//go:build linux && (amd64 || arm64)

package record

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/reexec"
	"github.com/heisen-dev/heisen/internal/testcap"
	"github.com/heisen-dev/heisen/trail"
)

// moreCallsChild changes files in dir the less common ways: it writes
// through a descriptor from open_by_handle_at, sets up Linux AIO,
// exchanges two names with renameat2(RENAME_EXCHANGE), tries to clone a
// file with ioctl(FICLONE), which this file system may refuse, and
// writes through a shared mapping made writable with mprotect.
func moreCallsChild(dir string) {
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, filepath.Join(dir, "handle"), 0)
	check(err)
	mfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	check(err)
	fd, err := unix.OpenByHandleAt(mfd, h, unix.O_WRONLY)
	check(err)
	_, err = unix.Write(fd, []byte("by handle"))
	check(err)
	check(unix.Close(fd))
	check(unix.Close(mfd))

	var ctx uintptr
	if _, _, errno := unix.Syscall(unix.SYS_IO_SETUP, 8, uintptr(unsafe.Pointer(&ctx)), 0); errno != 0 {
		fail(errno)
	}
	unix.Syscall(unix.SYS_IO_DESTROY, ctx, 0, 0)

	check(unix.Renameat2(unix.AT_FDCWD, filepath.Join(dir, "a"), unix.AT_FDCWD, filepath.Join(dir, "b"),
		unix.RENAME_EXCHANGE))

	src, err := os.Open(filepath.Join(dir, "a"))
	check(err)
	dst, err := os.Create(filepath.Join(dir, "clone"))
	check(err)
	unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())) // may be refused: recorded either way
	check(dst.Close())
	check(src.Close())

	mf, err := os.OpenFile(filepath.Join(dir, "mapped"), os.O_RDWR|os.O_CREATE, 0o644)
	check(err)
	check(mf.Truncate(8192))
	m, err := unix.Mmap(int(mf.Fd()), 4096, 4096, unix.PROT_READ, unix.MAP_SHARED)
	check(err)
	check(unix.Mprotect(m, unix.PROT_READ|unix.PROT_WRITE))
	copy(m, "made writable later")
	check(unix.Munmap(m))
	check(mf.Close())
}

// The less common ways a program changes files are in the trail: a
// descriptor from open_by_handle_at (an open under the file's name),
// Linux AIO (untraced), a name exchange (a rename with mode "exchange"),
// a clone (a write, here refused by the file system), the munmap of a
// mapping mprotect made writable (a write), and rmdir (an unlink).
func TestMoreWaysFilesChange(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	testcap.Root(t, "call open_by_handle_at (CAP_DAC_READ_SEARCH)")
	forBackends(t, func(t *testing.T, b backend) {
		dir := realTemp(t)
		for _, f := range []string{"handle", "a", "b"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", `"$0" "$1" && rmdir "$1/d"`, self, dir)
		cmd.Env = reexec.Environ("morecalls")
		evs, st, code := recordWith(t, b, Config{Paths: []string{dir}}, cmd)
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
		has := func(what string, f func(e *trail.Event) bool) {
			t.Helper()
			for i := range evs {
				if f(&evs[i]) {
					return
				}
			}
			t.Errorf("no %s:\n%s", what, dump(evs))
		}
		handle := filepath.Join(dir, "handle")
		has("open of "+handle+" by open_by_handle_at", func(e *trail.Event) bool {
			return e.Op == trail.OpOpen && e.Path == handle && e.Flags&trail.O_ACCMODE == trail.O_WRONLY && e.FD >= 0
		})
		has("write of "+handle, func(e *trail.Event) bool {
			return e.Op == trail.OpWrite && e.Path == handle && e.Off == 0 && e.Len == 9
		})
		has("untraced io_setup", func(e *trail.Event) bool { return e.Op == trail.OpUntraced && e.Sys == "io_setup" })
		if len(st.Untraced) != 1 || st.Untraced[0].Sys != "io_setup" {
			t.Errorf("Stats.Untraced %+v, want one io_setup", st.Untraced)
		}
		has("rename with mode exchange", func(e *trail.Event) bool {
			return e.Op == trail.OpRename && e.Mode == "exchange" && e.Path == filepath.Join(dir, "a") && e.To == filepath.Join(dir, "b")
		})
		has("write by ficlone of "+filepath.Join(dir, "clone"), func(e *trail.Event) bool {
			return e.Op == trail.OpWrite && e.Sys == "ficlone" && e.Path == filepath.Join(dir, "clone") && e.Off == 0 && e.Len == 1
		})
		has("write by munmap of the mapping mprotect made writable", func(e *trail.Event) bool {
			return e.Op == trail.OpWrite && e.Sys == "munmap" && e.Path == filepath.Join(dir, "mapped") && e.Off == 4096 && e.Len == 4096
		})
		for _, e := range evs {
			if e.Op == trail.OpWrite && e.Sys == "mmap" && e.Path == filepath.Join(dir, "mapped") {
				t.Errorf("a read-only mapping recorded as a write: %s", dump([]trail.Event{e}))
			}
		}
		has("unlink of the directory rmdir removed", func(e *trail.Event) bool {
			return e.Op == trail.OpUnlink && e.Path == filepath.Join(dir, "d") && e.Err == ""
		})
	})
}

// cp --reflink=always on btrfs clones the file with ioctl(FICLONE): the
// trail has a read of the source and a write of the copy covering the
// whole file, made by "ficlone".
func TestReflinkCopy(t *testing.T) {
	testcap.Root(t, "mount a btrfs image")
	mkfs, err := exec.LookPath("mkfs.btrfs")
	if err != nil {
		testcap.Missing(t, "mkfs.btrfs (Debian package btrfs-progs; .ci/run installs it)", err)
	}
	dir := realTemp(t)
	img, mnt := filepath.Join(dir, "img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 128<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.btrfs: %v: %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount -o loop %s: %v: %s", img, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	data := make([]byte, 100_000)
	rand.Read(data)
	src, dst := filepath.Join(mnt, "src"), filepath.Join(mnt, "dst")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	forBackends(t, func(t *testing.T, b backend) {
		os.Remove(dst)
		cmd := exec.Command("cp", "--reflink=always", src, dst)
		evs, _, code := recordWith(t, b, Config{Paths: []string{mnt}}, cmd)
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
		if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
			t.Fatal("cp --reflink=always did not copy the file")
		}
		var wrote, read bool
		for _, e := range evs {
			if e.Sys == "ficlone" && e.Err == "" && e.Off == 0 && e.Len == int64(len(data)) {
				wrote = wrote || e.Op == trail.OpWrite && e.Path == dst
				read = read || e.Op == trail.OpRead && e.Path == src
			}
		}
		if !wrote || !read {
			t.Errorf("ficlone write of %s %v, read of %s %v, want both with the file's length:\n%s", dst, wrote, src, read, dump(evs))
		}
	})
}
