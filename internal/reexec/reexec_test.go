package reexec

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	Main(m, map[string]func() error{
		"echo": func() error {
			_, err := os.Stdout.WriteString(strings.Join(os.Args[1:], " ") + " " + os.Getenv("REEXEC_TEST_EXTRA"))
			return err
		},
		"fail": func() error { return errors.New("failed on purpose") },
	})
}

// A child plays the role Command names, with its arguments.
func TestCommand(t *testing.T) {
	cmd := Command(t, "echo", "a", "b")
	cmd.Env = append(cmd.Env, "REEXEC_TEST_EXTRA=c")
	out, err := cmd.Output()
	if err != nil || string(out) != "a b c" {
		t.Fatalf("echo child: %q, %v; want %q", out, err, "a b c")
	}
}

// A role's error is the child's stderr and exit status 1; a role nobody
// registered exits 2 naming the roles there are.
func TestFailures(t *testing.T) {
	for _, c := range []struct {
		role, stderr string
		code         int
	}{
		{"fail", "failed on purpose", 1},
		{"nosuchrole", `unknown role "nosuchrole" (want one of echo, fail)`, 2},
	} {
		cmd := exec.Command(Self(t))
		cmd.Env = Environ(c.role)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != c.code || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("role %s: %v, stderr %q; want exit %d and %q", c.role, err, stderr.String(), c.code, c.stderr)
		}
	}
}
