//go:build linux && (amd64 || arm64)

package record

import (
	"bufio"
	"encoding/binary"
	"math"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/ptrace"
	"github.com/heisen-dev/heisen/trail"
)

// byNumber starts the calls only the ptrace backend decodes itself, by
// syscall number: descriptors, processes, reads, the other ways of writing
// into files, locks and io_uring.
var byNumber = map[int]func(*ptracer, *ptrace.Stop) finish{
	unix.SYS_READ:              (*ptracer).read,
	unix.SYS_PREAD64:           (*ptracer).read,
	unix.SYS_READV:             (*ptracer).read,
	unix.SYS_PREADV:            (*ptracer).read,
	unix.SYS_PREADV2:           (*ptracer).read,
	unix.SYS_PWRITEV2:          (*ptracer).pwritev2,
	unix.SYS_COPY_FILE_RANGE:   (*ptracer).copyCall,
	unix.SYS_SENDFILE:          (*ptracer).copyCall,
	unix.SYS_SPLICE:            (*ptracer).copyCall,
	unix.SYS_FALLOCATE:         (*ptracer).fallocate,
	unix.SYS_MMAP:              (*ptracer).mmap,
	unix.SYS_MSYNC:             (*ptracer).msync,
	unix.SYS_FLOCK:             (*ptracer).flock,
	unix.SYS_FCNTL:             (*ptracer).fcntl,
	unix.SYS_IOCTL:             (*ptracer).ioctl,
	unix.SYS_CLOSE_RANGE:       (*ptracer).closeRange,
	unix.SYS_DUP:               (*ptracer).dupCall,
	unix.SYS_DUP3:              (*ptracer).dupCall,
	unix.SYS_EXECVE:            (*ptracer).exec,
	unix.SYS_EXECVEAT:          (*ptracer).exec,
	unix.SYS_IO_URING_SETUP:    (*ptracer).untracedCall,
	unix.SYS_IO_SETUP:          (*ptracer).untracedCall,
	unix.SYS_MUNMAP:            (*ptracer).munmap,
	unix.SYS_OPEN_BY_HANDLE_AT: (*ptracer).openByHandle,
}

// ptraceOnly keeps the commands and flags of these calls that are no file
// operation from stopping the thread at all: the seccomp filter tests
// their arguments in the kernel (a Python start makes hundreds of private
// mmaps and terminal ioctls).
var ptraceOnly = map[int][]ptrace.ArgTest{
	unix.SYS_FCNTL: {{Arg: 1, Values: []uint32{unix.F_DUPFD, unix.F_DUPFD_CLOEXEC, unix.F_SETFD,
		unix.F_SETLK, unix.F_SETLKW, unix.F_OFD_SETLK, unix.F_OFD_SETLKW}}},
	unix.SYS_IOCTL: {{Arg: 1, Values: []uint32{fioclex, fionclex, unix.FICLONE, unix.FICLONERANGE}}},
	unix.SYS_MMAP:  {{Arg: 2, Bits: unix.PROT_WRITE}, {Arg: 3, Bits: unix.MAP_SHARED}}, // MAP_SHARED_VALIDATE has the bit too
	unix.SYS_MSYNC: {{Arg: 2, Bits: unix.MS_SYNC}},
}

func init() {
	if dup2Nr < math.MaxInt32 { // x86-64 only
		byNumber[dup2Nr] = (*ptracer).dupCall
	}
}

// The ioctls that set and clear close-on-exec (asm-generic/ioctls.h).
const (
	fionclex = 0x5450
	fioclex  = 0x5451
)

// fdOf is the descriptor in a syscall argument.
func fdOf(arg uint64) int { return int(int32(arg)) }

// read starts read, pread64, readv, preadv and preadv2: a read event at
// the offset the call reads from, of the length asked for (read, pread64)
// or read (the vectored calls).
func (p *ptracer) read(s *ptrace.Stop) finish {
	a := s.Args
	e := p.event(s, trail.OpRead)
	e.FD = fdOf(a[0])
	if _, ok := fdFile(s.Tid, e.FD, &e); !ok {
		return nil
	}
	switch s.Nr {
	case unix.SYS_READ:
		e.Off, e.Len = readPos(s.Tid, e.FD), int64(a[2])
	case unix.SYS_PREAD64:
		e.Off, e.Len = int64(a[3]), int64(a[2])
	case unix.SYS_READV:
		e.Off = readPos(s.Tid, e.FD)
	default: // preadv, preadv2: an offset of -1 (preadv2) is the position
		e.Off = int64(a[3])
		if e.Off == -1 {
			e.Off = readPos(s.Tid, e.FD)
		}
	}
	return p.thenIO(e, s.Nr != unix.SYS_READ && s.Nr != unix.SYS_PREAD64)
}

