// Package racy has the story's bug and loads fine.
package racy

import (
	"fmt"
	"os"
	"time"
)

func Save(target string, data []byte) error {
	tmp := fmt.Sprintf("%s.%d.tmp", target, time.Now().Unix())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, target)
}
