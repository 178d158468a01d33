//go:build linux && (amd64 || arm64)

package record

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/reexec"
	"github.com/heisen-dev/heisen/internal/testcap"
	"github.com/heisen-dev/heisen/trail"
)

// ioChild is the recorded command of the tests below: a real Go program
// moving data with one kind of call. args are a directory and, for some
// kinds, a count.
func ioChild(kind string, args []string) {
	dir := args[0]
	switch kind {
	case "gocopy": // io.Copy between two *os.File: copy_file_range
		in, err := os.Open(filepath.Join(dir, "src"))
		check(err)
		out, err := os.Create(filepath.Join(dir, "dst"))
		check(err)
		_, err = io.Copy(out, in)
		check(err)
		check(out.Close())
		check(in.Close())
	case "opener":
		opener(dir, args[1])
	case "renamer":
		renamer(dir, args[1])
	default:
		fail(fmt.Errorf("unknown io child %q", kind))
	}
}

// opener creates n files tmp.I in dir, each once the renamer (another
// process) has renamed the one before to target.I.
func opener(dir, count string) {
	n, _ := strconv.Atoi(count)
	waitFor(filepath.Join(dir, "ready"))
	for i := range n {
		fd, err := unix.Open(filepath.Join(dir, "tmp."+strconv.Itoa(i)), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
		check(err)
		check(unix.Close(fd))
		waitFor(filepath.Join(dir, "target."+strconv.Itoa(i)))
	}
}

// renamer renames each tmp.I in dir to target.I as soon as it exists,
// polling with stat (not recorded) on a CPU of its own, so that its
// rename can land between the opener's open and the open's exit probe.
func renamer(dir, count string) {
	n, _ := strconv.Atoi(count)
	check(os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644))
	for i := range n {
		tmp := filepath.Join(dir, "tmp."+strconv.Itoa(i))
		var st unix.Stat_t
		for deadline := time.Now().Add(10 * time.Second); unix.Stat(tmp, &st) != nil; {
			if time.Now().After(deadline) {
				fail(fmt.Errorf("%s did not appear", tmp))
			}
		}
		check(unix.Rename(tmp, filepath.Join(dir, "target."+strconv.Itoa(i))))
	}
}

// waitFor polls until path exists, for at most 10 s: stat is not recorded.
func waitFor(path string) {
	var st unix.Stat_t
	for deadline := time.Now().Add(10 * time.Second); unix.Stat(path, &st) != nil; {
		if time.Now().After(deadline) {
			fail(fmt.Errorf("%s did not appear", path))
		}
		runtime.Gosched()
	}
}

// ioCommand is the io child of the given kind, for dir.
func ioCommand(kind string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{kind}, args...)...)
	cmd.Env = reexec.Environ("io")
	return cmd
}

