package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/google/renameio/v2"
	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/natefinch/atomic"
	"golang.org/x/sys/unix"
)

// A contender replaces the file at path with data, durably as far as it
// knows how.
type contender struct {
	name  string
	write func(path string, data []byte) error
}

var contenders = []contender{
	{"floor", floorWrite},
	{"atomicfile", func(path string, data []byte) error {
		return atomicfile.WriteFile(path, data, 0o644)
	}},
	{"renameio", func(path string, data []byte) error {
		return renameio.WriteFile(path, data, 0o644)
	}},
	{"natefinch", func(path string, data []byte) error {
		return atomic.WriteFile(path, bytes.NewReader(data))
	}},
}

// floorWrite is the least a durable replace can do on Linux, with nothing
// else: open an O_TMPFILE in the directory, write, fdatasync, link it to a
// random name, rename that over the target, fsync the directory.
func floorWrite(path string, data []byte) error {
	dir, base := filepath.Split(path)
	dirfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat(dirfd, ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, data); err != nil {
		return err
	}
	if err := unix.Fdatasync(fd); err != nil {
		return err
	}
	if err := linkRename(fd, dirfd, base); err != nil {
		return err
	}
	return unix.Fsync(dirfd)
}

// linkRename links the O_TMPFILE fd to a random name in dirfd and renames
// that over base.
func linkRename(fd, dirfd int, base string) error {
	var r [16]byte
	rand.Read(r[:])
	tmp := "." + base + "." + hex.EncodeToString(r[:]) + ".tmp"
	if err := unix.Linkat(fd, "", dirfd, tmp, unix.AT_EMPTY_PATH); err != nil {
		if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dirfd, tmp, unix.AT_SYMLINK_FOLLOW); err != nil {
			return err
		}
	}
	if err := unix.Renameat(dirfd, tmp, dirfd, base); err != nil {
		unix.Unlinkat(dirfd, tmp, 0)
		return err
	}
	return nil
}

// floorBatch is the least a durable batch of n replaces can do on Linux, the
// fastest schedule measured here: in parallel, create an O_TMPFILE, write it
// and start its writeback; fdatasync all in parallel; in order, link and
// rename each over its target, holding the replaced file open so that the
// rename does not wait to free it; fsync the directory while the replaced
// files are closed in parallel.
func floorBatch(dir string, data []byte, n int) error {
	dirfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	fds, olds := make([]int, n), make([]int, n)
	for i := range n {
		fds[i], olds[i] = -1, -1
	}
	defer closeAll(fds)
	defer closeAll(olds) // on errors only
	err = each(n, func(i int) (err error) {
		if fds[i], err = unix.Openat(dirfd, ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644); err != nil {
			return err
		}
		if _, err := unix.Write(fds[i], data); err != nil {
			return err
		}
		return unix.SyncFileRange(fds[i], 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	})
	if err == nil {
		err = each(n, func(i int) error { return unix.Fdatasync(fds[i]) })
	}
	if err != nil {
		return err
	}
	for i := range n {
		base := fmt.Sprintf("floor-%03d", i)
		olds[i], _ = unix.Openat(dirfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err := linkRename(fds[i], dirfd, base); err != nil {
			return err
		}
	}
	var freed sync.WaitGroup
	freed.Go(func() { closeAll(olds) })
	err = unix.Fsync(dirfd)
	freed.Wait()
	return err
}

// closeAll closes the open descriptors among fds in parallel.
func closeAll(fds []int) {
	each(len(fds), func(i int) error {
		if fds[i] >= 0 {
			unix.Close(fds[i])
			fds[i] = -1
		}
		return nil
	})
}

// each runs op(0), …, op(n-1), each on its own goroutine.
func each(n int, op func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = op(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// batchAtomicfile replaces n files with one atomicfile.Batch.
func batchAtomicfile(dir string, data []byte, n int) error {
	b := atomicfile.NewBatch()
	for i := range n {
		b.Add(filepath.Join(dir, fmt.Sprintf("batch-%03d", i)), data, 0o644)
	}
	return b.Commit()
}

// loopRenameio replaces n files with one renameio.WriteFile each.
func loopRenameio(dir string, data []byte, n int) error {
	for i := range n {
		if err := renameio.WriteFile(filepath.Join(dir, fmt.Sprintf("loop-%03d", i)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
