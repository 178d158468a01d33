package syncs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

func noSync(target string, v any) error {
	f, err := os.CreateTemp(filepath.Dir(target), ".tmp")
	if err != nil {
		return err
	}
	if err := json.NewEncoder(f).Encode(v); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target) // want `rename-without-sync: the temp file \(written at line 12\) is renamed over target with no Sync on some path`
}

// Sync only on one branch: the other path renames unsynced data.
func syncSometimes(target string, durable bool) error {
	f, err := os.CreateTemp(filepath.Dir(target), ".tmp")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "data")
	w.Flush()
	if durable {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	f.Close()
	return os.Rename(f.Name(), target) // want `rename-without-sync`
}

// Synced on every path: quiet.
func syncAlways(target string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(target), ".tmp")
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
	return os.Rename(f.Name(), target)
}

// Renaming a file that is not the one written is not this pattern.
func renameOther(a, b string) error { // want renameOther:`wrapper\(create 0, write 0, rename 2 to 1\)`
	f, err := os.Create(a)
	if err != nil {
		return err
	}
	f.Write([]byte("x"))
	f.Close()
	return os.Rename(b, a)
}

// A file that escapes into a struct might be synced elsewhere: quiet.
type holder struct{ f *os.File }

func escapes(target string, h *holder) error {
	f, err := os.CreateTemp(filepath.Dir(target), ".tmp")
	if err != nil {
		return err
	}
	f.Write([]byte("x"))
	h.f = f
	f.Close()
	return os.Rename(f.Name(), target)
}
