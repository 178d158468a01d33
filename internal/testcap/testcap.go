// Package testcap lets a test that needs a capability this machine may
// lack skip, saying which capability and what showed it missing, so that a
// skipped test never passes for one that ran. CI runs every test as root
// on a machine with all of them, where any skip fails the build; as
// another user the same tests skip and say why.
package testcap

import (
	"os"
	"testing"
)

// Root skips t unless the test runs as root; what says what the test does
// that only root may, e.g. "mount a tmpfs (CAP_SYS_ADMIN)".
func Root(t testing.TB, what string) {
	t.Helper()
	if uid := os.Geteuid(); uid != 0 {
		t.Skipf("needs root to %s; running as uid %d", what, uid)
	}
}

// Missing skips t because capability is missing here, as err showed: a
// refused mount, a program not installed, eBPF unavailable.
func Missing(t testing.TB, capability string, err error) {
	t.Helper()
	t.Skipf("needs %s: %v", capability, err)
}
