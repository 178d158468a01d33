// Package recall holds the shapes of public fixes of this bug that the
// analyzer once missed, each written anew after the code it cites, beside
// the near-misses that must stay quiet.
package recall

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

func cachePath() string { // want cachePath:`name\(const\|input\|opaque\)`
	dir, _ := os.UserCacheDir()
	return filepath.Join(dir, "app", "cache.json")
}

// After cajasmota/grafel #5978 and nchapman/llemme: a fixed suffix on a
// name from a helper. The helper's result is opaque, but the temp name is
// the target's name plus ".tmp", the same for every writer.
func saveCache(data []byte) error {
	target := cachePath()
	tmp := target + ".tmp"
	f, err := os.Create(tmp) // want `predictable-temp: temp file tmp is created and then renamed over target without O_EXCL; its name is the target's name with a fixed suffix`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

type player struct{ lastPlayPath string }

// After JRpersonal/streborn #899: the same through a field.
func (p *player) saveLast(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p.lastPlayPath+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // want `predictable-temp: .*the target's name with a fixed suffix`
	if err != nil {
		return err
	}
	f.Write(b)
	f.Sync()
	f.Close()
	return os.Rename(p.lastPlayPath+".tmp", p.lastPlayPath)
}

// Near-miss: a fixed suffix, but O_EXCL: a second writer fails instead.
func saveExcl(data []byte) error {
	target := cachePath()
	f, err := os.OpenFile(target+".tmp", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(target+".tmp", target)
}

var seq atomic.Int64

// Near-miss: an opaque name with a per-process counter and the pid is not a
// fixed suffix.
func saveCounted(data []byte) error {
	target := cachePath()
	tmp := target + "." + strconv.Itoa(os.Getpid()) + "." + strconv.FormatInt(seq.Add(1), 10) + unique()
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

func unique() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/uuid")
	return string(b)
}

// After docker/cli's config file and runc's state file: the temp file is
// handed to functions that write into an io.Writer, which cannot sync it.
func saveConfig(target string, v any) error {
	f, err := os.CreateTemp(filepath.Dir(target), ".config")
	if err != nil {
		return err
	}
	if err := writeTo(f, v); err != nil {
		f.Close()
		return err
	}
	f.Close()
	return os.Rename(f.Name(), target) // want `unsynced-rename`
}

func writeTo(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

// Near-miss: handed to a function that takes the *os.File and may sync it.
func saveHanded(target string, v any) error {
	f, err := os.CreateTemp(filepath.Dir(target), ".config")
	if err != nil {
		return err
	}
	if err := writeFile(f, v); err != nil {
		return err
	}
	f.Close()
	return os.Rename(f.Name(), target)
}

func writeFile(f *os.File, v any) error {
	if err := json.NewEncoder(f).Encode(v); err != nil {
		return err
	}
	return f.Sync()
}

// Near-miss: an interface that can sync.
type syncWriter interface {
	io.Writer
	Sync() error
}

func flush(w syncWriter) error { return w.Sync() }

func saveSyncWriter(target string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(target), ".x")
	if err != nil {
		return err
	}
	f.Write(data)
	flush(f)
	f.Close()
	return os.Rename(f.Name(), target)
}

func fixLongPath(p string) string { return p } // want fixLongPath:`name\(\)`

// After restic's internal/fs: a rename through a one-line wrapper that
// passes each name through a helper.
func Rename(oldpath, newpath string) error { // want Rename:`wrapper\(create 0, write 0, rename 1 to 2\)`
	return os.Rename(fixLongPath(oldpath), fixLongPath(newpath))
}

func saveViaRename(target string, data []byte) error {
	tmp := target + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil { // want `predictable-temp`
		return err
	}
	return Rename(tmp, target) // want `unsynced-rename: tmp \(written at line \d+\) is renamed over target but os.WriteFile never syncs`
}

// After go-ethereum's keystore (writeTemporaryKeyFile): a helper creates,
// writes and closes a temp file without syncing it and returns its name;
// the caller renames it into place.
func writeTemp(file string, content []byte) (string, error) { // want writeTemp:`name\(random\)` writeTemp:`wrapper\(create 0, write 0, rename 0 to 0, unsynced temp 1\)`
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	f.Close()
	return f.Name(), nil
}

func storeKey(file string, content []byte) error {
	tmp, err := writeTemp(file, content)
	if err != nil {
		return err
	}
	return os.Rename(tmp, file) // want `unsynced-rename: the temp file \(written at line \d+\) is renamed over file but recall.writeTemp never syncs`
}

// Near-miss: the helper syncs before returning the name.
func writeTempSynced(file string, content []byte) (string, error) { // want writeTempSynced:`name\(random\)`
	f, err := os.CreateTemp(filepath.Dir(file), ".tmp")
	if err != nil {
		return "", err
	}
	f.Write(content)
	f.Sync()
	f.Close()
	return f.Name(), nil
}

func storeKeySynced(file string, content []byte) error {
	tmp, err := writeTempSynced(file, content)
	if err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// After folbricht/routedns before #603: the rename is deferred, in a
// closure of the function that creates the temp.
func saveDeferred(target string, data []byte) (err error) {
	tmp := target + ".tmp"
	f, err := os.Create(tmp) // want `predictable-temp: temp file tmp is created and then renamed over target`
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		if err == nil {
			err = os.Rename(tmp, target) // want `unsynced-rename: tmp \(written at line \d+\) is renamed over target`
		}
	}()
	_, err = f.Write(data)
	return err
}

// Near-miss: a closure that does not rename.
func saveClosureNoRename(target string, data []byte) error {
	tmp := target + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	f.Write(data)
	return f.Sync()
}

// After runc v1.1.0's saveState (libcontainer/container_linux.go): a
// deferred closure captures the temp file to close and remove it on
// failure; the file is written through an io.Writer and renamed unsynced.
func saveStateCleanup(root string, v any) (retErr error) {
	tmpFile, err := os.CreateTemp(root, "state-")
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			tmpFile.Close()
			os.Remove(tmpFile.Name())
		}
	}()
	if err := writeTo(tmpFile, v); err != nil {
		return err
	}
	if err := tmpFile.Close(); err != nil {
		return err
	}
	return os.Rename(tmpFile.Name(), filepath.Join(root, "state.json")) // want `unsynced-rename`
}

