package main_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// heisenVet builds the command once per test binary.
func heisenVet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "heisen-vet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// run runs name in dir and returns its combined output and exit code.
func run(t *testing.T, dir, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// TestDrivers runs the built binary for real, under go vet -vettool
// (unitchecker) and standalone (singlechecker), on a racy module and a
// clean one.
func TestDrivers(t *testing.T) {
	bin := heisenVet(t)
	racy, err := filepath.Abs("../../vet/testdata/racy")
	if err != nil {
		t.Fatal(err)
	}
	wants := []string{
		"racy.go:13:12: predictable-temp: temp file tmp is created and then renamed over target without O_EXCL; its name is built from the clock",
		"racy.go:16:9: rename-without-sync: tmp (written at line 13) is renamed over target but os.WriteFile never syncs",
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"go vet", []string{"go", "vet", "-vettool=" + bin, "./..."}, 1},
		{"standalone", []string{bin, "./..."}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := run(t, racy, tc.args[0], tc.args[1:]...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\n%s", code, tc.wantCode, out)
			}
			for _, w := range wants {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			out, code = run(t, "testdata/clean", tc.args[0], tc.args[1:]...)
			if code != 0 || out != "" {
				t.Errorf("on a clean module: exit code %d, output %q; want 0 and nothing", code, out)
			}
		})
	}
}

// TestFactsAcrossPackages checks that the origin of a name built in one
// package reaches the package that creates the file, under go vet (which
// passes facts between separate heisen-vet processes) and standalone.
func TestFactsAcrossPackages(t *testing.T) {
	bin := heisenVet(t)
	want := "store.go:13:12: predictable-temp: temp file tmp is created and then renamed over target without O_EXCL; its name is built from the clock"
	for _, args := range [][]string{{"go", "vet", "-vettool=" + bin, "./..."}, {bin, "./..."}} {
		out, code := run(t, "testdata/helper", args[0], args[1:]...)
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("%v: exit code %d, output:\n%s\nwant a failure with %q", args, code, out, want)
		}
	}
}

// TestFix applies the suggested fixes standalone and checks the file
// changed as the fix says: O_EXCL on a clock-named temp file.
func TestFix(t *testing.T) {
	bin := heisenVet(t)
	dir := t.TempDir()
	src := `package fixme

import (
	"fmt"
	"os"
	"time"
)

func Save(target string) error {
	tmp := fmt.Sprintf("%s.%d", target, time.Now().UnixNano())
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	f.Close()
	return os.Rename(tmp, target)
}
`
	for name, body := range map[string]string{"go.mod": "module example.com/fixme\n\ngo 1.26\n", "fixme.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, code := run(t, dir, bin, "-fix", "./...")
	if code != 0 && code != 3 {
		t.Fatalf("heisen-vet -fix: exit code %d\n%s", code, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "fixme.go"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)"; !strings.Contains(string(got), want) {
		t.Fatalf("after -fix the file lacks %q:\n%s", want, got)
	}
	if out, code := run(t, dir, bin, "./..."); code != 0 {
		t.Errorf("after -fix: exit code %d, want 0 (fixed)\n%s", code, out)
	}
}
