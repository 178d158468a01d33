package stress

import (
	"os"
	"testing"
)

// TestMain makes the test binary its own worker: Run re-executes it with
// WorkerEnv set, so tests use real processes as heisen stress does.
func TestMain(m *testing.M) {
	if os.Getenv(WorkerEnv) == "1" {
		os.Exit(WorkerMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// testSelf starts workers from this test binary.
func testSelf(t testing.TB) Exec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Exec{Path: exe, Args: []string{exe}, Env: []string{WorkerEnv + "=1"}}
}
