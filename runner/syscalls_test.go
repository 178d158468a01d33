package runner

import (
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Syscalls names system calls and groups; left empty it is the file group.
func TestSyscalls(t *testing.T) {
	numbers := func(list string) ([]int, error) {
		cfg := Config{Command: []string{"true"}, Syscalls: list}
		return cfg.complete()
	}
	nrs, err := numbers("")
	if err != nil {
		t.Fatal(err)
	}
	for _, nr := range []int{unix.SYS_OPENAT, unix.SYS_RENAMEAT2, unix.SYS_FSYNC} {
		if !slices.Contains(nrs, nr) {
			t.Errorf(`the default Syscalls = %v, lacks %d`, nrs, nr)
		}
	}
	nrs, err = numbers("fsync, fsync,write")
	if err != nil || !slices.Equal(nrs, []int{unix.SYS_WRITE, unix.SYS_FSYNC}) && !slices.Equal(nrs, []int{unix.SYS_FSYNC, unix.SYS_WRITE}) {
		t.Errorf(`Syscalls "fsync, fsync,write" = %v, %v`, nrs, err)
	}
	if _, err := numbers("write,nosuchcall"); err == nil || !strings.Contains(err.Error(), `"nosuchcall"`) {
		t.Errorf(`Syscalls "write,nosuchcall" error %v, want one naming nosuchcall`, err)
	}
}

// The runner, not its callers, owns the defaults of the fields left zero.
func TestDefaults(t *testing.T) {
	cfg := Config{Command: []string{"true"}}
	if _, err := cfg.complete(); err != nil {
		t.Fatal(err)
	}
	if cfg.Runs != DefaultRuns || cfg.Timeout != DefaultTimeout || cfg.Parallel != 1 || cfg.Syscalls != DefaultSyscalls ||
		len(cfg.Perturbations) != 1 || cfg.Perturbations[0].Kind != None || cfg.Env == nil {
		t.Errorf("defaults: runs %d, timeout %v, parallel %d, syscalls %q, perturbations %v, env set %v",
			cfg.Runs, cfg.Timeout, cfg.Parallel, cfg.Syscalls, cfg.Perturbations, cfg.Env != nil)
	}
	cfg = Config{Command: []string{"true"}, Duration: time.Second}
	if _, err := cfg.complete(); err != nil || cfg.Runs != 0 {
		t.Errorf("with a Duration, Runs = %d (%v); want 0, no cap", cfg.Runs, err)
	}
}
