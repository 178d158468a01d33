package ptrace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// shimEnv carries the filter's syscall numbers to the re-executed binary.
// Its presence turns any binary importing this package into the shim.
const shimEnv = "HEISEN_PTRACE_SHIM"

// shimSyncFD is the pipe the shim reads one byte from once it is traced.
const shimSyncFD = 3

func init() {
	spec, ok := os.LookupEnv(shimEnv)
	if !ok {
		return
	}
	// init runs on the main thread (tid == pid, the thread the tracer
	// seized); stay on it until execve.
	runtime.LockOSThread()
	err := shim(spec, os.Args[1:])
	fmt.Fprintf(os.Stderr, "heisen ptrace shim: %v\n", err)
	os.Exit(127)
}

// shim waits to be traced, installs the filter and execs args[0] with argv
// args[1:]. It returns only on failure.
func shim(spec string, args []string) error {
	if len(args) < 2 {
		return errors.New("missing target")
	}
	var nrs []int
	for _, f := range strings.Split(spec, ",") {
		nr, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("bad %s=%q: %w", shimEnv, spec, err)
		}
		nrs = append(nrs, nr)
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, shimEnv+"=") {
			env = append(env, kv)
		}
	}
	var b [1]byte
	if _, err := unix.Read(shimSyncFD, b[:]); err != nil {
		return fmt.Errorf("waiting for the tracer: %w", err)
	}
	// Closed before the filter exists: close may be one of the traced calls.
	unix.Close(shimSyncFD)
	if err := installFilter(nrs); err != nil {
		return err
	}
	err := unix.Exec(args[0], args[1:], env)
	return fmt.Errorf("exec %s: %w", args[0], err)
}

// installFilter installs, on the calling thread, a seccomp filter that
// returns SECCOMP_RET_TRACE for the syscalls nrs of the native architecture
// and SECCOMP_RET_ALLOW for everything else.
func installFilter(nrs []int) error {
	prog := filter(nrs)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	seccomp := func() error {
		_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
		if e != 0 {
			return e
		}
		return nil
	}
	err := seccomp()
	if errors.Is(err, unix.EACCES) {
		// Without CAP_SYS_ADMIN the kernel requires no_new_privs.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", err)
		}
		err = seccomp()
	}
	if err != nil {
		return fmt.Errorf("seccomp SET_MODE_FILTER: %w", err)
	}
	return nil
}

// filter is the classic-BPF program:
//
//	ld arch; jne auditArch -> allow
//	ld nr; jeq nr[i] -> trace (for each i)
//	allow: ret ALLOW
//	trace: ret TRACE
func filter(nrs []int) []unix.SockFilter {
	const (
		offNr   = 0 // offsetof(struct seccomp_data, nr)
		offArch = 4 // offsetof(struct seccomp_data, arch)
		ldAbs   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq     = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret     = unix.BPF_RET | unix.BPF_K
	)
	n := len(nrs)
	p := []unix.SockFilter{
		{Code: ldAbs, K: offArch},
		{Code: jeq, Jt: 0, Jf: uint8(n + 1), K: auditArch},
		{Code: ldAbs, K: offNr},
	}
	for i, nr := range nrs {
		p = append(p, unix.SockFilter{Code: jeq, Jt: uint8(n - i), Jf: 0, K: uint32(nr)})
	}
	return append(p,
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_TRACE},
	)
}
