// Package mod has one of each of heisen vet's Go findings, for comparing
// the golangci-lint plugin with heisen vet.
package mod

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Save replaces target through a temp file named from the clock.
func Save(target string, data []byte) error {
	tmp := fmt.Sprintf("%s.%d.tmp", target, time.Now().Unix())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, target)
}

// Publish makes its temp file in the system temp directory.
func Publish(target string, data []byte) error {
	f, err := os.CreateTemp("", "publish")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(target))
}

// Bump rewrites the counter in place while reading it.
func Bump(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '1'), 0o644)
}