// pwritev2 is pwritev with an offset of -1 meaning the file position, and
// flags (RWF_APPEND writes at the end).
func (p *ptracer) pwritev2(s *ptrace.Stop) finish {
	a := s.Args
	e := p.event(s, trail.OpWrite)
	e.FD, e.Sys = fdOf(a[0]), "pwritev2"
	size, ok := fdFile(s.Tid, e.FD, &e)
	if !ok {
		return nil
	}
	e.Off = int64(a[3])
	switch {
	case a[5]&unix.RWF_APPEND != 0:
		e.Off = size
	case e.Off == -1:
		e.Off = writePos(s.Tid, e.FD, size)
	}
	return p.thenIO(e, true)
}

// copyCall starts copy_file_range, sendfile and splice: a read of the
// source and a write of the destination, each when it is a file, of the
// length the call moved; a call that moved nothing or failed is only its
// write.
func (p *ptracer) copyCall(s *ptrace.Stop) finish {
	a := s.Args
	inFD, inOff, outFD, outOff, n := fdOf(a[0]), a[1], fdOf(a[2]), a[3], int64(a[4])
	sys := "copy_file_range"
	switch s.Nr {
	case unix.SYS_SENDFILE:
		outFD, inFD, inOff, outOff, n = fdOf(a[0]), fdOf(a[1]), a[2], 0, int64(a[3])
		sys = "sendfile"
	case unix.SYS_SPLICE:
		sys = "splice"
	}
	var sides []trail.Event
	src := p.event(s, trail.OpRead)
	src.FD, src.Sys, src.Len = inFD, sys, n
	if _, ok := fdFile(s.Tid, inFD, &src); ok {
		src.Off = offsetArg(s, inOff, func() int64 { return readPos(s.Tid, inFD) })
		sides = append(sides, src)
	}
	dst := src
	dst.Op, dst.FD, dst.Path, dst.Dev, dst.Ino = trail.OpWrite, outFD, "", 0, 0
	if size, ok := fdFile(s.Tid, outFD, &dst); ok {
		dst.Off = offsetArg(s, outOff, func() int64 { return writePos(s.Tid, outFD, size) })
		sides = append(sides, dst)
	}
	if len(sides) == 0 {
		return nil
	}
	return func(s *ptrace.Stop) {
		for i := range sides {
			failed := p.result(s, &sides[i])
			if sides[i].Op == trail.OpRead && (failed || s.Ret == 0) {
				continue // the source is read only when bytes moved
			}
			if !failed {
				sides[i].Len = s.Ret
			}
			p.emit(&sides[i])
		}
	}
}

// offsetArg is the offset a copy call's loff_t pointer holds, or pos()
// when the pointer is NULL (the call uses and moves the file position).
func offsetArg(s *ptrace.Stop, ptr uint64, pos func() int64) int64 {
	if ptr == 0 {
		return pos()
	}
	var b [8]byte
	if n, _ := s.Read(ptr, b[:]); n != 8 {
		return -1
	}
	return int64(binary.NativeEndian.Uint64(b[:]))
}

// fallocate is a write of its range (allocating, punching a hole or
// zeroing it all change what the file holds or can hold).
func (p *ptracer) fallocate(s *ptrace.Stop) finish {
	a := s.Args
	e := p.event(s, trail.OpWrite)
	e.FD, e.Sys, e.Off, e.Len = fdOf(a[0]), "fallocate", int64(a[2]), int64(a[3])
	if _, ok := fdFile(s.Tid, e.FD, &e); !ok {
		return nil
	}
	return p.then(e)
}

// mmap of a file shared and writable is a write of the mapped range: the
// process can change those bytes without another system call.
func (p *ptracer) mmap(s *ptrace.Stop) finish {
	a := s.Args
	typ := a[3] & (unix.MAP_SHARED | unix.MAP_PRIVATE)
	if a[2]&unix.PROT_WRITE == 0 || typ != unix.MAP_SHARED && typ != unix.MAP_SHARED_VALIDATE {
		return nil
	}
	e := p.event(s, trail.OpWrite)
	e.FD, e.Sys, e.Off, e.Len = fdOf(a[4]), "mmap", int64(a[5]), int64(a[1])
	if _, ok := fdFile(s.Tid, e.FD, &e); !ok {
		return nil
	}
	return func(s *ptrace.Stop) {
		if p.result(s, &e) {
			return // nothing was mapped
		}
		e.Ret = e.Len // the call returns an address: the range may be written
		p.emit(&e)
	}
}

