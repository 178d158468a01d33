//go:build linux && (amd64 || arm64)

package record

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/reexec"
	"github.com/heisen-dev/heisen/internal/testcap"
	"github.com/heisen-dev/heisen/trail"
)

// pinToCPU0 runs the calling process's thread on CPU 0 only, so that the
// renamer and the writer share one CPU.
func pinToCPU0() {
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(0)
	check(unix.SchedSetaffinity(0, &set))
}

// heldWriter plays the other process of a held-up rename or unlink
// (call). For a rename, it opens data/tmp, waits with inotify for a
// rename into data (inotify reports it right after the rename took
// effect and before the rename frees the file it replaced), then writes
// through its descriptor: the file is data/target by then. For an
// unlink, it opens and closes data/target, waits for its deletion, then
// creates a new data/target.
func heldWriter(call, data, sync string) {
	pinToCPU0()
	name, mask := filepath.Join(data, "tmp"), uint32(unix.IN_MOVED_TO)
	if call == "unlink" {
		name, mask = filepath.Join(data, "target"), unix.IN_DELETE
	}
	fd, err := unix.Open(name, unix.O_WRONLY|unix.O_APPEND, 0)
	check(err)
	in, err := unix.InotifyInit1(0)
	check(err)
	_, err = unix.InotifyAddWatch(in, data, mask)
	check(err)
	if call == "unlink" {
		check(unix.Close(fd)) // the unlink frees the file
	}
	check(os.WriteFile(filepath.Join(sync, "ready"), nil, 0o644))
	buf := make([]byte, 4096)
	_, err = unix.Read(in, buf)
	check(err)
	if call == "unlink" {
		fd, err = unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
		check(err)
	}
	_, err = unix.Write(fd, []byte("written while the other call was still in it\n"))
	check(err)
}

// heldRenamer renames data/tmp over data/target (call "rename") or
// unlinks data/target: a large file whose pages the call frees after it
// took effect, before it returns.
func heldRenamer(call, data, sync string) {
	pinToCPU0()
	waitFor(filepath.Join(sync, "ready"))
	if call == "unlink" {
		check(unix.Unlink(filepath.Join(data, "target")))
		return
	}
	check(unix.Rename(filepath.Join(data, "tmp"), filepath.Join(data, "target")))
}

// tmpfsDir mounts a tmpfs of its own for the test, whose files' pages the
// kernel frees when their last name goes.
func tmpfsDir(t *testing.T) string {
	t.Helper()
	testcap.Root(t, "mount a tmpfs (CAP_SYS_ADMIN)")
	dir := realTemp(t)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=512m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// A rename takes effect and then, still in its call, frees the file it
// replaced; a process that saw the effect (inotify wakes it) writes
// through a descriptor of the renamed file meanwhile, on the same CPU.
// The write's call returns before the rename's: stamped at its return,
// the rename would follow a write made under its new name. The trail
// places the rename before the write, within the rename's call times.
// The same for an unlink and the create of a new file under the name it
// removed. Each attempt checks from the trail itself that the other
// process's call came between the entry and the return; a machine too
// busy for that to happen within placeWindow gets another attempt with a
// larger file to free.
func TestRenamePlacedBeforeWritesThatSawIt(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []string{"rename", "unlink"} {
		t.Run(call, func(t *testing.T) {
			forBackends(t, func(t *testing.T, b backend) {
				for attempt, mib := range []int{16, 32, 64, 64, 128} {
					if placedOnce(t, b, self, call, mib) {
						return
					}
					t.Logf("attempt %d (%d MiB): the other call did not come between the %s's entry and return", attempt+1, mib, call)
				}
				t.Fatalf("could not make the other process's call land while the %s was in its call", call)
			})
		})
	}
}

// placedOnce runs one attempt, and reports whether the other process's
// call landed in the rename's or unlink's (then it checks the trail's
// order).
func placedOnce(t *testing.T, b backend, self, call string, mib int) bool {
	t.Helper()
	dir := tmpfsDir(t)
	data, sync := filepath.Join(dir, "data"), filepath.Join(dir, "sync")
	for _, d := range []string{data, sync} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(data, "tmp"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(data, "target")
	big, err := os.Create(target)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(int(big.Fd()), 0, 0, int64(mib)<<20); err != nil {
		t.Fatal(err)
	}
	big.Close()
	var tmp, old unix.Stat_t
	if unix.Stat(filepath.Join(data, "tmp"), &tmp) != nil || unix.Stat(target, &old) != nil {
		t.Fatal("stat failed")
	}
	cmd := exec.Command("sh", "-c", `"$0" "$1" "$2" "$3" & `+reexec.Env+`=heldrenamer "$0" "$1" "$2" "$3"; wait`,
		self, call, data, sync)
	cmd.Env = reexec.Environ("heldwriter")
	evs, _, code := recordWith(t, b, Config{Paths: []string{data}}, cmd)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	// The event that saw the call done: the write through the renamed
	// file, or the open that created a new file under the unlinked name.
	r := slices.IndexFunc(evs, func(e trail.Event) bool { return e.Op == trail.OpRename && e.To == target })
	w := slices.IndexFunc(evs, func(e trail.Event) bool { return e.Op == trail.OpWrite && e.Ino == tmp.Ino })
	if call == "unlink" {
		r = slices.IndexFunc(evs, func(e trail.Event) bool { return e.Op == trail.OpUnlink && e.Path == target })
		w = slices.IndexFunc(evs, func(e trail.Event) bool {
			return e.Op == trail.OpOpen && e.Path == target && e.Flags&trail.O_CREAT != 0 && e.Ino != old.Ino
		})
	}
	if r < 0 || w < 0 {
		t.Fatalf("no %s of %s or no event that saw it:\n%s", call, target, dump(evs))
	}
	rn, wr := evs[r], evs[w]
	if rn.Called.IsZero() || rn.Returned.IsZero() || rn.Err != "" {
		t.Fatalf("the %s lacks its call times: %s", call, dump(evs[r:r+1]))
	}
	if wr.Path != target {
		t.Fatalf("the other call is not under %s: %s", target, dump(evs[w:w+1]))
	}
	if !wr.TS.After(rn.Called) || !wr.TS.Before(rn.Returned) || rn.Returned.Sub(wr.TS) >= placeWindow {
		return false
	}
	t.Logf("%s: %s called %s, other %s %s, returned %s, placed at %s", b.name, call,
		rn.Called.Format("15:04:05.000000"), wr.Op, wr.TS.Format("15:04:05.000000"),
		rn.Returned.Format("15:04:05.000000"), rn.TS.Format("15:04:05.000000"))
	if r > w || !rn.TS.Before(wr.TS) || rn.TS.Before(rn.Called) {
		t.Errorf("the %s is not placed before the %s that saw it, within its call:\n%s", call, wr.Op,
			dump([]trail.Event{evs[min(r, w)], evs[max(r, w)]}))
	}
	return true
}
