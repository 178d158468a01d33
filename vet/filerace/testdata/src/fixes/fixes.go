package fixes

import (
	"fmt"
	"os"
	"time"
)

func clockCreate(target string) error {
	tmp := fmt.Sprintf("%s.%d", target, time.Now().UnixNano())
	f, err := os.Create(tmp) // want `predictable-temp`
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

func clockOpenFile(target string) error {
	tmp := fmt.Sprintf("%s.%d", target, time.Now().Unix())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // want `predictable-temp`
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

func inSystemTemp(target string, data []byte) error {
	f, err := os.CreateTemp("", "x-*") // want `cross-device-temp`
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target) // want `unsynced-rename`
}
