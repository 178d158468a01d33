package stress

import (
	"os"
	"testing"

	"github.com/heisen-dev/heisen/internal/reexec"
)

// TestMain makes the test binary its own worker: Run re-executes it as a
// "worker", so tests use real processes as heisen stress does.
func TestMain(m *testing.M) {
	reexec.Main(m, map[string]func() error{
		"worker": func() error {
			os.Exit(WorkerMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
			return nil
		},
	})
}

// testSelf starts workers from this test binary.
func testSelf(t testing.TB) Exec {
	exe := reexec.Self(t)
	return Exec{Path: exe, Args: []string{exe}, Env: []string{reexec.Env + "=worker"}}
}
