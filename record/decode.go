//go:build linux && (amd64 || arm64)

package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/heisen-dev/heisen/trail"
	"golang.org/x/sys/unix"
)

// Kernel operation codes, the enum op of bpf/record.c.
const (
	kOpen = 1 + iota
	kOpenat
	kOpenat2
	kCreat
	kWrite
	kPwrite64
	kWritev
	kPwritev
	kFsync
	kFdatasync
	kClose
	kRename
	kRenameat
	kRenameat2
	kLink
	kLinkat
	kUnlink
	kUnlinkat
	kTruncate
	kFtruncate
	kDup
	kDup2
	kDup3
	kFcntl // sent as kDup or kSetFD
	kIoctl // sent as kSetFD
	kSetFD
	kCloseRange
	kFork
	kExec
	kExit
	kCopyFileRange // sent as kRead and kWrite
	kSendfile      // sent as kRead and kWrite
	kSplice        // sent as kRead and kWrite
	kPwritev2
	kFallocate
	kMmap  // sent as kWrite
	kMsync // sent as kFdatasync
	kRead
	kPread64
	kReadv
	kPreadv
	kPreadv2
	kFlock // sent as kLock or kUnlock
	kLock
	kUnlock
	kIoUringSetup // sent as kUntraced
	kUntraced
	kMunmap       // sent as kWrite
	kFiclone      // sent as kRead and kWrite
	kFiclonerange // sent as kRead and kWrite
	kOpenByHandle
	kIoSetup // sent as kUntraced
	kMax
)

// trailOps maps kernel operation codes to trail operations.
var trailOps = [kMax]trail.Op{
	kOpen: trail.OpOpen, kOpenat: trail.OpOpen, kOpenat2: trail.OpOpen, kCreat: trail.OpOpen,
	kWrite: trail.OpWrite, kPwrite64: trail.OpWrite, kWritev: trail.OpWrite, kPwritev: trail.OpWrite,
	kFsync: trail.OpFsync, kFdatasync: trail.OpFdatasync, kClose: trail.OpClose,
	kRename: trail.OpRename, kRenameat: trail.OpRename, kRenameat2: trail.OpRename,
	kLink: trail.OpLink, kLinkat: trail.OpLink,
	kUnlink: trail.OpUnlink, kUnlinkat: trail.OpUnlink,
	kTruncate: trail.OpTruncate, kFtruncate: trail.OpTruncate,
	kDup: trail.OpDup, kDup2: trail.OpDup, kDup3: trail.OpDup, kSetFD: trail.OpSetFD,
	kFork: trail.OpFork, kExec: trail.OpExec, kExit: trail.OpExit,
	kPwritev2: trail.OpWrite, kFallocate: trail.OpWrite,
	kRead: trail.OpRead, kPread64: trail.OpRead, kReadv: trail.OpRead, kPreadv: trail.OpRead, kPreadv2: trail.OpRead,
	kLock: trail.OpLock, kUnlock: trail.OpUnlock, kUntraced: trail.OpUntraced,
	kOpenByHandle: trail.OpOpen,
	// With cloexec a close_range is a setfd (setDescriptors).
	kCloseRange: trail.OpClose,
}

// headerSize is sizeof(struct event) in bpf/record.c; a test checks it
// against the generated Go type (bpf.RecordEvent).
const headerSize = 112

// moreSize is sizeof(struct more) in bpf/record.c: a record of this size
// continues its thread's last open or write. A test checks it against the
// generated Go type (bpf.RecordMore).
const moreSize = 48

// writes holds each thread's last successful open or write event, which a
// continuation record (struct more in bpf/record.c) turns into a write at
// a new offset or the close of the same descriptor. Entries are pointers
// so that a continued write, the commonest record, only moves the time of
// its thread's entry instead of copying an event into the map.
type writes map[int]*trail.Event

// set makes e the last event of its thread, reusing the thread's entry.
func (w writes) set(e *trail.Event) {
	if p := w[e.TID]; p != nil {
		*p = *e
		return
	}
	c := *e
	w[e.TID] = &c
}

// forget drops events made before t: the kernel continues one only within
// a second, so after that none can be continued.
func (w writes) forget(t time.Time) {
	for tid, e := range w {
		if e.TS.Before(t) {
			delete(w, tid)
		}
	}
}

// track updates w after e, a full event. A successful open, a write or
// a read starts its thread's sequence again; any other call of the thread
// ends its sequence in the kernel too; a fork is not a call of the
// thread's own (sched_process_fork), and a 32-bit call's untraced event
// does not touch the sequence.
func (w writes) track(e *trail.Event) {
	switch {
	case e.Op == trail.OpWrite || e.Op == trail.OpRead || e.Op == trail.OpOpen && e.Err == "":
		w.set(e)
	case e.Op != trail.OpFork && e.Op != trail.OpUntraced:
		delete(w, e.TID)
	}
}

// pidMaxLimit is the kernel's PID_MAX_LIMIT: no pid is larger.
const pidMaxLimit = 1 << 22