// munmap of a shared writable file mapping is a write of the file range
// it unmaps: the stores made through the mapping until now are in it.
// The mapping is found in /proc/PID/maps while the thread is stopped.
func (p *ptracer) munmap(s *ptrace.Stop) finish {
	a := s.Args
	e := p.event(s, trail.OpWrite)
	e.Sys = "munmap"
	m, ok := mappedFile(s.Pid, a[0], &e)
	if !ok || !m.writable {
		return nil
	}
	e.Len = min(int64(a[1]), m.left)
	return func(s *ptrace.Stop) {
		if p.result(s, &e) {
			return // nothing was unmapped
		}
		e.Ret = e.Len
		p.emit(&e)
	}
}

// msync with MS_SYNC is an fdatasync of the file range mapped at its
// address, found in /proc/PID/maps while the thread is stopped.
func (p *ptracer) msync(s *ptrace.Stop) finish {
	a := s.Args
	if a[2]&unix.MS_SYNC == 0 {
		return nil // MS_ASYNC writes nothing back
	}
	e := p.event(s, trail.OpFdatasync)
	e.Sys, e.Len = "msync", int64(a[1])
	if _, ok := mappedFile(s.Pid, a[0], &e); !ok {
		return nil
	}
	return p.then(e)
}

// A mapping is what mappedFile found besides the file.
type mapping struct {
	writable bool
	left     int64 // the mapping's length from the address
}

// mappedFile sets e's path, dev, ino and offset from the shared file
// mapping of process pid that holds addr.
func mappedFile(pid int, addr uint64, e *trail.Event) (mapping, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return mapping{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset major:minor inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || addr < start || addr >= end {
			continue
		}
		off, _ := strconv.ParseInt(fields[2], 16, 64)
		major, minor, _ := strings.Cut(fields[3], ":")
		ma, _ := strconv.ParseUint(major, 16, 32)
		mi, _ := strconv.ParseUint(minor, 16, 32)
		ino, _ := strconv.ParseUint(fields[4], 10, 64)
		path := strings.Join(fields[5:], " ")
		if fields[1][3] != 's' || ino == 0 || !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "/dev/zero") ||
			strings.HasPrefix(path, "/SYSV") {
			return mapping{}, false // private or anonymous: no file is written
		}
		e.Path = strings.TrimSuffix(path, " (deleted)")
		e.Dev, e.Ino = unix.Mkdev(uint32(ma), uint32(mi)), ino
		e.Off = off + int64(addr-start)
		return mapping{writable: fields[1][1] == 'w', left: int64(end - addr)}, true
	}
	return mapping{}, false
}

// flock is a lock or unlock of the whole file, owned by the open file.
func (p *ptracer) flock(s *ptrace.Stop) finish {
	op := s.Args[1] &^ unix.LOCK_NB
	e := p.event(s, trail.OpLock)
	switch op {
	case unix.LOCK_UN:
		e.Op = trail.OpUnlock
	case unix.LOCK_SH:
		e.Mode = "shared"
	case unix.LOCK_EX:
		e.Mode = "exclusive"
	default:
		return nil
	}
	e.FD, e.Lock, e.Off, e.Len = fdOf(s.Args[0]), "flock", 0, 0
	if _, ok := fdFile(s.Tid, e.FD, &e); !ok {
		return nil
	}
	return p.then(e)
}

// fcntl starts the commands that dup (F_DUPFD, F_DUPFD_CLOEXEC), set
// close-on-exec (F_SETFD) or lock a range (F_SETLK, F_SETLKW and their
// F_OFD_ forms); the others are not file operations.
func (p *ptracer) fcntl(s *ptrace.Stop) finish {
	fd, arg := fdOf(s.Args[0]), s.Args[2]
	switch cmd := int(s.Args[1]); cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		return p.dup(s, fd, -1, cmd == unix.F_DUPFD_CLOEXEC)
	case unix.F_SETFD:
		return p.setFD(s, fd, arg&unix.FD_CLOEXEC != 0)
	case unix.F_SETLK, unix.F_SETLKW:
		return p.rangeLock(s, fd, arg, "posix")
	case unix.F_OFD_SETLK, unix.F_OFD_SETLKW:
		return p.rangeLock(s, fd, arg, "ofd")
	}
	return nil
}