// Near-miss: the closure that captures the file syncs it before the rename.
func saveStateSyncedInClosure(root string, v any) error {
	tmpFile, err := os.CreateTemp(root, "state-")
	if err != nil {
		return err
	}
	finish := func() error {
		if err := tmpFile.Sync(); err != nil {
			return err
		}
		return tmpFile.Close()
	}
	if err := writeTo(tmpFile, v); err != nil {
		return err
	}
	if err := finish(); err != nil {
		return err
	}
	return os.Rename(tmpFile.Name(), filepath.Join(root, "state.json"))
}

// Near-miss: the captured variable is assigned twice, so its cell is not
// one file.
func saveReassigned(root string, v any) error {
	tmpFile, err := os.CreateTemp(root, "state-")
	if err != nil {
		return err
	}
	defer func() { tmpFile.Close() }()
	if err := writeTo(tmpFile, v); err != nil {
		return err
	}
	if err := tmpFile.Sync(); err != nil {
		return err
	}
	name := tmpFile.Name()
	tmpFile, err = os.Open(name)
	if err != nil {
		return err
	}
	return os.Rename(name, filepath.Join(root, "state.json"))
}

// After routedns's blocklist cache before #603 (blocklistloader-http.go,
// writeToDisk): a random temp in the target's directory, written through
// a bufio.Writer, closed and renamed by a deferred closure, never synced.
func writeDeferredRename(dir, target string, lines []string) (err error) {
	f, err := os.CreateTemp(dir, "list")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	defer func() {
		name := f.Name()
		w.Flush()
		f.Close()
		if err == nil {
			err = os.Rename(name, target) // want `unsynced-rename: the temp file \(written at line \d+\) is renamed over target`
		}
		os.Remove(name)
	}()
	for _, l := range lines {
		if _, err := w.WriteString(l + "\n"); err != nil {
			return err
		}
	}
	return nil
}

// Near-miss: the deferred closure syncs before it renames.
func writeDeferredRenameSynced(dir, target string, lines []string) (err error) {
	f, err := os.CreateTemp(dir, "list")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	defer func() {
		name := f.Name()
		w.Flush()
		f.Sync()
		f.Close()
		if err == nil {
			err = os.Rename(name, target)
		}
	}()
	for _, l := range lines {
		if _, err := w.WriteString(l + "\n"); err != nil {
			return err
		}
	}
	return nil
}
