// Package clean replaces a file safely by hand.
package clean

import (
	"os"
	"path/filepath"
)

// Save writes data to a temp file in target's directory, syncs it and
// renames it over target.
func Save(target string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(target), filepath.Base(target)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target)
}
