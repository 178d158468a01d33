package crossdev

import (
	"errors"
	"log"
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

// A probe of whether a rename from the temp directory works, falling back
// on failure (the shape of renameio v2.0.2's tempDir): the error is tested
// and dropped, so EXDEV is expected and handled. Quiet.
func probe(dest string) string { // want probe:`name\(tempdir\)`
	tmp := os.TempDir()
	src, err := os.CreateTemp(tmp, "probe")
	if err != nil {
		return filepath.Dir(dest)
	}
	src.Close()
	if err := os.Rename(src.Name(), dest+".probe"); err != nil {
		return filepath.Dir(dest)
	}
	return tmp
}

// The near-miss: the rename's error is tested, then returned. Reported.
func testedAndReturned(dest string, data []byte) error {
	f, err := os.CreateTemp("", "out") // want `cross-device-temp`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	if err := os.Rename(f.Name(), dest); err != nil {
		return err
	}
	return nil
}

// Ignored is not handled: reported.
func ignored(dest string) {
	f, err := os.CreateTemp("", "out") // want `cross-device-temp`
	if err != nil {
		return
	}
	f.Sync()
	f.Close()
	os.Rename(f.Name(), dest)
}

// Near-miss: the error is tested and dropped, but the failure branch
// fails in turn, with an error of its own. Reported.
func testedThenFails(dest string) error {
	f, err := os.CreateTemp("", "out") // want `cross-device-temp`
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	if err := os.Rename(f.Name(), dest); err != nil {
		return errors.New("cannot install the new file")
	}
	return nil
}

// Near-miss: the failure branch exits. Reported.
func testedThenExits(dest string) {
	f, err := os.CreateTemp("", "out") // want `cross-device-temp`
	if err != nil {
		return
	}
	f.Sync()
	f.Close()
	if os.Rename(f.Name(), dest) != nil {
		log.Fatal("cannot install the new file")
	}
}