var errShort = errors.New("record: short event")

// errNoPath is returned for a call whose path could not be read (a bad
// pointer, EFAULT): the trail has no way to say which file it was about.
var errNoPath = errors.New("record: event without a path")

// decode fills e from one ring-buffer record. bootToWall is added to the
// kernel's boot-time clock to get wall-clock nanoseconds. Strings come
// from names, so a file written a thousand times costs one allocation.
// last is kept up to date for the continuation records that follow.
//
// A continuation record (struct more in bpf/record.c), the commonest, is
// decoded here rather than in a function of its own so that it costs no
// further call: e becomes a copy of its thread's last event in last with
// the fields the kernel sends anew. A full record goes to decodeEvent.
func decode(raw []byte, bootToWall int64, names interner, last writes, e *trail.Event) error {
	if len(raw) != moreSize {
		return decodeEvent(raw, bootToWall, names, last, e)
	}
	le := binary.LittleEndian
	tid := int(le.Uint32(raw[36:]))
	prev := last[tid]
	if prev == nil || prev.PID != int(le.Uint32(raw[32:])) {
		return errNoPath // the event it continues was not delivered
	}
	*e = *prev
	e.TS = time.Unix(0, int64(le.Uint64(raw[0:]))+bootToWall)
	e.Flags = 0
	e.Off = int64(le.Uint64(raw[8:]))
	e.Len = int64(le.Uint64(raw[16:]))
	setRet(e, int64(le.Uint64(raw[24:])))
	e.Sys = ""
	switch op := le.Uint32(raw[40:]); op {
	case kWrite, kRead:
		// What the next continuation repeats is the same but for the
		// fields it sends itself; only the time matters to forget.
		e.Op = trailOps[op]
		prev.TS = e.TS
	case kClose:
		e.Op = trail.OpClose
		delete(last, tid)
	default:
		return errors.New("record: unknown operation in continuation")
	}
	return nil
}

// decodeEvent fills e from a full record (struct event in bpf/record.c
// followed by its strings), in phases: check the header, read the
// strings, fill e from the header, drop an event without the paths its op
// needs, and update last.
func decodeEvent(raw []byte, bootToWall int64, names interner, last writes, e *trail.Event) error {
	if len(raw) < headerSize {
		return errShort
	}
	le := binary.LittleEndian
	op, pid, tid := le.Uint32(raw[68:]), le.Uint32(raw[56:]), le.Uint32(raw[60:])
	if op == 0 || op >= kMax || trailOps[op] == trail.OpNone {
		return errors.New("record: unknown operation in event")
	}
	if pid > pidMaxLimit || tid > pidMaxLimit {
		return errors.New("record: pid out of range in event")
	}
	strs, ok := readStrings(raw, names)
	if !ok {
		delete(last, int(tid))
		return errShort
	}
	fillEvent(raw, bootToWall, names, &strs, e)
	// A close_range is not filtered by file and carries no path.
	if op != kCloseRange && !named(e) {
		delete(last, int(tid))
		return errNoPath
	}
	last.track(e)
	return nil
}

// readStrings reads the four strings that follow the header (the path's
// directory and path, then the second path's), whose lengths the header
// gives; false if the record is cut short of them.
func readStrings(raw []byte, names interner) (strs [4]string, ok bool) {
	le := binary.LittleEndian
	data := raw[headerSize:]
	for i := range strs {
		l := int(le.Uint16(raw[72+2*i:]))
		if l > len(data) {
			return strs, false
		}
		strs[i], data = names.str(data[:l]), data[l:]
	}
	return strs, true
}

// fillEvent sets e from the header and from strs, the record's strings.
// The fields only some ops carry are set last: the device of a file with
// an inode, an open's flags, a rename's or unlink's call times.
func fillEvent(raw []byte, bootToWall int64, names interner, strs *[4]string, e *trail.Event) {
	le := binary.LittleEndian
	op := le.Uint32(raw[68:])
	*e = trail.Event{
		TS:   time.Unix(0, int64(le.Uint64(raw[0:]))+bootToWall),
		PID:  int(le.Uint32(raw[56:])),
		TID:  int(le.Uint32(raw[60:])),
		Comm: names.str(cString(raw[80:96])),
		Op:   trailOps[op],
		Path: joinPath(strs[0], strs[1]),
		To:   joinPath(strs[2], strs[3]),
		FD:   int(int32(le.Uint32(raw[64:]))),
		Ino:  le.Uint64(raw[16:]),
		Off:  int64(le.Uint64(raw[24:])),
		Len:  int64(le.Uint64(raw[32:])),
		Src:  "ebpf",
	}
	setDescriptors(e, op, le.Uint32(raw[96:]), raw[100] != 0)
	e.Mode, e.Sys, e.Lock = name(modeNames, raw[101]), name(sysNames, raw[102]), name(lockNames, raw[103])
	setRet(e, int64(le.Uint64(raw[40:])))
	flags := le.Uint64(raw[48:])
	if e.Ino != 0 {
		e.Dev = kernelDev(le.Uint64(raw[8:]))
	}
	if e.Op == trail.OpOpen {
		e.Flags = trail.HostOpenFlags(int(flags))
	}
	if e.Op == trail.OpRename || e.Op == trail.OpUnlink {
		setNameTimes(e, le.Uint64(raw[104:]), bootToWall, flags)
	}
}

