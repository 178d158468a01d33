package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/reexec"
)

// The test binary re-executes itself as writer, reader and updater
// processes (the modes of runChild): races between processes are what
// this package exists for.
func TestMain(m *testing.M) {
	roles := map[string]func() error{}
	for _, mode := range []string{"writer", "reader", "update", "nolocks", "writeonce", "oldkernel"} {
		roles[mode] = func() error {
			forceNamed = os.Getenv("ATOMICFILE_TEST_NAMED") == "1"
			return runChild(mode, os.Getenv("ATOMICFILE_TEST_PATH"))
		}
	}
	reexec.Main(m, roles)
}

func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

func runChild(mode, path string) error {
	switch mode {
	case "writer": // writes ATOMICFILE_TEST_N versions, forever if 0
		id, n := envInt("ATOMICFILE_TEST_ID"), envInt("ATOMICFILE_TEST_N")
		opts := []Option{Durable}
		if id%2 == 1 {
			opts = []Option{AtomicOnly}
		}
		for seq := 0; n == 0 || seq < n; seq++ {
			if err := WriteFile(path, version(id, seq), 0o644, opts...); err != nil {
				return err
			}
			if seq == 0 && n == 0 {
				fmt.Println("ready") // the killer starts its clock now
			}
		}
	case "reader": // reads until the stop file exists; prints reads and torn reads
		var reads, torn int
		for {
			if _, err := os.Stat(path + ".stop"); err == nil {
				break
			}
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			reads++
			if err := checkVersion(b); err != nil {
				torn++
				fmt.Fprintln(os.Stderr, err)
			}
		}
		fmt.Printf("%d %d\n", reads, torn)
	case "update":
		for range envInt("ATOMICFILE_TEST_N") {
			err := Update(path, func(old []byte) ([]byte, error) {
				n, err := strconv.Atoi(string(old))
				if len(old) > 0 && err != nil {
					return nil, err
				}
				return []byte(strconv.Itoa(n + 1)), nil
			})
			if err != nil {
				return err
			}
		}
	case "nolocks": // replaces where flock fails with ENOLCK, as on NFS without lockd
		if err := denySyscalls(unix.ENOLCK, unix.SYS_FLOCK); err != nil {
			return err
		}
		for _, v := range []string{"one", "two"} {
			if err := WriteFile(path, []byte(v), 0o644); err != nil {
				return err
			}
		}
	case "writeonce": // prints the error of one WriteFile, for other uids
		fmt.Print(WriteFile(path, []byte("intruder"), 0o644))
	case "oldkernel": // creates, replaces and NoClobber-creates without statx and renameat2
		if err := denySyscalls(unix.ENOSYS, unix.SYS_STATX, unix.SYS_RENAMEAT2); err != nil {
			return err
		}
		for _, v := range []string{"one", "two"} {
			if err := WriteFile(path, []byte(v), 0o644); err != nil {
				return err
			}
		}
		if err := WriteFile(path+".new", []byte("new"), 0o644, NoClobber); err != nil {
			return err
		}
		if err := WriteFile(path+".new", []byte("again"), 0o644, NoClobber); !errors.Is(err, ErrExist) {
			return fmt.Errorf("second NoClobber create: %v, want ErrExist", err)
		}
	default:
		return fmt.Errorf("unknown child mode %q", mode)
	}
	return nil
}

// child returns a command running this test binary in mode on path.
func child(t testing.TB, mode, path string, named bool, env ...string) *exec.Cmd {
	n := "0"
	if named {
		n = "1"
	}
	cmd := reexec.Command(t, mode)
	cmd.Env = append(cmd.Env, "ATOMICFILE_TEST_PATH="+path, "ATOMICFILE_TEST_NAMED="+n)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// version returns self-verifying content: a header naming writer, sequence,
// length and checksum, then a body whose length varies from a few bytes to
// 64 KiB so that versions of different lengths overlap if ever spliced.
func version(id, seq int) []byte {
	n := (seq*7919 + id*104729) % (64 << 10)
	body := make([]byte, n)
	x := uint32(id*1000003 + seq + 1)
	for i := range body {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		body[i] = byte(x)
	}
	h := fmt.Sprintf("heisen w=%02d s=%04d n=%06d crc=%08x\n", id, seq, n, crc32.ChecksumIEEE(body))
	return append([]byte(h), body...)
}

func checkVersion(b []byte) error {
	line, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return fmt.Errorf("torn: no header in %d bytes", len(b))
	}
	var id, seq, n int
	var sum uint32
	if _, err := fmt.Sscanf(string(line), "heisen w=%d s=%d n=%d crc=%x", &id, &seq, &n, &sum); err != nil {
		return fmt.Errorf("torn: header %q: %v", line, err)
	}
	if len(body) != n || crc32.ChecksumIEEE(body) != sum {
		return fmt.Errorf("torn: w=%d s=%d: %d bytes, want %d (crc %08x, want %08x)", id, seq, len(body), n, crc32.ChecksumIEEE(body), sum)
	}
	return nil
}

// modes runs f with O_TMPFILE (on Linux) and with the named-temp fallback.
func modes(t *testing.T, f func(t *testing.T, named bool)) {
	for _, named := range []bool{false, true} {
		name := "tmpfile"
		if named {
			name = "named"
		}
		t.Run(name, func(t *testing.T) {
			forceNamed = named
			t.Cleanup(func() { forceNamed = false })
			f(t, named)
		})
	}
}

// names lists dir.
func names(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	for _, e := range entries {
		ns = append(ns, e.Name())
	}
	return ns
}

func waitAll(t *testing.T, cmds []*exec.Cmd) {
	t.Helper()
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("%v: %v", c.Args, err)
		}
	}
}

