package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"
)

// WriteFile atomically replaces the file at path with data, or creates it
// with permission bits perm (minus the umask) when it does not exist. An
// existing file keeps its mode and, where permitted, its owner. Readers see
// the old content or the new, never a mix. With the default [Durable] level
// the new content is on stable storage when WriteFile returns nil.
//
// On failure no temporary file remains and the error is an *fs.PathError
// naming the failed operation. The file at path is left exactly as it was,
// except after an error matching [ErrNotDurable]: the file was replaced,
// but its directory could not be synced (see [File.Commit]).
func WriteFile(path string, data []byte, perm fs.FileMode, opts ...Option) error {
	var f File
	if err := f.open(path, newConfig(perm, opts)); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Commit()
}

// A File is a pending replacement of a file, written through its Write
// methods and published by Commit. Until Commit, readers of the target see
// its old content; nothing a reader can open holds the partial new content.
//
// A File is not safe for concurrent use. Close discards an uncommitted File
// and is always safe to defer:
//
//	f, err := atomicfile.Create(path)
//	if err != nil { return err }
//	defer f.Close()
//	... write to f ...
//	return f.Commit()
type File struct {
	sys   sysFile
	path  string // as given by the caller, for errors
	dir   string // directory of the file being replaced (after symlink resolution)
	base  string // its name within dir
	cfg   config
	tr    tracing
	state fileState
	err   error // first write error; a File that failed a write cannot commit
	off   int64
}

type fileState uint8

const (
	stateOpen fileState = iota
	stateCommitted
	stateClosed
)

// Create starts replacing the file at path. The new content is written to a
// temporary file in the same directory (on Linux an unnamed O_TMPFILE), which
// Commit renames over path. A file that does not exist yet gets 0o666 &^ umask
// unless [WithPerm] says otherwise.
func Create(path string, opts ...Option) (*File, error) {
	f := new(File)
	if err := f.open(path, newConfig(0o666, opts)); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) open(path string, cfg config) error {
	f.path, f.cfg = path, cfg
	var err error
	if f.dir, f.base, err = splitTarget(path, cfg.follow); err != nil {
		return err
	}
	f.tr = newTracing(cfg.tracer, f.dir)
	return f.openTemp()
}

// splitTarget checks path and returns the directory and name of the file
// a replace of path creates or replaces, after following symbolic links
// when follow is set.
func splitTarget(path string, follow bool) (dir, base string, err error) {
	if path == "" {
		return "", "", pathError("open", path, syscall.ENOENT)
	}
	if strings.HasSuffix(path, string(filepath.Separator)) || strings.HasSuffix(path, "/") {
		return "", "", pathError("open", path, syscall.EISDIR)
	}
	target := path
	if follow {
		if target, err = resolve(path); err != nil {
			return "", "", pathError("readlink", path, err)
		}
	}
	dir, base = filepath.Dir(target), filepath.Base(target)
	if base == "." || base == ".." || base == string(filepath.Separator) {
		return "", "", pathError("open", path, syscall.EISDIR)
	}
	return dir, base, nil
}

// resolve follows symbolic links in path (all of them, like realpath, but
// allowing the last element not to exist) so that FollowSymlinks replaces the
// file a link points to.
func resolve(path string) (string, error) {
	for range 40 { // Linux's MAXSYMLINKS
		dir, err := filepath.EvalSymlinks(filepath.Dir(path))
		if err != nil {
			return "", err
		}
		path = filepath.Join(dir, filepath.Base(path))
		dest, err := os.Readlink(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EINVAL) {
				return path, nil // missing, or not a link: this is the file
			}
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(dir, dest)
		}
		path = dest
	}
	return "", syscall.ELOOP
}

// Name returns the path given to Create.
func (f *File) Name() string { return f.path }

// Write writes b to the pending file. After a failed Write the File can only
// be closed: Commit returns the write error.
func (f *File) Write(b []byte) (int, error) {
	if err := f.usable("write"); err != nil {
		return 0, err
	}
	n, err := f.write(b)
	f.off += int64(n)
	if err != nil {
		f.err = pathError("write", f.path, err)
		return n, f.err
	}
	return n, nil
}

// WriteString writes s without copying it.
func (f *File) WriteString(s string) (int, error) {
	return f.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// ReadFrom copies r into the pending file until EOF, for io.Copy.
func (f *File) ReadFrom(r io.Reader) (int64, error) {
	if err := f.usable("write"); err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	var total int64
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			w, werr := f.Write(buf[:n])
			total += int64(w)
			if werr != nil {
				return total, werr
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

func (f *File) usable(op string) error {
	switch {
	case f.state == stateCommitted:
		return pathError(op, f.path, ErrCommitted)
	case f.state == stateClosed:
		return pathError(op, f.path, ErrClosed)
	case f.err != nil:
		return f.err
	}
	return nil
}

// Commit makes the written content durable (unless [AtomicOnly]) and
// atomically replaces the target with it. On error the target is unchanged
// and the File is discarded, except for an error matching [ErrNotDurable],
// which means the target was replaced but its directory could not be synced.
// A second Commit returns an error matching [ErrCommitted].
func (f *File) Commit() error {
	if err := f.usable("commit"); err != nil {
		if f.state == stateOpen { // a failed write: discard
			f.Close()
		}
		return err
	}
	err := f.syncData()
	if err == nil {
		err = f.publish()
	}
	if err != nil {
		f.state = stateClosed
		f.discard()
		return err
	}
	f.state = stateCommitted
	if !f.cfg.noSync {
		err = f.syncDir()
	}
	f.release()
	return err
}

// Close discards the File unless it was committed: the temporary file is
// removed and the target is untouched. It is idempotent and returns nil.
func (f *File) Close() error {
	if f.state == stateOpen {
		f.state = stateClosed
		f.discard()
	}
	return nil
}
