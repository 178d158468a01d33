// Package racy replaces a file the way the story's worker did.
package racy

import (
	"fmt"
	"os"
	"time"
)

// Save writes data to target through a temp file named from the clock.
func Save(target string, data []byte) error {
	tmp := fmt.Sprintf("%s.%d.tmp", target, time.Now().Unix())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, target)
}
