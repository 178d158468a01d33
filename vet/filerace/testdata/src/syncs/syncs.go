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
	return os.Rename(f.Name(), target) // want `unsynced-rename: the temp file \(written at line 12\) is renamed over target with no Sync on some path`
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
	return os.Rename(f.Name(), target) // want `unsynced-rename`
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

// The near-miss of etcd's shape: an error check that does not cut the
// unsynced path. Here the Sync runs only when the write failed.
func syncOnFailure(target string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(target), "x")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err != nil {
		f.Sync()
	}
	f.Close()
	return os.Rename(f.Name(), target) // want `unsynced-rename`
}

// O_APPEND is not O_SYNC: still unsynced.
func appendOnly(target string, data []byte) error {
	f, err := os.OpenFile(target+".new", os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	f.Write(data)
	f.Close()
	return os.Rename(target+".new", target) // want `unsynced-rename`
}