// rangeLock reads the struct flock at arg: l_type and l_whence (shorts),
// then l_start and l_len (64-bit) at offsets 8 and 16 on x86-64 and arm64.
func (p *ptracer) rangeLock(s *ptrace.Stop, fd int, arg uint64, kind string) finish {
	var b [24]byte
	if n, _ := s.Read(arg, b[:]); n != len(b) {
		return nil
	}
	e := p.event(s, trail.OpLock)
	e.FD, e.Lock = fd, kind
	size, ok := fdFile(s.Tid, fd, &e)
	if !ok {
		return nil
	}
	switch int16(binary.NativeEndian.Uint16(b[0:])) {
	case unix.F_UNLCK:
		e.Op = trail.OpUnlock
	case unix.F_RDLCK:
		e.Mode = "shared"
	case unix.F_WRLCK:
		e.Mode = "exclusive"
	default:
		return nil
	}
	start := int64(binary.NativeEndian.Uint64(b[8:]))
	switch int16(binary.NativeEndian.Uint16(b[2:])) {
	case unix.SEEK_CUR:
		start += readPos(s.Tid, fd)
	case unix.SEEK_END:
		start += size
	}
	e.Off, e.Len = start, int64(binary.NativeEndian.Uint64(b[16:]))
	if e.Len < 0 { // the range before start
		e.Off, e.Len = start+e.Len, -e.Len
	}
	return p.then(e)
}

// ioctl starts FIOCLEX, FIONCLEX, FICLONE and FICLONERANGE.
func (p *ptracer) ioctl(s *ptrace.Stop) finish {
	switch uint32(s.Args[1]) {
	case fioclex:
		return p.setFD(s, fdOf(s.Args[0]), true)
	case fionclex:
		return p.setFD(s, fdOf(s.Args[0]), false)
	case unix.FICLONE, unix.FICLONERANGE:
		return p.clone(s)
	}
	return nil
}

// clone starts FICLONE and FICLONERANGE: the destination's range now
// shares the source's blocks, a read of the source and a write of the
// destination (when the call succeeded; a failed one is a failed write).
// A length of 0 reaches the end of the source.
func (p *ptracer) clone(s *ptrace.Stop) finish {
	a := s.Args
	src := p.event(s, trail.OpRead)
	src.FD, src.Sys, src.Off = fdOf(a[2]), "ficlone", 0
	var dstOff, n int64
	if uint32(a[1]) == unix.FICLONERANGE {
		var b [32]byte // struct file_clone_range
		if k, _ := s.Read(a[2], b[:]); k != len(b) {
			return nil
		}
		src.FD, src.Sys = int(int64(binary.NativeEndian.Uint64(b[0:]))), "ficlonerange"
		src.Off, n = int64(binary.NativeEndian.Uint64(b[8:])), int64(binary.NativeEndian.Uint64(b[16:]))
		dstOff = int64(binary.NativeEndian.Uint64(b[24:]))
	}
	size, srcOK := fdFile(s.Tid, src.FD, &src)
	if n == 0 {
		n = size - src.Off
	}
	src.Len = n
	dst := src
	dst.Op, dst.FD, dst.Path, dst.Dev, dst.Ino, dst.Off = trail.OpWrite, fdOf(a[0]), "", 0, 0, dstOff
	if _, ok := fdFile(s.Tid, dst.FD, &dst); !ok {
		return nil
	}
	return func(s *ptrace.Stop) {
		if p.result(s, &dst) {
			p.emit(&dst)
			return
		}
		if srcOK {
			p.result(s, &src)
			p.emit(&src)
		}
		p.emit(&dst)
	}
}

// setFD is a setfd of a file's descriptor, written when it succeeded.
func (p *ptracer) setFD(s *ptrace.Stop, fd int, cloexec bool) finish {
	e := p.event(s, trail.OpSetFD)
	e.FD, e.CloExec = fd, cloexec
	if _, ok := fdFile(s.Tid, fd, &e); !ok {
		return nil
	}
	return p.thenOK(e)
}

