package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"

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
	return unix.Fsync(dirfd)
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
