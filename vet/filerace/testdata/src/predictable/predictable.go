package predictable

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"tmpname"
)

// The story's bug: a temp name from a second-resolution timestamp.
func story(target string, data []byte) error {
	tmp := fmt.Sprintf("%s.%d.tmp", target, time.Now().Unix())
	if err := os.WriteFile(tmp, data, 0o644); err != nil { // want `predictable-temp: temp file tmp is created and then renamed over target without O_EXCL; its name is built from the clock`
		return err
	}
	return os.Rename(tmp, target) // want `unsynced-rename: tmp \(written at line 18\) is renamed over target but os.WriteFile never syncs`
}

func fixedSuffix(target string, data []byte) error {
	f, err := os.Create(target + ".tmp") // want `predictable-temp: .*the target.s name with a fixed suffix: every writer gets the same name`
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
	return os.Rename(target+".tmp", target)
}

func pidAlone(dir string, data []byte) error {
	tmp := filepath.Join(dir, "state-"+strconv.Itoa(os.Getpid()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644) // want `predictable-temp: .*the pid alone`
	if err != nil {
		return err
	}
	defer f.Close()
	f.Write(data)
	f.Sync()
	return os.Rename(f.Name(), filepath.Join(dir, "state"))
}

func pidMillis(target string) error {
	tmp := fmt.Sprintf("%s.%d.%d", target, os.Getpid(), time.Now().UnixMilli())
	f, err := os.Create(tmp) // want `predictable-temp: .*the pid and the clock`
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

var seq int64

func counter(target string) error {
	tmp := target + "." + strconv.FormatInt(atomic.AddInt64(&seq, 1), 10)
	f, err := os.Create(tmp) // want `predictable-temp: .*a counter that starts over in every process`
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

func nanoFormat(target string) error {
	tmp := target + "." + time.Now().Format("20060102150405.000000000")
	if err := os.WriteFile(tmp, nil, 0o644); err != nil { // want `predictable-temp: .*the clock`
		return err
	}
	//heisen:ignore unsynced-rename: the content is empty; only the name matters here
	return os.Rename(tmp, target)
}

// A helper in another package builds the name: its origin is a fact.
func viaHelper(target string, data []byte) error {
	tmp := tmpname.Stamp(target)
	if err := os.WriteFile(tmp, data, 0o644); err != nil { // want `predictable-temp: .*the clock`
		return err
	}
	return os.Rename(tmp, target) // want `unsynced-rename`
}

// A helper of the same package.
func local(target string) string { return target + ".new" } // want local:`name\(const\)`

func viaLocal(target string, data []byte) error {
	if err := os.WriteFile(local(target), data, 0o644); err != nil { // want `predictable-temp: .*a fixed name`
		return err
	}
	return os.Rename(local(target), target) // want `unsynced-rename`
}

// A temp name created without O_EXCL is reported even before any rename.
func scratch() (*os.File, error) {
	return os.Create(filepath.Join(os.TempDir(), fmt.Sprintf("scratch-%d", time.Now().UnixNano()))) // want `predictable-temp: file .* is created in the shared temp directory without O_EXCL; .*plant a symlink`
}

// A loop counter restarts at zero in every process.
func loop(target string) error {
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("%s.tmp%d", target, i)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600) // want `predictable-temp: .*counter`
		if err != nil {
			continue
		}
		f.Sync()
		f.Close()
		return os.Rename(name, target)
	}
	return nil
}

// The temp name lives in a field: created in one method, renamed in another.
type writer struct {
	tmp, path string
	f         *os.File
}

func open(path string) (*writer, error) {
	w := &writer{tmp: path + ".tmp", path: path}
	f, err := os.Create(w.tmp) // want `predictable-temp: temp file w.tmp is created and then renamed over w.path without O_EXCL; its name is a fixed name`
	if err != nil {
		return nil, err
	}
	w.f = f
	return w, nil
}

func (w *writer) commit() error {
	if err := w.f.Sync(); err != nil {
		return err
	}
	w.f.Close()
	return os.Rename(w.tmp, w.path)
}

// Through wrappers in another package: the create and the rename are seen
// through their facts, and the missing Sync is found.
func viaWrappers(target string, data []byte) error {
	tmp := target + ".tmp"
	f, err := tmpname.Create(tmp) // want `predictable-temp: temp file tmp is created and then renamed over target without O_EXCL; its name is the target.s name with a fixed suffix`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Close()
	return tmpname.Replace(tmp, target) // want `unsynced-rename: tmp \(written at line \d+\) is renamed over target with no Sync`
}

type store struct{ dir string }

func (s *store) create(path string) (*os.File, error) { // want create:`wrapper\(create 2, write 0, rename 0 to 0\)`
	return os.Create(path)
}

// A method wrapper of the same package: its receiver is parameter 1.
func (s *store) save(name string, data []byte) error {
	f, err := s.create(filepath.Join(s.dir, name+"."+strconv.Itoa(os.Getpid()))) // want `predictable-temp: temp file filepath.Join\(s.dir, name\+"."\+strconv.Itoa\(os.Getpid\(\)\)\) is created and then renamed over filepath.Join\(s.dir, name\) without O_EXCL; its name is built from the pid alone`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(f.Name(), filepath.Join(s.dir, name))
}

// A helper that writes a whole file like os.WriteFile, and never syncs.
func writeJSON(path string, v any) error { // want writeJSON:`wrapper\(create 0, write 1, rename 0 to 0\)`
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func viaWriteWrapper(target string, v any) error {
	tmp := target + "." + strconv.FormatInt(time.Now().Unix(), 10)
	if err := writeJSON(tmp, v); err != nil { // want `predictable-temp: temp file tmp is created and then renamed over target .*built from the clock`
		return err
	}
	return os.Rename(tmp, target) // want `unsynced-rename: tmp \(written at line \d+\) is renamed over target but predictable.writeJSON never syncs`
}
