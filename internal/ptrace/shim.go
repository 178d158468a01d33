package ptrace

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// shimEnv carries the filter's filterSpec, as JSON, to the re-executed binary.
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
	var fs filterSpec
	if err := json.Unmarshal([]byte(spec), &fs); err != nil {
		return fmt.Errorf("bad %s=%q: %w", shimEnv, spec, err)
	}
	prog, err := filter(&fs)
	if err != nil {
		return err
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
	if err := installFilter(prog); err != nil {
		return err
	}
	err = unix.Exec(args[0], args[1:], env)
	return fmt.Errorf("exec %s: %w", args[0], err)
}
