package racy

import (
	"fmt"
	"os"
	"time"
)

func Save(target string, data []byte) error {
	tmp := fmt.Sprintf("%s.%d.tmp", target, time.Now().Unix())
	if err := os.WriteFile(tmp, data, 0o644); err != nil { // want `predictable-temp: temp file tmp is created and then renamed over target`
		return err
	}
	return os.Rename(tmp, target) // want `unsynced-rename: tmp \(written at line 11\)`
}
