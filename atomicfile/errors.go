package atomicfile

import (
	"errors"
	"io/fs"
)

// Sentinel errors. Every error of a file operation this package returns is
// an *fs.PathError naming the operation and the path; use errors.Is to
// branch on these. [Update] returns the error of its callback as it is.
var (
	// ErrExist: the target exists and [NoClobber] was given. It is
	// fs.ErrExist, so os.IsExist-style checks work too.
	ErrExist = fs.ErrExist

	// ErrNotDurable: the file was replaced (readers see the new content) but
	// the file system refused to sync the directory (EINVAL on vboxsf, CIFS,
	// some FUSE file systems), so the new directory entry may not survive a
	// crash. The error also wraps the errno.
	ErrNotDurable = errors.New("replaced but not known durable")

	// ErrCommitted: Commit or Write was called on a File already committed.
	ErrCommitted = errors.New("file already committed")

	// ErrClosed: the File was closed (discarded), or a failed Commit already
	// discarded it. It is fs.ErrClosed.
	ErrClosed = fs.ErrClosed
)

func pathError(op, path string, err error) error {
	return &fs.PathError{Op: op, Path: path, Err: err}
}
