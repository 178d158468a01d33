package inplace

import (
	"fmt"
	"os"
)

type Config struct {
	path string
	data []byte
}

func (c *Config) Load() error {
	b, err := os.ReadFile(c.path)
	c.data = b
	return err
}

func (c *Config) Save() error {
	return os.WriteFile(c.path, c.data, 0o644) // want `in-place-rewrite: os.WriteFile truncates c.path in place, and this package also reads it`
}

const stateFile = "state.json"

func readState() ([]byte, error) { return os.ReadFile(stateFile) }

func writeState(b []byte) error {
	f, err := os.Create(stateFile) // want `in-place-rewrite: os.Create truncates stateFile`
	if err != nil {
		return err
	}
	f.Write(b)
	return f.Close()
}

// Read-modify-write in one function.
func bump(path string) error { // want bump:`wrapper\(create 0, write 1, rename 0 to 0\)`
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '!'), 0o644) // want `in-place-rewrite`
}

// Written but never read by this package: quiet.
func export(out string, b []byte) error { return os.WriteFile(out, b, 0o644) } // want export:`wrapper\(create 0, write 1, rename 0 to 0\)`

// Read, and written elsewhere: different names, quiet.
func copyTo(in, out string) error { // want copyTo:`wrapper\(create 0, write 2, rename 0 to 0\)`
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

// Like fzf's history file: the constructor reads the path it keeps in a
// field, a method rewrites it in place; the path is also captured by a
// closure, which moves it to the heap.
type History struct {
	path  string
	lines []byte
}

func NewHistory(path string) (*History, error) {
	fail := func(err error) error { return fmt.Errorf("history %s: %w", path, err) }
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		if err := os.WriteFile(path, nil, 0o600); err != nil { // want `in-place-rewrite: os.WriteFile truncates path`
			return nil, fail(err)
		}
	} else if err != nil {
		return nil, fail(err)
	}
	return &History{path: path, lines: data}, nil
}

func (h *History) append(line string) error {
	h.lines = append(h.lines, line...)
	return os.WriteFile(h.path, h.lines, 0o600) // want `in-place-rewrite: os.WriteFile truncates h.path`
}

// A field that holds many different files (cmd/go's Action.Target): a read
// through it and a write through it need not be of the same file.
type action struct{ target string }

func plan(dir string) []*action {
	return []*action{{target: dir + "/a.out"}, {target: dir + "/shlibname"}}
}

func (a *action) cache() ([]byte, error) { return os.ReadFile(a.target) }

func (a *action) install(data []byte) error { return os.WriteFile(a.target, data, 0o644) }

// A whole-file write through a helper, of a file this package reads.
func rewrite(path string) error { // want rewrite:`wrapper\(create 0, write 1, rename 0 to 0\)`
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return export(path, b) // want `in-place-rewrite: inplace.export truncates path in place`
}

const versionFile = "cmd/app/version.go"

// Like restic's prepare-release helper: a function that reads a file and
// writes it back in place, called with a constant. Reported in the helper;
// the calls pass the same rewrite on and are not reported again.
func replaceIn(path, to string) { // want replaceIn:`wrapper\(create 0, write 1, rename 0 to 0\)`
	b, _ := os.ReadFile(path)
	os.WriteFile(path, append(b, to...), 0o644) // want `in-place-rewrite`
}

func bumpVersion() {
	replaceIn(versionFile, "v2")
	replaceIn(versionFile, "v2-dev")
}
