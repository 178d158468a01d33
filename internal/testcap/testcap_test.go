package testcap

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// skipRecorder is a testing.TB whose Skipf records the message instead of
// ending a test.
type skipRecorder struct {
	testing.TB
	msg     string
	skipped bool
}

func (s *skipRecorder) Helper() {}

func (s *skipRecorder) Skipf(format string, args ...any) {
	s.skipped = true
	s.msg = fmt.Sprintf(format, args...)
}

func TestRootSkipsOnlyOthers(t *testing.T) {
	r := &skipRecorder{TB: t}
	Root(r, "mount a tmpfs (CAP_SYS_ADMIN)")
	if root := os.Geteuid() == 0; r.skipped == root {
		t.Fatalf("euid %d: skipped = %v", os.Geteuid(), r.skipped)
	}
	if r.skipped && !strings.HasPrefix(r.msg, "needs root to mount a tmpfs (CAP_SYS_ADMIN); running as uid ") {
		t.Errorf("skip message %q does not name the capability", r.msg)
	}
}

func TestMissingNamesCapabilityAndCause(t *testing.T) {
	r := &skipRecorder{TB: t}
	Missing(r, "strace (Debian package strace)", errors.New(`exec: "strace": executable file not found in $PATH`))
	if want := `needs strace (Debian package strace): exec: "strace": executable file not found in $PATH`; !r.skipped || r.msg != want {
		t.Errorf("skipped %v with %q, want %q", r.skipped, r.msg, want)
	}
}