// closeRange is a close (or with CLOSE_RANGE_CLOEXEC a setfd) of fd..maxfd,
// whatever the descriptors hold: which of them are files would take a walk
// of the table.
func (p *ptracer) closeRange(s *ptrace.Stop) finish {
	a := s.Args
	e := p.event(s, trail.OpClose)
	e.FD, e.MaxFD = int(uint32(a[0])), int(min(uint32(a[1]), math.MaxInt32))
	if a[2]&unix.CLOSE_RANGE_CLOEXEC != 0 {
		e.Op, e.CloExec = trail.OpSetFD, true
	}
	return p.thenOK(e)
}

// dupCall starts dup, dup2 and dup3.
func (p *ptracer) dupCall(s *ptrace.Stop) finish {
	a := s.Args
	switch s.Nr {
	case unix.SYS_DUP:
		return p.dup(s, fdOf(a[0]), -1, false)
	case unix.SYS_DUP3:
		return p.dup(s, fdOf(a[0]), fdOf(a[1]), a[2]&unix.O_CLOEXEC != 0)
	}
	if a[0] == a[1] {
		return nil // dup2(fd, fd) changes nothing
	}
	return p.dup(s, fdOf(a[0]), fdOf(a[1]), false)
}

// dup is a dup of old onto newFD (-1: the lowest free descriptor). It is
// written when the file duplicated is one the trail records, or when the
// file newFD held before is: a shell putting its terminal back on 1 ends
// the redirection of 1 to a file. Its path is the duplicated file's, empty
// for a pipe or a device.
func (p *ptracer) dup(s *ptrace.Stop, old, newFD int, cloexec bool) finish {
	e := p.event(s, trail.OpDup)
	e.OldFD, e.CloExec = old, cloexec
	_, isFile := fdFile(s.Tid, old, &e)
	var prior trail.Event
	if newFD >= 0 {
		fdFile(s.Tid, newFD, &prior)
	}
	if !isFile && prior.Path == "" {
		return nil
	}
	return func(s *ptrace.Stop) {
		if p.result(s, &e) {
			return // a failed dup changed nothing
		}
		e.FD = int(s.Ret)
		if !p.recorded(e.Path) && !p.recorded(prior.Path) {
			return
		}
		p.write(&e)
	}
}

// recorded reports whether the trail records the file at path.
func (p *ptracer) recorded(path string) bool {
	return path != "" && (len(p.prefixes) == 0 || underAny(path, p.prefixes))
}

// exec starts execve and execveat: an exec event, at the exit of a call
// that succeeded, of the program as the call named it.
func (p *ptracer) exec(s *ptrace.Stop) finish {
	a := s.Args
	dirfd, raw := unix.AT_FDCWD, readPath(s, a[0])
	if s.Nr == unix.SYS_EXECVEAT {
		dirfd, raw = fdOf(a[0]), readPath(s, a[1])
	}
	var path string
	if raw == "" && s.Nr == unix.SYS_EXECVEAT && a[4]&unix.AT_EMPTY_PATH != 0 {
		var f trail.Event
		fdFile(s.Tid, dirfd, &f)
		path = f.Path
	} else {
		path = resolveAt(s.Tid, dirfd, raw)
	}
	return func(s *ptrace.Stop) {
		if s.Errno() != 0 {
			return
		}
		e := p.event(s, trail.OpExec)
		e.Path = path
		p.result(s, &e)
		p.emit(&e)
	}
}

// untracedCall says, once per process, that its file I/O through the
// io_uring ring or the Linux AIO context it sets up is not recorded.
func (p *ptracer) untracedCall(s *ptrace.Stop) finish {
	sys := "io_uring_setup"
	if s.Nr == unix.SYS_IO_SETUP {
		sys = "io_setup"
	}
	return func(s *ptrace.Stop) {
		if s.Errno() == 0 {
			p.untracedOnce(s.Pid, s.Tid, sys)
		}
	}
}

// openByHandle is an open of the file a handle names: no name is passed,
// so the new descriptor's path is the open's, read at the exit.
func (p *ptracer) openByHandle(s *ptrace.Stop) finish {
	e := p.event(s, trail.OpOpen)
	e.Flags = trail.HostOpenFlags(int(s.Args[2]))
	return func(s *ptrace.Stop) {
		if p.result(s, &e) {
			return // no name to record
		}
		e.FD = int(s.Ret)
		if _, ok := fdFile(s.Tid, e.FD, &e); ok {
			p.emit(&e)
		}
	}
}
