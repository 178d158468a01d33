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
		"racy.go:16:9: unsynced-rename: tmp (written at line 13) is renamed over target but os.WriteFile never syncs",
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

// TestFactsAcrossPackages checks, on vet's helper module, that the origin
// of a name built in one package reaches the package that creates the
// file, under go vet (which passes facts between separate heisen-vet
// processes) and standalone.
func TestFactsAcrossPackages(t *testing.T) {
	bin := heisenVet(t)
	want := "store.go:13:12: predictable-temp: temp file tmp is created and then renamed over target without O_EXCL; its name is built from the clock"
	for _, args := range [][]string{{"go", "vet", "-vettool=" + bin, "./..."}, {bin, "./..."}} {
		out, code := run(t, "../../vet/testdata/helper", args[0], args[1:]...)
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("%v: exit code %d, output:\n%s\nwant a failure with %q", args, code, out, want)
		}
	}
}

// TestFix applies the suggested fixes standalone and checks the file
// changed as the fix says: O_EXCL on a clock-named temp file.
func TestFix(t *testing.T) {
	bin := heisenVet(t)
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
	dir, out, code := fixModule(t, bin, src)
	got := fixedFile(t, dir, out, code)
	if want := "os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)"; !strings.Contains(got, want) {
		t.Fatalf("after -fix the file lacks %q:\n%s", want, got)
	}
	if out, code := run(t, dir, bin, "./..."); code != 0 {
		t.Errorf("after -fix: exit code %d, want 0 (fixed)\n%s", code, out)
	}
}

// fixModule writes src as fixme.go of a module in a new directory and
// runs heisen-vet -fix there, returning the directory, the output and the
// exit code.
func fixModule(t *testing.T, bin, src string) (dir, out string, code int) {
	t.Helper()
	dir = t.TempDir()
	for name, body := range map[string]string{"go.mod": "module example.com/fixme\n\ngo 1.26\n", "fixme.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, code = run(t, dir, bin, "-fix", "./...")
	return dir, out, code
}

// fixedFile fails t unless -fix ended with 0 (all fixed) or 3 (findings
// left), and returns fixme.go as -fix left it in dir.
func fixedFile(t *testing.T, dir, out string, code int) string {
	t.Helper()
	if code != 0 && code != 3 {
		t.Fatalf("heisen-vet -fix: exit code %d\n%s", code, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "fixme.go"))
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}

// TestFixSyncOnSuccessPath applies the Sync fix where a Close also sits in
// the write's error branch: the Sync goes before the Close that precedes
// the rename, never into the error branch, and vetting the fixed file again
// reports nothing.
func TestFixSyncOnSuccessPath(t *testing.T) {
	bin := heisenVet(t)
	src := `package fixme

import (
	"os"
	"path/filepath"
)

func Save(target string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(target), ".tmp")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target)
}
`
	want := `	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
`
	dir, out, code := fixModule(t, bin, src)
	got := fixedFile(t, dir, out, code)
	if !strings.Contains(got, want) {
		t.Fatalf("after -fix the file lacks the Sync on the success path:\n%s\nwant it to contain:\n%s", got, want)
	}
	if out, code := run(t, dir, bin, "./..."); code != 0 {
		t.Errorf("after -fix: exit code %d, want 0 (fixed)\n%s", code, out)
	}
}

// TestFixSaysWhat applies the fixes to a file with two fixable findings
// and two that have no automatic fix (a fixed-suffix temp written by
// os.WriteFile), and checks what -fix says: each change at its place in
// the fixed file with the fix, each finding left with its place after the
// fixes, a count, and exit code 3 because findings remain. Vetting the
// fixed file reports the two left at the places -fix gave.
func TestFixSaysWhat(t *testing.T) {
	bin := heisenVet(t)
	src := `package fixme

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func Save(target string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(target), ".tmp")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target)
}

func SaveClock(target string) error {
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

func SaveWhole(target string, data []byte) error {
	tmp := target + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, target)
}
`
	dir, out, code := fixModule(t, bin, src)
	wants := []string{
		"fixme.go:26:9: fixed unsynced-rename: Sync the file before closing it\n",
		"fixme.go:31:12: fixed predictable-temp: Open with O_EXCL so a second writer fails instead of trampling the first\n",
		"fixme.go:44:12: no automatic fix: predictable-temp: temp file tmp is created and then renamed over target without O_EXCL",
		"fixme.go:47:9: no automatic fix: unsynced-rename: tmp (written at line 40) is renamed over target but os.WriteFile never syncs",
		"heisen-vet: fixed 2 findings in 1 file; 2 findings left as they were\n",
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("heisen-vet -fix output lacks %q:\n%s", want, out)
		}
	}
	if code != 3 {
		t.Errorf("heisen-vet -fix: exit code %d, want 3 (findings left)\n%s", code, out)
	}
	out, code = run(t, dir, bin, "./...")
	for _, want := range []string{"fixme.go:44:12: predictable-temp: ", "fixme.go:47:9: unsynced-rename: "} {
		if !strings.Contains(out, want) {
			t.Errorf("vet after -fix lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "fixme.go:"); n != 2 || code != 3 {
		t.Errorf("vet after -fix: exit code %d and %d findings, want 3 and the 2 left:\n%s", code, n, out)
	}
}
