// Package user imports the broken package and uses only what of it loads.
package user

import (
	"os"
	"path/filepath"

	"example.com/partial/broken"
)

func Save(data []byte) error {
	target := filepath.Join(broken.Dir, "state")
	f, err := os.Create(target + ".tmp")
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(target+".tmp", target)
}
