// Package reexec lets a test binary run copies of itself as child
// processes that play a role (a writer, a recorded program, a mount
// helper), so that tests race real processes: TestMain hands Main the
// roles, and a test starts a child with Command, or with Environ when it
// builds the command itself. One environment variable, Env, names the
// role; a child's parameters travel as its arguments or in variables of
// the test's own. For tests only.
package reexec

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Env is the environment variable that names the role a re-executed test
// binary plays.
const Env = "HEISEN_TEST_ROLE"

// Main is the body of TestMain: when Env names one of roles, the binary
// plays it and exits, 0 when the role returns nil and 1 (having printed
// the error) when it fails; a role that needs another status exits
// itself. Otherwise Main runs the tests. A role not in roles exits 2.
func Main(m *testing.M, roles map[string]func() error) {
	role := os.Getenv(Env)
	if role == "" {
		os.Exit(m.Run())
	}
	play, ok := roles[role]
	if !ok {
		names := slices.Sorted(maps.Keys(roles))
		fmt.Fprintf(os.Stderr, "reexec: unknown role %q (want one of %s)\n", role, strings.Join(names, ", "))
		os.Exit(2)
	}
	if err := play(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Self returns the path of the running test binary, failing t when the
// system cannot say.
func Self(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("reexec: %v", err)
	}
	return exe
}

// Environ returns this process's environment with Env set to role and
// extra ("NAME=value") appended: the environment of a child that plays
// role.
func Environ(role string, extra ...string) []string {
	return append(append(os.Environ(), Env+"="+role), extra...)
}

// Command returns a command that runs this test binary with args as a
// child playing role, its stderr the test's.
func Command(t testing.TB, role string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(Self(t), args...)
	cmd.Env = Environ(role)
	cmd.Stderr = os.Stderr
	return cmd
}
