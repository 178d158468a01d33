// Package mod replaces a file the way the story's worker did.
package mod

import (
	"fmt"
	"os"
	"time"
)

// Save writes data to target through a temp file named from the clock.
func Save(target string, data []byte) error {
	tmp := fmt.Sprintf("%s.%d.tmp", target, time.Now().UnixNano())
	f, err := os.Create(tmp)
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
	return os.Rename(tmp, target)
}
