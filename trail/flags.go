package trail

import (
	"strconv"
)

// OpenFlags are open(2) flags with the values of Linux's generic ABI
// (x86-64, riscv, …), whatever machine wrote or reads the trail: the
// format carries names, and these bits are only their in-memory form. Use
// HostOpenFlags to convert flags a process passed to open on this machine.
type OpenFlags uint32

// The open flags the format names. O_RDONLY is 0: test the access mode
// with f&O_ACCMODE.
const (
	O_RDONLY    OpenFlags = 0x0
	O_WRONLY    OpenFlags = 0x1
	O_RDWR      OpenFlags = 0x2
	O_ACCMODE   OpenFlags = 0x3
	O_CREAT     OpenFlags = 0x40
	O_EXCL      OpenFlags = 0x80
	O_NOCTTY    OpenFlags = 0x100
	O_TRUNC     OpenFlags = 0x200
	O_APPEND    OpenFlags = 0x400
	O_NONBLOCK  OpenFlags = 0x800
	O_DSYNC     OpenFlags = 0x1000
	O_DIRECT    OpenFlags = 0x4000
	O_LARGEFILE OpenFlags = 0x8000
	O_DIRECTORY OpenFlags = 0x10000
	O_NOFOLLOW  OpenFlags = 0x20000
	O_NOATIME   OpenFlags = 0x40000
	O_CLOEXEC   OpenFlags = 0x80000
	O_SYNC      OpenFlags = 0x101000 // includes O_DSYNC
	O_PATH      OpenFlags = 0x200000
	O_TMPFILE   OpenFlags = 0x410000 // includes O_DIRECTORY
)

// flagNames lists composite flags before their parts so that O_SYNC is
// not printed as O_DSYNC plus a stray bit.
var flagNames = [...]struct {
	name string
	bit  OpenFlags
}{
	{"O_CREAT", O_CREAT}, {"O_EXCL", O_EXCL}, {"O_NOCTTY", O_NOCTTY},
	{"O_TRUNC", O_TRUNC}, {"O_APPEND", O_APPEND}, {"O_NONBLOCK", O_NONBLOCK},
	{"O_SYNC", O_SYNC}, {"O_DSYNC", O_DSYNC}, {"O_DIRECT", O_DIRECT},
	{"O_LARGEFILE", O_LARGEFILE}, {"O_TMPFILE", O_TMPFILE},
	{"O_DIRECTORY", O_DIRECTORY}, {"O_NOFOLLOW", O_NOFOLLOW},
	{"O_NOATIME", O_NOATIME}, {"O_CLOEXEC", O_CLOEXEC}, {"O_PATH", O_PATH},
}

var accNames = [4]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}

// Writes reports whether the flags open the file for writing.
func (f OpenFlags) Writes() bool { return f&O_ACCMODE == O_WRONLY || f&O_ACCMODE == O_RDWR }

// String returns the flags as the format writes them: the access mode, then
// each set flag, joined by "|" ("O_WRONLY|O_CREAT|O_TRUNC"). Bits without a
// name are appended as one hexadecimal number.
func (f OpenFlags) String() string { return string(f.appendTo(nil)) }

func (f OpenFlags) appendTo(b []byte) []byte {
	b = append(b, accNames[f&O_ACCMODE]...)
	rest := f &^ O_ACCMODE
	for _, n := range flagNames {
		if rest&n.bit == n.bit {
			b = append(b, '|')
			b = append(b, n.name...)
			rest &^= n.bit
		}
	}
	if rest != 0 {
		b = append(b, "|0x"...)
		b = strconv.AppendUint(b, uint64(rest), 16)
	}
	return b
}

// ParseOpenFlags parses flags written by String. It accepts the names in
// any order and hexadecimal numbers ("0x8000") for unnamed bits.
func ParseOpenFlags(s string) (OpenFlags, bool) { return parseOpenFlags([]byte(s)) }

func parseOpenFlags(b []byte) (OpenFlags, bool) {
	var f OpenFlags
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '|' {
			i++
		}
		part := b[:i]
		if i < len(b) {
			i++
		}
		b = b[i:]
		bit, ok := parseFlag(part)
		if !ok {
			return 0, false
		}
		f |= bit
	}
	return f, true
}

func parseFlag(p []byte) (OpenFlags, bool) {
	for i, n := range accNames[:3] {
		if string(p) == n {
			return OpenFlags(i), true
		}
	}
	for _, n := range flagNames {
		if string(p) == n.name {
			return n.bit, true
		}
	}
	if len(p) > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') {
		v, err := strconv.ParseUint(string(p[2:]), 16, 32)
		return OpenFlags(v), err == nil
	}
	return 0, false
}

// hostFlag pairs a flag of this package with its value on the running OS.
type hostFlag struct {
	trail OpenFlags
	host  int
}

// HostOpenFlags converts flags as passed to open(2) on this machine (e.g.
// os.O_WRONLY|os.O_CREATE) to OpenFlags. Bits it does not know are dropped.
func HostOpenFlags(host int) OpenFlags {
	f := OpenFlags(0)
	switch host & hostAccMode {
	case hostWrOnly:
		f = O_WRONLY
	case hostRdWr:
		f = O_RDWR
	}
	for _, h := range hostFlags {
		if h.host != 0 && host&h.host == h.host {
			f |= h.trail
		}
	}
	return f
}
