//go:build linux && (amd64 || arm64)

package record

import (
	"bytes"
	"encoding/binary"
	"errors"
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
}

// headerSize is sizeof(struct event) in bpf/record.c; a test checks it
// against the generated Go type.
const headerSize = 96

// moreSize is sizeof(struct more) in bpf/record.c: a record of this size
// continues its thread's last open or write.
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
func decode(raw []byte, bootToWall int64, names interner, last writes, e *trail.Event) error {
	le := binary.LittleEndian
	if len(raw) == moreSize {
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
		switch le.Uint32(raw[40:]) {
		case kWrite:
			// What the next continuation repeats is the same but for the
			// fields it sends itself; only the time matters to forget.
			e.Op = trail.OpWrite
			prev.TS = e.TS
		case kClose:
			e.Op = trail.OpClose
			delete(last, tid)
		default:
			return errors.New("record: unknown operation in continuation")
		}
		return nil
	}
	if len(raw) < headerSize {
		return errShort
	}
	ts := le.Uint64(raw[0:])
	dev := le.Uint64(raw[8:])
	ino := le.Uint64(raw[16:])
	off := int64(le.Uint64(raw[24:]))
	n := int64(le.Uint64(raw[32:]))
	ret := int64(le.Uint64(raw[40:]))
	flags := le.Uint64(raw[48:])
	pid := le.Uint32(raw[56:])
	tid := le.Uint32(raw[60:])
	fd := int32(le.Uint32(raw[64:]))
	op := le.Uint32(raw[68:])
	var lens [4]int
	for i := range lens {
		lens[i] = int(le.Uint16(raw[72+2*i:]))
	}
	comm := raw[80:96]
	if op == 0 || op >= kMax {
		return errors.New("record: unknown operation in event")
	}
	if pid > pidMaxLimit || tid > pidMaxLimit {
		return errors.New("record: pid out of range in event")
	}
	data := raw[headerSize:]
	var strs [4]string
	for i, l := range lens {
		if l > len(data) {
			delete(last, int(tid))
			return errShort
		}
		strs[i], data = names.str(data[:l]), data[l:]
	}

	*e = trail.Event{
		TS:   time.Unix(0, int64(ts)+bootToWall),
		PID:  int(pid),
		TID:  int(tid),
		Comm: names.str(cString(comm)),
		Op:   trailOps[op],
		Path: joinPath(strs[0], strs[1]),
		To:   joinPath(strs[2], strs[3]),
		FD:   int(fd),
		Ino:  ino,
		Off:  off,
		Len:  n,
		Src:  "ebpf",
	}
	if !named(e) {
		delete(last, int(tid))
		return errNoPath
	}
	if ino != 0 {
		e.Dev = kernelDev(dev)
	}
	if e.Op == trail.OpOpen {
		e.Flags = trail.HostOpenFlags(int(flags))
	}
	setRet(e, ret)
	// Any other call of the thread ends its sequence in the kernel too.
	if e.Op == trail.OpWrite || e.Op == trail.OpOpen && e.Err == "" {
		last.set(e)
	} else {
		delete(last, e.TID)
	}
	return nil
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

// named reports whether e has the paths its op needs to be a trail event.
func named(e *trail.Event) bool {
	return e.Path != "" && (e.To != "" || e.Op != trail.OpRename && e.Op != trail.OpLink)
}
