package crossdev

import (
	"os"
	"path/filepath"
)

func createTempEmptyDir(target string, data []byte) error {
	f, err := os.CreateTemp("", "cfg-*") // want `cross-device-temp: the temp file is made in the system temp directory and renamed to target`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(f.Name(), target)
}

func tempDirJoin(name, target string) error {
	tmp := filepath.Join(os.TempDir(), name)
	f, err := os.Create(tmp) // want `cross-device-temp`
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

// Renamed within the temp directory: same file system, quiet.
func staysInTemp(data []byte) error {
	f, err := os.CreateTemp(os.TempDir(), "a-*")
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(f.Name(), filepath.Join(os.TempDir(), "b"))
}

// In the target's directory: quiet.
func targetDir(target string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(target), "a-*")
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(f.Name(), target)
}
