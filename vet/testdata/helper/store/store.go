// Package store saves through a temp name from package tmpname.
package store

import (
	"os"

	"example.com/helper/tmpname"
)

// Save replaces target with data.
func Save(target string, data []byte) error {
	tmp := tmpname.For(target)
	f, err := os.Create(tmp)
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
	return os.Rename(tmp, target)
}
