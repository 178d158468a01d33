package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/crash/capture"
	"github.com/heisen-dev/heisen/record"
)

// TestMain lets the scripts in testdata/script run the real heisen binary:
// testscript re-executes this test binary as "heisen".
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"heisen":     main,
		"savewriter": saveWriter,
	})
}

func TestScripts(t *testing.T) {
	// The scripts' HOME is /no-home; the go command that heisen vet runs
	// shares the real build cache instead of one under it, which a root
	// user would create for all scripts at once and others could not.
	// Its telemetry goes under a HOME in the script's directory (a dot
	// name, which ./... patterns skip) for the same reason.
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// Scripts must not depend on the developer's terminal or colours.
			env.Setenv("NO_COLOR", "1")
			env.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
			home := filepath.Join(env.WorkDir, ".home")
			if err := os.Mkdir(home, 0o755); err != nil {
				return err
			}
			env.Setenv("HOME", home)
			return nil
		},
		Condition: scriptCondition,
		Cmds:      map[string]func(*testscript.TestScript, bool, []string){"mount-tmpfs": mountTmpfs},
	})
}

// scriptCondition adds the conditions [root] (euid 0), [ebpf] (the eBPF
// recorder loads here) and [fuse] (heisen crash can mount: root and
// /dev/fuse).
func scriptCondition(cond string) (bool, error) {
	switch cond {
	case "root":
		return os.Geteuid() == 0, nil
	case "ebpf":
		return ebpfWorks(), nil
	case "fuse":
		return capture.Check() == nil, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

var ebpfWorks = sync.OnceValue(func() bool {
	r, err := record.New(record.Config{})
	if err != nil {
		return false
	}
	r.Close()
	return true
})

// mountTmpfs is "mount-tmpfs DIR SIZE": a tmpfs of SIZE (mount's size=
// syntax) on DIR, created under $WORK, unmounted when the script ends.
func mountTmpfs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mount-tmpfs DIR SIZE")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+args[1]); err != nil {
		ts.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	ts.Defer(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			ts.Logf("unmount %s: %v", dir, err)
		}
	})
}

func TestRunNoArgsIsUsage(t *testing.T) {
	var out, errb strings.Builder
	if code := run(context.Background(), nil, &out, &errb); code != exitUsage {
		t.Fatalf("run() = %d, want %d", code, exitUsage)
	}
	if errb.Len() == 0 {
		t.Fatal("run() printed no usage to stderr")
	}
}