// The names of struct event's mode, sys and lock codes (MODE_*, enum sys
// and enum lock in bpf/record.c); "" for 0.
var (
	modeNames = []string{"", "shared", "exclusive"}
	sysNames  = []string{"", "copy_file_range", "sendfile", "splice", "pwritev2", "fallocate", "mmap", "msync",
		"io_uring_setup", "ia32", "munmap", "ficlone", "ficlonerange", "io_setup"}
	lockNames = []string{"", "flock", "posix", "ofd"}
)

func name(names []string, code uint8) string {
	if int(code) < len(names) {
		return names[code]
	}
	return "unknown" + strconv.Itoa(int(code))
}

// setDescriptors sets the fields of the descriptor and process ops from
// the kernel's: fd2 is dup's old descriptor, the last descriptor of a
// close_range, or a fork's child.
func setDescriptors(e *trail.Event, op uint32, fd2 uint32, cloexec bool) {
	switch op {
	case kDup, kDup2, kDup3:
		e.OldFD, e.CloExec = int(fd2), cloexec
	case kSetFD:
		e.CloExec = cloexec
	case kCloseRange:
		// close_range's "every descriptor" (~0U) is the largest int32.
		e.MaxFD = int(min(fd2, math.MaxInt32))
		if cloexec {
			e.Op, e.CloExec = trail.OpSetFD, true
		}
	case kFork:
		e.Child = int(fd2)
	}
}

// setNameTimes sets a rename's or unlink's call times from the kernel's
// entry time (0: the call entered before recording began), and a
// rename's mode from renameat2's flags.
func setNameTimes(e *trail.Event, entered uint64, bootToWall int64, flags uint64) {
	if entered != 0 {
		e.Called = time.Unix(0, int64(entered)+bootToWall)
		e.Returned = e.TS
	}
	if e.Op == trail.OpRename && flags&unix.RENAME_EXCHANGE != 0 {
		e.Mode = "exchange"
	}
}

// setRet sets e's return value from the kernel's: a negative errno
// becomes ret -1 with the errno's name.
func setRet(e *trail.Event, ret int64) {
	e.Ret, e.Err = ret, ""
	if ret < 0 && ret > -4096 {
		e.Ret, e.Err = -1, errName(syscall.Errno(-ret))
	}
}

// errName names errno as the trail does ("ENOENT"). The kernel's internal
// restart codes (ERESTARTSYS 512 … ERESTART_RESTARTBLOCK 516), which the
// exit tracepoint sees before signal handling, reach the process as EINTR
// or as a restarted call, which is recorded again.
func errName(errno syscall.Errno) string {
	if errno >= 512 && errno <= 516 {
		return "EINTR"
	}
	if name := unix.ErrnoName(errno); name != "" {
		return name
	}
	return "E" + strconv.Itoa(int(errno))
}

// kernelDev converts the kernel's internal dev_t (major<<20 | minor) to the
// encoding stat(2) returns in st_dev.
func kernelDev(d uint64) uint64 {
	return unix.Mkdev(uint32(d>>20), uint32(d&(1<<20-1)))
}

// joinPath joins the directory the kernel resolved (dirfd, cwd, or the
// opened file itself) and the path the process passed, and cleans the
// result. dir is empty when raw is absolute or could not be resolved.
func joinPath(dir, raw string) string {
	switch {
	case dir == "" && raw == "":
		return ""
	case dir == "":
		if filepath.IsAbs(raw) {
			return filepath.Clean(raw)
		}
		return raw // the directory was unknown (a bad dirfd): keep it as passed
	case raw == "":
		return filepath.Clean(dir)
	}
	return filepath.Clean(dir + "/" + raw)
}

func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// An interner hands out one string per distinct byte sequence, up to
// maxInterned of them (then it starts over), so memory stays bounded.
type interner map[string]string

const maxInterned = 4096

func (in interner) str(b []byte) string {
	if s, ok := in[string(b)]; ok { // no allocation for the lookup
		return s
	}
	if len(in) >= maxInterned {
		clear(in)
	}
	s := string(b)
	in[s] = s
	return s
}

// named reports whether e has the paths its op needs to be a trail event:
// a dup, fork, exit or untraced event needs none (a dup of a pipe onto a
// file's descriptor ends that file's descriptor all the same).
func named(e *trail.Event) bool {
	switch e.Op {
	case trail.OpDup, trail.OpFork, trail.OpExit, trail.OpUntraced:
		return true
	case trail.OpRename, trail.OpLink:
		return e.Path != "" && e.To != ""
	}
	return e.Path != ""
}
