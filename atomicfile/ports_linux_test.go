package atomicfile

import (
	"github.com/heisen-dev/heisen/internal/testcap"
	"os"
	"os/exec"
	"testing"
)

// TestBuildsOnOtherLinuxPorts compiles the package for ports whose system
// call tables and struct layouts differ from this machine's: riscv64 and
// loong64 have no renameat, and 32-bit ports have an int32 statfs type.
func TestBuildsOnOtherLinuxPorts(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		testcap.Missing(t, "the go command, to cross-compile with", err)
	}
	for _, arch := range []string{"386", "arm", "riscv64", "loong64", "s390x"} {
		cmd := exec.Command(gobin, "vet", ".")
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOARCH=%s go vet: %v\n%s", arch, err, out)
		}
	}
}
