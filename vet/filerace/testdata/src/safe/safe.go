// Package safe holds look-alikes of the racy patterns that are safe and
// must not be reported.
package safe

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/heisen-dev/heisen/atomicfile"
	"tmpname"
)

// os.CreateTemp in the target's directory, synced: the right way by hand.
func createTemp(target string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(target), filepath.Base(target)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target)
}

// The story's fix: the pid plus a uuid.
func storyFix(target string, data []byte) error {
	tmp := fmt.Sprintf("%s.%d.%s.tmp", target, os.Getpid(), uuid.New().String())
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	f.Write(data)
	if err := f.Sync(); err != nil {
		return err
	}
	f.Close()
	return os.Rename(tmp, target)
}

func cryptoRand(target string) error {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	tmp := target + "." + hex.EncodeToString(b)
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

func randInt(target string) error {
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmp := target + "." + n.String()
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

// A clock name, but with O_EXCL: a second writer gets EEXIST, not a splice.
func exclusive(target string) error {
	tmp := target + "." + strconv.FormatInt(time.Now().UnixNano(), 10)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

// A helper from another package that returns a random name.
func viaHelper(target string) error {
	tmp := tmpname.Random(target)
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

// The caller's argument makes the name random.
func viaPassThrough(target string) error {
	tmp := tmpname.Suffix(target, uuid.NewString())
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

// A fixed name inside a fresh directory from os.MkdirTemp is unique.
func inTempDir(dir, target string, data []byte) error {
	d, err := os.MkdirTemp(dir, "work")
	if err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(d, "out.tmp"))
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(filepath.Join(d, "out.tmp"), target)
}

func useAtomicfile(target string, data []byte) error {
	return atomicfile.WriteFile(target, data, 0o644)
}

// A name the function is given: nothing known about it.
func given(tmp, target string) error { // want given:`wrapper\(create 0, write 0, rename 1 to 2\)`
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	return os.Rename(tmp, target)
}

// A fixed name that is never renamed and is not a temp file: a log.
func logFile(dir string) (*os.File, error) {
	return os.Create(filepath.Join(dir, fmt.Sprintf("app-%d.log", os.Getpid())))
}

// The file is handed to a function that may sync it.
func handedOff(target string, sync func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(target), "x")
	if err != nil {
		return err
	}
	f.WriteString("x")
	if err := sync(f); err != nil {
		return err
	}
	f.Close()
	return os.Rename(f.Name(), target)
}

// Found in go-internal's txtar-addmod: a package variable set from
// os.MkdirTemp, and a fixed name inside it. The variable's name says tmp,
// which does not make the file a shared temp file.
var tmpdir string

func setup() (err error) {
	tmpdir, err = os.MkdirTemp("", "addmod-")
	return err
}

func writeGoMod() error {
	return os.WriteFile(filepath.Join(tmpdir, "go.mod"), []byte("module m\n"), 0o666)
}

// Found in x/tools' packagestest: ".temp" is trimmed off, not added.
func restore(gomod string, content []byte) error {
	gomod = strings.TrimSuffix(gomod, ".temp")
	return os.WriteFile(gomod, content, 0o644)
}

// Like lumberjack's rotation: the live file is renamed out of the way,
// then created anew. The rename comes before the create.
func rotate(dir string) (*os.File, error) {
	name := filepath.Join(dir, "app.log")
	if err := os.Rename(name, name+"."+time.Now().Format("20060102T150405")); err != nil {
		return nil, err
	}
	return os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
}