// Go's io.Copy between two files moves the data with copy_file_range,
// and Python's shutil.copyfile with sendfile: the writes and the reads
// say which call made them.
func TestCopyCallsNamed(t *testing.T) {
	py := realPython(t)
	for _, tc := range []struct {
		name, sys string
		cmd       func(dir string) *exec.Cmd
	}{
		{"go io.Copy", "copy_file_range", func(d string) *exec.Cmd { return ioCommand("gocopy", d) }},
		{"python shutil.copyfile", "sendfile", func(d string) *exec.Cmd {
			return exec.Command(py, "-I", "-c", `import shutil; shutil.copyfile("src", "dst")`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := realTemp(t)
			data := make([]byte, 100_000)
			rand.Read(data)
			if err := os.WriteFile(filepath.Join(dir, "src"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := tc.cmd(dir)
			cmd.Dir = dir
			evs, _, _, code := recordRun(t, Config{Paths: []string{dir}}, cmd)
			if code != 0 {
				t.Fatalf("exit code %d", code)
			}
			checkCovers(t, evs, trail.OpWrite, filepath.Join(dir, "dst"), int64(len(data)))
			checkCovers(t, evs, trail.OpRead, filepath.Join(dir, "src"), int64(len(data)))
			if w, r := findSys(evs, trail.OpWrite, tc.sys), findSys(evs, trail.OpRead, tc.sys); w == nil || r == nil {
				t.Errorf("no write and read with sys %s:\n%s", tc.sys, dump(evs))
			}
		})
	}
}

// A file read in chunks is one read event per run of contiguous reads,
// as writes are.
func TestReadsCoalesced(t *testing.T) {
	py := realPython(t)
	dir := realTemp(t)
	if err := os.WriteFile(filepath.Join(dir, "src"), bytes.Repeat([]byte("r"), 50_000), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-I", "-c", `
import os
fd = os.open("src", os.O_RDONLY)
while os.read(fd, 1000):
    pass
os.close(fd)
`)
	cmd.Dir = dir
	evs, _, st, code := recordRun(t, Config{Paths: []string{dir}}, cmd)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	var reads []trail.Event
	for _, e := range evs {
		if e.Op == trail.OpRead {
			reads = append(reads, e)
		}
	}
	// A run is cut where the reader's poll cut the batch (every 20 ms).
	if got := covered(evs, trail.OpRead, filepath.Join(dir, "src")); len(reads) > 3 || len(got) != 1 || got[0] != [2]int64{0, 50_000} {
		t.Errorf("50 reads of 1000 bytes and one at the end: want at most 3 events covering 0..50000, got\n%s", dump(reads))
	}
	if st.Calls < st.Events+48 {
		t.Errorf("%d events for %d calls: the reads were not coalesced", st.Events, st.Calls)
	}
}

// ia32Program is a 32-bit x86 ELF executable that calls getpid three
// times through int 0x80, then exits 0.
func ia32Program() []byte {
	const base, code = 0x08048000, 84
	text := []byte{}
	for range 3 {
		text = append(text, 0xb8, 20, 0, 0, 0, 0xcd, 0x80) // mov eax, 20 (getpid); int 0x80
	}
	text = append(text, 0xb8, 1, 0, 0, 0, 0x31, 0xdb, 0xcd, 0x80) // mov eax, 1 (exit); xor ebx, ebx; int 0x80
	size := uint32(code + len(text))
	le := binary.LittleEndian
	b := []byte{0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	b = le.AppendUint16(b, 2) // ET_EXEC
	b = le.AppendUint16(b, 3) // EM_386
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, base+code) // entry
	b = le.AppendUint32(b, 52)        // phoff
	b = le.AppendUint32(b, 0)         // shoff
	b = le.AppendUint32(b, 0)         // flags
	for _, h := range []uint16{52, 32, 1, 0, 0, 0} {
		b = le.AppendUint16(b, h) // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
	}
	for _, p := range []uint32{1, 0, base, base, size, size, 5, 0x1000} {
		b = le.AppendUint32(b, p) // PT_LOAD: offset, vaddr, paddr, filesz, memsz, R+X, align
	}
	return append(b, text...)
}

// ia32Emulation names what the tests of 32-bit calls need of the kernel:
// one built without it, booted with ia32_emulation=0, or a guest that
// refuses it runs no 32-bit program and faults int 0x80, so no process
// there makes a 32-bit call for a recorder to miss. CI allows these skips
// and no other (.ci/run).
const ia32Emulation = "IA-32 emulation in the kernel (CONFIG_IA32_EMULATION, ia32_emulation=)"

// A 32-bit program's calls are numbered from another table: they are
// counted and said once, not dropped in silence.
func TestIA32Counted(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		testcap.Missing(t, "an x86-64 machine, to run 32-bit x86 programs", fmt.Errorf("GOARCH is %s", runtime.GOARCH))
	}
	bin := filepath.Join(t.TempDir(), "ia32")
	if err := os.WriteFile(bin, ia32Program(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(bin).Run(); err != nil {
		testcap.Missing(t, ia32Emulation+" to run a 32-bit program", err)
	}
	cmd := exec.Command(bin)
	evs, _, st, code := recordRun(t, Config{Paths: []string{t.TempDir()}}, cmd)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	var n int
	for _, e := range evs {
		if e.Op == trail.OpUntraced && e.Sys == "ia32" && e.PID == cmd.Process.Pid {
			n++
		}
	}
	if n != 1 || st.Compat < 3 {
		t.Errorf("%d untraced ia32 events for pid %d, %d 32-bit calls counted (want 1, at least 3):\n%s", n, cmd.Process.Pid, st.Compat, dump(evs))
	}
}

// An open is recorded under the name the program passed, and before the
// rename another process makes of the file right after, even when that
// rename lands before the open's exit probe runs. The renamer polls on a
// CPU of its own while the other CPUs are kept busy; with the names read
// from the opened file and every open stamped at its exit, this failed in
// about one run of two or three.
func TestRenameRightAfterOpen(t *testing.T) {
	dir := realTemp(t)
	var stop atomic.Bool
	defer stop.Store(true)
	for range runtime.NumCPU() - 1 {
		go func() { // keeps a CPU busy
			for !stop.Load() {
			}
		}()
	}
	const n = 2000
	self := os.Args[0]
	script := fmt.Sprintf(`"$0" renamer "$1" %d & "$0" opener "$1" %d; wait`, n, n)
	cmd := exec.Command("sh", "-c", script, self, dir)
	cmd.Env = reexec.Environ("io")
	evs, _, st, code := recordRun(t, Config{Paths: []string{dir}}, cmd)
	if code != 0 || st.Lost != 0 {
		t.Fatalf("exit code %d, lost %d", code, st.Lost)
	}
	opens, renames := map[string]*trail.Event{}, map[string]*trail.Event{}
	for i := range evs {
		switch e := &evs[i]; e.Op {
		case trail.OpOpen:
			opens[e.Path] = e
		case trail.OpRename:
			renames[e.Path] = e
		}
	}
	bad := 0
	for i := range n {
		tmp := filepath.Join(dir, "tmp."+strconv.Itoa(i))
		target := filepath.Join(dir, "target."+strconv.Itoa(i))
		o, r := opens[tmp], renames[tmp]
		if opens[target] != nil {
			t.Errorf("open recorded under the name a later rename gave the file: %s", dump([]trail.Event{*opens[target]}))
			bad++
		}
		if o == nil || r == nil || r.To != target {
			t.Errorf("file %d: open %v rename %v", i, o != nil, r != nil)
			bad++
			continue
		}
		if !o.TS.Before(r.TS) {
			t.Errorf("open of %s at %v, not before its rename at %v", tmp, o.TS, r.TS)
			bad++
		}
		if bad > 10 {
			t.Fatal("more than 10 files wrong")
		}
	}
}
