package trail

import (
	"strconv"
	"time"
)

// Op is the file operation an Event records.
type Op uint8

// The operations of trail format v1. OpNone is the zero Op: an event
// without an operation, such as a loss record.
const (
	OpNone Op = iota
	OpOpen
	OpWrite
	OpRead
	OpFsync
	OpFdatasync
	OpClose
	OpRename
	OpLink
	OpUnlink
	OpTruncate
	OpLock
	OpUnlock
	OpDup
	OpSetFD
	OpFork
	OpExec
	OpExit
	OpUntraced
	numOps
)

var opNames = [numOps]string{
	OpNone:      "",
	OpOpen:      "open",
	OpWrite:     "write",
	OpRead:      "read",
	OpFsync:     "fsync",
	OpFdatasync: "fdatasync",
	OpClose:     "close",
	OpRename:    "rename",
	OpLink:      "link",
	OpUnlink:    "unlink",
	OpTruncate:  "truncate",
	OpLock:      "lock",
	OpUnlock:    "unlock",
	OpDup:       "dup",
	OpSetFD:     "setfd",
	OpFork:      "fork",
	OpExec:      "exec",
	OpExit:      "exit",
	OpUntraced:  "untraced",
}

// String returns the op's name in the format ("open", "rename", …), or ""
// for OpNone.
func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// ParseOp returns the Op named s, and false when s names none of the v1 ops.
func ParseOp(s string) (Op, bool) { return parseOp([]byte(s)) }

func parseOp(b []byte) (Op, bool) {
	// The compiler does not allocate for string(b) in a comparison.
	for o := OpOpen; o < numOps; o++ {
		if string(b) == opNames[o] {
			return o, true
		}
	}
	return OpNone, false
}

// hasRange reports whether off and len belong to the op, so that the
// encoder writes them even when zero (a write at offset 0 is meaningful;
// a lock of length 0 reaches the end of the file, as fcntl's does).
func (o Op) hasRange() bool {
	return o == OpWrite || o == OpRead || o == OpTruncate || o == OpLock || o == OpUnlock
}

// NoFD is the FD of an event that has no file descriptor (rename, link,
// unlink, or a recorder that did not see it). 0 is a real descriptor.
const NoFD = -1

// Event is one line of a trail: one file operation, or a loss record.
//
// The zero value is not a valid event for writing: set FD to NoFD (and Off
// to -1) when the operation has none. The Reader does that for every field
// a line leaves out, so a decoded event says "absent" the same way.
type Event struct {
	TS   time.Time // when the operation completed; encoded in UTC with 9-digit nanoseconds
	Host string    // optional
	PID  int
	TID  int
	Comm string // optional
	Op   Op     // OpNone only in loss records

	Path string // absolute and cleaned; for rename and link the source
	To   string // destination of rename and link

	FD    int       // NoFD (-1) when the op has none; never encoded when negative
	Flags OpenFlags // open(2) flags, encoded for open only
	Dev   uint64    // 0 when unknown
	Ino   uint64    // 0 when unknown

	// Off and Len are the byte range of write, read, truncate, lock and
	// unlock (truncate: Off is the new size; lock: Len 0 reaches the end
	// of the file). -1 means unknown and is not encoded. Other ops encode
	// them only when positive.
	Off int64
	Len int64
	Ret int64  // the return value; encoded for every op
	Err string // errno name on failure ("EEXIST"), "" on success

	Src  string // what recorded it: "atomicfile", "stress", "ebpf", "ptrace", …
	Call string // optional id grouping the events of one logical replace

	// Sys names the system call when it is not the op's own: a write made
	// by "copy_file_range", "sendfile", "splice", "pwritev2", "fallocate"
	// or "mmap", a read by "copy_file_range", an untraced event's call
	// ("io_uring_setup").
	Sys string

	// OldFD is the descriptor a dup duplicated into FD; encoded for dup
	// only. MaxFD ends a range of descriptors FD..MaxFD (close_range):
	// encoded for close and setfd when above FD, 0 when there is none.
	OldFD int
	MaxFD int
	// CloExec reports that FD closes on exec: set by dup (dup3 O_CLOEXEC,
	// F_DUPFD_CLOEXEC) and setfd; a setfd without it clears the flag.
	CloExec bool
	// Child is the pid of the process a fork created; encoded for fork only.
	Child int
	// Lock is the kind of a lock or unlock: "flock", "posix" (fcntl
	// F_SETLK, released by any close of the file in the process) or "ofd"
	// (F_OFD_SETLK, owned by the open file description, as flock).
	Lock string
	// Mode is "shared" or "exclusive" for a lock, and "shared" for a fork
	// whose child shares the parent's descriptor table (CLONE_FILES).
	Mode string
	// Called and Returned are when the system call was entered and when
	// it returned, when a recorder knows both (heisen record's renames and
	// unlinks):
	// the operation took effect between them, and TS is placed in that
	// interval. Zero when unknown; encoded only when set.
	Called, Returned time.Time

	// Lost is the number of events a recorder dropped, set only in loss
	// records (Op == OpNone); LostPerCPU optionally splits it per CPU.
	Lost       uint64
	LostPerCPU []uint64

	// Pos is where the Reader found the event: file and 1-based line. It is
	// not part of the format; the Writer ignores it.
	Pos Pos
}

// Pos is a line of a trail file, printed as "file:line".
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return p.File + ":" + strconv.Itoa(p.Line) }

// IsLoss reports whether e is a loss record rather than a file operation.
func (e *Event) IsLoss() bool { return e.Op == OpNone }
