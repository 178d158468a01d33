//go:build linux && (amd64 || arm64)

package record

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/reexec"
	"github.com/heisen-dev/heisen/internal/testcap"
	"github.com/heisen-dev/heisen/trail"
)

// A backend is one way of recording a command, so that a test can check
// that both say the same.
type backend struct {
	name string
	run  func(context.Context, Config, *exec.Cmd, *trail.Writer) (int, Stats, error)
}

var allBackends = []backend{{"ebpf", RunCommand}, {"ptrace", RunPtrace}}

// forBackends runs f for each backend, so that a test checks both say the
// same.
func forBackends(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range allBackends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// recordWith records cmd with b, like recordRun.
func recordWith(t *testing.T, b backend, cfg Config, cmd *exec.Cmd) ([]trail.Event, Stats, int) {
	t.Helper()
	var buf bytes.Buffer
	w := trail.NewWriter(&buf)
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	code, st, err := b.run(context.Background(), cfg, cmd, w)
	if b.name == "ebpf" {
		skipWithoutEBPF(t, err)
	}
	if err != nil {
		t.Fatalf("%s: %v", b.name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	evs, _ := readTrail(t, &buf)
	if st.Events != uint64(len(evs)) {
		t.Errorf("Stats.Events %d, the trail has %d", st.Events, len(evs))
	}
	return evs, st, code
}

// iouringChild sets up an io_uring and closes it.
func iouringChild() {
	var params [120]byte // struct io_uring_params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&params[0])), 0)
	if errno != 0 {
		fail(fmt.Errorf("io_uring_setup: %w", errno))
	}
	unix.Close(int(fd))
}

// writeCallsChild fills dir/calls with pwritev2 [0,4K), fallocate
// [4K,12K) and a shared writable mapping of [8K,12K) synced with msync,
// then copies it to dir/copied with io.Copy (copy_file_range) and to
// dir/spliced through a pipe with splice.
func writeCallsChild(dir string) {
	f, err := os.OpenFile(filepath.Join(dir, "calls"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	check(err)
	fd := int(f.Fd())
	_, err = unix.Pwritev2(fd, [][]byte{bytes.Repeat([]byte("a"), 4096)}, 0, 0)
	check(err)
	check(unix.Fallocate(fd, 0, 4096, 8192))
	m, err := unix.Mmap(fd, 8192, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	check(err)
	copy(m, "mapped")
	check(unix.Msync(m, unix.MS_SYNC))
	check(unix.Munmap(m))
	_, err = f.Seek(0, io.SeekStart)
	check(err)
	c, err := os.Create(filepath.Join(dir, "copied"))
	check(err)
	_, err = io.Copy(c, f)
	check(err)
	check(c.Close())
	spliceCopy(f, filepath.Join(dir, "spliced"), 12288)
	check(f.Close())
}

// spliceCopy copies n bytes of src from offset 0 to a new file at path,
// through a pipe, with splice.
func spliceCopy(src *os.File, path string, n int) {
	dst, err := os.Create(path)
	check(err)
	var p [2]int
	check(unix.Pipe(p[:]))
	var off int64
	for moved := 0; moved < n; {
		k, err := unix.Splice(int(src.Fd()), &off, p[1], nil, n-moved, 0)
		check(err)
		for left := k; left > 0; {
			m, err := unix.Splice(p[0], nil, int(dst.Fd()), nil, int(left), 0)
			check(err)
			left -= m
		}
		moved += int(k)
	}
	unix.Close(p[0])
	unix.Close(p[1])
	check(dst.Close())
}

// covered is the union of [off, off+n) of the events of op on path that
// succeeded, n being what the call moved, ret (its range for fallocate,
// which returns 0), as sorted disjoint ranges.
func covered(evs []trail.Event, op trail.Op, path string) [][2]int64 {
	var rs [][2]int64
	for _, e := range evs {
		if e.Op != op || e.Path != path || e.Err != "" || e.Off < 0 {
			continue
		}
		n := e.Ret
		if e.Sys == "fallocate" {
			n = e.Len
		}
		if n > 0 {
			rs = append(rs, [2]int64{e.Off, e.Off + n})
		}
	}
	slices.SortFunc(rs, func(a, b [2]int64) int { return int(a[0] - b[0]) })
	var out [][2]int64
	for _, r := range rs {
		if k := len(out) - 1; k >= 0 && r[0] <= out[k][1] {
			out[k][1] = max(out[k][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// checkCovers fails unless the events of op on path cover [0, size).
func checkCovers(t *testing.T, evs []trail.Event, op trail.Op, path string, size int64) {
	t.Helper()
	if got := covered(evs, op, path); len(got) != 1 || got[0] != [2]int64{0, size} {
		t.Errorf("%s events on %s cover %v, want [[0 %d]]:\n%s", op, path, got, size, dump(evs))
	}
}

// Every way real programs copy a file — a shell redirection of cat
// (copy_file_range), cp, dd, tee, Python's shutil.copyfile (sendfile) and
// a Go program's pwritev2, fallocate and mmap+msync — leaves write events
// whose ranges add up to the file's size, and read events that cover the
// source.
func TestWriteCallsAddUp(t *testing.T) {
	python := requirePython(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	goWrites := map[string][]string{} // backend: the Go program's writes, by writeLines
	forBackends(t, func(t *testing.T, b backend) {
		dir := realTemp(t)
		src := filepath.Join(dir, "src")
		data := make([]byte, 100_000)
		rand.Read(data)
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ name, script string }{
			{"cat", `cat src > dst`},
			{"cp", `cp src dst`},
			{"dd", `dd if=src of=dst bs=4096 status=none`},
			{"tee", `tee dst < src > /dev/null`},
			{"shutil", `"$2" -I -c 'import shutil; shutil.copyfile("src", "dst")'`},
		} {
			t.Run(c.name, func(t *testing.T) {
				os.Remove(filepath.Join(dir, "dst"))
				cmd := exec.Command("sh", "-c", `cd "$1" && `+c.script, "sh", dir, python)
				evs, _, code := recordWith(t, b, Config{Paths: []string{dir}}, cmd)
				if code != 0 {
					t.Fatalf("exit code %d", code)
				}
				checkCovers(t, evs, trail.OpWrite, filepath.Join(dir, "dst"), int64(len(data)))
				checkCovers(t, evs, trail.OpRead, src, int64(len(data)))
			})
		}
		t.Run("go", func(t *testing.T) {
			cmd := exec.Command(self, dir)
			cmd.Env = reexec.Environ("writecalls")
			evs, _, code := recordWith(t, b, Config{Paths: []string{dir}}, cmd)
			if code != 0 {
				t.Fatalf("exit code %d", code)
			}
			goWrites[b.name] = writeLines(evs, dir)
			path := filepath.Join(dir, "calls")
			checkCovers(t, evs, trail.OpWrite, path, 12288)
			checkCovers(t, evs, trail.OpWrite, filepath.Join(dir, "copied"), 12288)
			checkCovers(t, evs, trail.OpWrite, filepath.Join(dir, "spliced"), 12288)
			if e := findSys(evs, trail.OpWrite, "splice"); e == nil || e.Path != filepath.Join(dir, "spliced") {
				t.Errorf("no write by splice to %s", filepath.Join(dir, "spliced"))
			}
			// off, len and ret of each: a write through a mapping returns its
			// len (docs/trail-format.md), not mmap's address.
			want := map[string][3]int64{"pwritev2": {0, 4096, 4096}, "fallocate": {4096, 8192, 0},
				"mmap": {8192, 4096, 4096}, "munmap": {8192, 4096, 4096}}
			for _, e := range evs {
				if r, ok := want[e.Sys]; ok && e.Op == trail.OpWrite && e.Path == path && [3]int64{e.Off, e.Len, e.Ret} == r {
					delete(want, e.Sys)
				}
			}
			if len(want) > 0 {
				t.Errorf("no write event of %v (off, len, ret):\n%s", want, dump(evs))
			}
			if e := findSys(evs, trail.OpFdatasync, "msync"); e == nil || e.Path != path || e.Off != 8192 || e.Len != 4096 {
				t.Errorf("msync recorded as %+v, want an fdatasync of %s [8192, +4096)", e, path)
			}
		})
	})
	if e, p := goWrites["ebpf"], goWrites["ptrace"]; e != nil && p != nil && !slices.Equal(e, p) {
		t.Errorf("the backends disagree on the Go program's writes:\nebpf:\n%s\nptrace:\n%s",
			strings.Join(e, "\n"), strings.Join(p, "\n"))
	}
}

// writeLines lists the write and fdatasync events on the files in dir,
// in trail order, with every field both backends fill the same way, after
// coalescing them as the eBPF backend does (the ptrace backend does not).
func writeLines(evs []trail.Event, dir string) []string {
	var out []string
	for _, e := range coalesce(slices.Clone(evs), map[int]int{}) {
		if (e.Op == trail.OpWrite || e.Op == trail.OpFdatasync) && filepath.Dir(e.Path) == dir {
			out = append(out, fmt.Sprintf("%s %s sys=%s off=%d len=%d ret=%d err=%s",
				e.Op, filepath.Base(e.Path), e.Sys, e.Off, e.Len, e.Ret, e.Err))
		}
	}
	return out
}

// rootPID is the recorded command's pid: the process of the trail's first
// exec (each backend holds the command until it execs).
func rootPID(t *testing.T, evs []trail.Event) int {
	t.Helper()
	for _, e := range evs {
		if e.Op == trail.OpExec {
			return e.PID
		}
	}
	t.Fatalf("no exec event:\n%s", dump(evs))
	return 0
}

func findSys(evs []trail.Event, op trail.Op, sys string) *trail.Event {
	for i := range evs {
		if evs[i].Op == op && evs[i].Sys == sys {
			return &evs[i]
		}
	}
	return nil
}

// flock, POSIX and open-file-description locks are recorded when granted,
// with their kind, mode and byte range, and so are their unlocks.
func TestLocks(t *testing.T) {
	python := requirePython(t)
	forBackends(t, func(t *testing.T, b backend) {
		dir := realTemp(t)
		script := `import fcntl, struct
f = open("db", "w+")
fcntl.flock(f, fcntl.LOCK_SH)
fcntl.flock(f, fcntl.LOCK_UN)
fcntl.lockf(f, fcntl.LOCK_EX, 10, 100)
fcntl.lockf(f, fcntl.LOCK_UN, 10, 100)
fcntl.fcntl(f, fcntl.F_OFD_SETLKW, struct.pack("hhqqi4x", fcntl.F_RDLCK, 0, 5, 0, 0))
`
		cmd := exec.Command(python, "-I", "-c", script)
		cmd.Dir = dir
		evs, _, code := recordWith(t, b, Config{Paths: []string{dir}}, cmd)
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
		db := filepath.Join(dir, "db")
		var got []string
		for _, e := range evs {
			if (e.Op == trail.OpLock || e.Op == trail.OpUnlock) && e.Path == db && e.Err == "" {
				got = append(got, fmt.Sprintf("%s %s %s %d+%d", e.Op, e.Lock, e.Mode, e.Off, e.Len))
			}
		}
		want := []string{
			"lock flock shared 0+0", "unlock flock  0+0",
			"lock posix exclusive 100+10", "unlock posix  100+10",
			"lock ofd shared 5+0",
		}
		if !slices.Equal(got, want) {
			t.Errorf("locks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// A process that sets up io_uring gets one untraced event, and Stats
// lists it, so that the trail says its I/O through the ring is missing.
func TestIOUringUntraced(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	forBackends(t, func(t *testing.T, b backend) {
		cmd := exec.Command(self)
		cmd.Env = reexec.Environ("iouring")
		evs, st, code := recordWith(t, b, Config{}, cmd)
		if code != 0 {
			t.Fatalf("exit code %d (io_uring_setup failed: is io_uring disabled, kernel.io_uring_disabled?)", code)
		}
		pid := rootPID(t, evs)
		var n int
		for _, e := range evs {
			if e.Op == trail.OpUntraced && e.Sys == "io_uring_setup" && e.PID == pid {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d untraced io_uring_setup events for pid %d, want 1:\n%s", n, pid, dump(evs))
		}
		if len(st.Untraced) != 1 || st.Untraced[0].PID != pid || st.Untraced[0].Sys != "io_uring_setup" {
			t.Errorf("Stats.Untraced %+v, want pid %d's io_uring_setup", st.Untraced, pid)
		}
	})
}

// An open is recorded under the name the program opened, even when
// another process renames the file the moment the open returns.
func TestOpenKeepsItsName(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		dir := realTemp(t)
		tmp, target := filepath.Join(dir, "tmp"), filepath.Join(dir, "target")
		var stop atomic.Bool
		done := make(chan int)
		go func() { // renames tmp over target as fast as it can
			n := 0
			for !stop.Load() {
				if os.Rename(tmp, target) == nil {
					n++
				}
			}
			done <- n
		}()
		cmd := exec.Command("sh", "-c", `cd "$1" && for i in $(seq 300); do : > tmp; done`, "sh", dir)
		evs, _, code := recordWith(t, b, Config{Paths: []string{dir}}, cmd)
		stop.Store(true)
		renames := <-done
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
		var opens int
		for _, e := range evs {
			if e.Op == trail.OpOpen && e.Err == "" {
				opens++
				if e.Path != tmp {
					t.Errorf("open recorded as %s; the program opened %s", e.Path, tmp)
				}
			}
		}
		if opens != 300 || renames == 0 {
			t.Errorf("%d opens (want 300), %d renames raced with them (want some)", opens, renames)
		}
	})
}

// 32-bit system calls (int 0x80 from a 64-bit program here) are counted
// and reported once per process with an untraced event, not dropped in
// silence.
func TestCompatCallsCounted(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		testcap.Missing(t, "an x86-64 machine: the test program makes 32-bit calls with int 0x80", fmt.Errorf("GOARCH is %s", runtime.GOARCH))
	}
	bin := filepath.Join(t.TempDir(), "ia32")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/ia32").CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/ia32: %v\n%s", err, out)
	}
	requireIA32(t, bin)
	forBackends(t, func(t *testing.T, b backend) {
		dir := realTemp(t)
		evs, st, code := recordWith(t, b, Config{}, exec.Command(bin, filepath.Join(dir, "f")))
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
		if st.Compat != 3 {
			t.Errorf("Stats.Compat %d, want the program's 3 calls", st.Compat)
		}
		pid := rootPID(t, evs)
		var n int
		for _, e := range evs {
			if e.Op == trail.OpUntraced && e.Sys == "ia32" {
				n++
				if e.PID != pid {
					t.Errorf("untraced ia32 event for pid %d, the program is %d", e.PID, pid)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d untraced ia32 events, want 1:\n%s", n, dump(evs))
		}
	})
}

// requireIA32 skips t unless bin -probe, a 32-bit getpid through int 0x80,
// returns: the probe exits with status 3 when int 0x80 faults.
func requireIA32(t *testing.T, bin string) {
	t.Helper()
	out, err := exec.Command(bin, "-probe").CombinedOutput()
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) && exit.ExitCode() == 3 {
		testcap.Missing(t, ia32Emulation+" for int 0x80 from a 64-bit process", fmt.Errorf("%w: %s", err, bytes.TrimSpace(out)))
	}
	if err != nil {
		t.Fatalf("%s -probe: %v\n%s", bin, err, out)
	}
}

// Python's os.set_inheritable (ioctl FIONCLEX and FIOCLEX) and
// os.closerange (close_range) are setfd events and a close of the range.
func TestCloseOnExecAndRanges(t *testing.T) {
	python := requirePython(t)
	forBackends(t, func(t *testing.T, b backend) {
		dir := realTemp(t)
		script := `import os
fd = os.open("f", os.O_WRONLY | os.O_CREAT)
os.set_inheritable(fd, True)
os.set_inheritable(fd, False)
os.closerange(fd, fd + 1)
`
		cmd := exec.Command(python, "-I", "-c", script)
		cmd.Dir = dir
		evs, _, code := recordWith(t, b, Config{Paths: []string{dir}}, cmd)
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
		pid := rootPID(t, evs)
		var got []string
		for _, e := range evs {
			if e.PID == pid && (e.Op == trail.OpSetFD || e.Op == trail.OpClose) {
				got = append(got, fmt.Sprintf("%s %d-%d cloexec=%v", e.Op, e.FD, max(e.FD, e.MaxFD), e.CloExec))
			}
		}
		f := find(t, evs, trail.OpOpen, filepath.Join(dir, "f")).FD
		want := []string{
			fmt.Sprintf("setfd %d-%d cloexec=false", f, f),
			fmt.Sprintf("setfd %d-%d cloexec=true", f, f),
			fmt.Sprintf("close %d-%d cloexec=false", f, f),
		}
		if !slices.Equal(got, want) {
			t.Errorf("descriptor events of pid %d:\n%s\nwant\n%s", pid, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