func TestConcurrentWritersNeverTear(t *testing.T) {
	writers, perWriter, readers := 8, 200, 2
	if testing.Short() {
		perWriter = 50
	}
	modes(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		path := filepath.Join(dir, "target")
		var rs, ws []*exec.Cmd
		var outs []*bytes.Buffer
		for range readers {
			c := child(t, "reader", path, named)
			out := new(bytes.Buffer)
			c.Stdout = out
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			rs, outs = append(rs, c), append(outs, out)
		}
		for id := range writers {
			c := child(t, "writer", path, named, "ATOMICFILE_TEST_ID="+strconv.Itoa(id), "ATOMICFILE_TEST_N="+strconv.Itoa(perWriter))
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			ws = append(ws, c)
		}
		waitAll(t, ws)
		if err := os.WriteFile(path+".stop", nil, 0o644); err != nil {
			t.Fatal(err)
		}
		waitAll(t, rs)
		total := 0
		for _, out := range outs {
			var reads, torn int
			if _, err := fmt.Sscan(out.String(), &reads, &torn); err != nil {
				t.Fatalf("reader output %q: %v", out, err)
			}
			if torn != 0 {
				t.Errorf("%d of %d reads were torn", torn, reads)
			}
			total += reads
		}
		if total == 0 {
			t.Error("readers read nothing: the test proves nothing")
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkVersion(b); err != nil {
			t.Error(err)
		}
		if got := names(t, dir); len(got) != 2 { // target and target.stop
			t.Errorf("directory holds %q, want only the target and the stop file", got)
		}
		t.Logf("%d writers × %d writes, %d reads, none torn", writers, perWriter, total)
	})
}

func TestUpdateLosesNoIncrement(t *testing.T) {
	procs, each := 8, 100
	path := filepath.Join(t.TempDir(), "counter")
	var cmds []*exec.Cmd
	for range procs {
		c := child(t, "update", path, false, "ATOMICFILE_TEST_N="+strconv.Itoa(each))
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	waitAll(t, cmds)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), strconv.Itoa(procs*each); got != want {
		t.Errorf("counter = %s, want %s: updates were lost", got, want)
	}
}

// Writers killed at random moments of their replaces leave the target a
// complete version, and temps that RemoveStaleTemps removes.
func TestKilledWritersLeaveOneCompleteVersion(t *testing.T) {
	kills := map[bool]int{false: 200, true: 60}
	modes(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		path := filepath.Join(dir, "target")
		const parallel = 4
		done := make(chan error, parallel)
		for p := range parallel {
			go func() { done <- killWriters(t, path, named, p, kills[named], parallel) }()
		}
		for range parallel {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("no writer ever committed: %v", err)
		}
		if err := checkVersion(b); err != nil {
			t.Fatal(err)
		}
		litter := checkLitter(t, dir, named)
		time.Sleep(staleAge + 100*time.Millisecond) // RemoveStaleTemps keeps younger temps
		removed, err := RemoveStaleTemps(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(t, dir); len(got) != 1 {
			t.Errorf("after RemoveStaleTemps the directory holds %q", got)
		}
		if len(removed) != litter {
			t.Errorf("RemoveStaleTemps removed %d temps, want %d", len(removed), litter)
		}
		t.Logf("%d kills left %d temps, all removed", kills[named], len(removed))
	})
}

// killWriters starts writers k = first, first+step, … below kills one
// after the other, kills each at a random moment of its next few replaces
// once it has committed a first version, and checks the target after
// every kill.
func killWriters(t *testing.T, path string, named bool, first, kills, step int) error {
	for k := first; k < kills; k += step {
		c := child(t, "writer", path, named, "ATOMICFILE_TEST_ID="+strconv.Itoa(k%100))
		out, err := c.StdoutPipe()
		if err != nil {
			return err
		}
		if err := c.Start(); err != nil {
			return err
		}
		if _, err := io.ReadFull(out, make([]byte, len("ready\n"))); err != nil {
			c.Process.Kill()
			c.Wait()
			return fmt.Errorf("writer %d never committed: %v", k, err)
		}
		time.Sleep(time.Duration(rand.Int64N(int64(5 * time.Millisecond)))) // a random moment to kill at, not a wait
		c.Process.Kill()
		c.Wait()
		if b, err := os.ReadFile(path); err == nil {
			if err := checkVersion(b); err != nil {
				return fmt.Errorf("after kill %d: %v", k, err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// checkLitter counts the temps killed writers left in dir: a writer killed
// while its temp has a name leaves it behind (a named temp from creation
// to rename, an O_TMPFILE only between linkat and rename, and then always
// complete). Any other file is an error.
func checkLitter(t *testing.T, dir string, named bool) int {
	var litter int
	for _, n := range names(t, dir) {
		switch {
		case n == "target":
		case !isTempOf(n, "target"):
			t.Errorf("unexpected file %q", n)
		default:
			litter++
			if named {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			if err := checkVersion(b); err != nil {
				t.Errorf("O_TMPFILE temp %s is not a complete version: %v", n, err)
			}
		}
	}
	return litter
}

// denySyscalls makes every thread of the process get errno from the system
// calls nrs, as on a kernel or file system that lacks them.
func denySyscalls(errno unix.Errno, nrs ...uint32) error {
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	prog := []unix.SockFilter{{Code: ld, K: 0}} // seccomp_data.nr
	for _, nr := range nrs {
		prog = append(prog,
			unix.SockFilter{Code: jeq, K: nr, Jf: 1},
			unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(errno)})
	}
	prog = append(prog, unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW})
	// no_new_privs belongs to a thread, and seccomp checks the calling
	// thread's: both calls must run on one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
