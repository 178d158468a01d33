package trail

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends e as one line of trail format v1, including the final
// newline, and returns the extended buffer. It allocates nothing when b has
// room. Empty fields are left out: host, comm, path, to, err, src and call
// when "", dev and ino when 0, fd when negative, off and len when negative
// (and for ops other than write, read and truncate, also when 0); ret is
// written for every op; flags for open only; oldfd for dup, child for fork,
// maxfd for close and setfd when above fd; cloexec when true; sys, lock and
// mode when not ""; called and returned when not zero. Strings are escaped as JSON
// requires; invalid UTF-8 bytes become U+FFFD, so the line is always valid
// UTF-8 and valid JSON.
func AppendJSON(b []byte, e *Event) []byte {
	b = append(b, `{"ts":"`...)
	b = appendTime(b, e.TS)
	b = append(b, '"')
	b = appendStr(b, `,"host":`, e.Host)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(e.PID), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(e.TID), 10)
	b = appendStr(b, `,"comm":`, e.Comm)
	if e.Op != OpNone {
		b = append(b, `,"op":"`...)
		b = append(b, e.Op.String()...)
		b = append(b, '"')
	}
	b = appendStr(b, `,"path":`, e.Path)
	b = appendStr(b, `,"to":`, e.To)
	if e.FD >= 0 {
		b = append(b, `,"fd":`...)
		b = strconv.AppendInt(b, int64(e.FD), 10)
	}
	if e.Op == OpOpen {
		b = append(b, `,"flags":"`...)
		b = e.Flags.appendTo(b)
		b = append(b, '"')
	}
	if e.Dev != 0 {
		b = append(b, `,"dev":`...)
		b = strconv.AppendUint(b, e.Dev, 10)
	}
	if e.Ino != 0 {
		b = append(b, `,"ino":`...)
		b = strconv.AppendUint(b, e.Ino, 10)
	}
	rng := e.Op.hasRange()
	if e.Off > 0 || (rng && e.Off == 0) {
		b = append(b, `,"off":`...)
		b = strconv.AppendInt(b, e.Off, 10)
	}
	if e.Len > 0 || (rng && e.Len == 0) {
		b = append(b, `,"len":`...)
		b = strconv.AppendInt(b, e.Len, 10)
	}
	if e.Op != OpNone {
		b = append(b, `,"ret":`...)
		b = strconv.AppendInt(b, e.Ret, 10)
	}
	b = appendStr(b, `,"err":`, e.Err)
	b = appendStr(b, `,"src":`, e.Src)
	b = appendStr(b, `,"call":`, e.Call)
	b = appendStr(b, `,"sys":`, e.Sys)
	b = appendDescriptors(b, e)
	b = appendStr(b, `,"lock":`, e.Lock)
	b = appendStr(b, `,"mode":`, e.Mode)
	b = appendOptTime(b, `,"called":"`, e.Called)
	b = appendOptTime(b, `,"returned":"`, e.Returned)
	if e.Op == OpNone {
		b = append(b, `,"lost":`...)
		b = strconv.AppendUint(b, e.Lost, 10)
		if len(e.LostPerCPU) > 0 {
			b = append(b, `,"lost_per_cpu":[`...)
			for i, n := range e.LostPerCPU {
				if i > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendUint(b, n, 10)
			}
			b = append(b, ']')
		}
	}
	return append(b, '}', '\n')
}

// appendDescriptors writes the fields of the descriptor-table ops: oldfd
// (dup), maxfd (close and setfd of a range), child (fork) and cloexec.
func appendDescriptors(b []byte, e *Event) []byte {
	switch e.Op {
	case OpDup:
		b = append(b, `,"oldfd":`...)
		b = strconv.AppendInt(b, int64(e.OldFD), 10)
	case OpClose, OpSetFD:
		if e.MaxFD > e.FD {
			b = append(b, `,"maxfd":`...)
			b = strconv.AppendInt(b, int64(e.MaxFD), 10)
		}
	case OpFork:
		b = append(b, `,"child":`...)
		b = strconv.AppendInt(b, int64(e.Child), 10)
	}
	if e.CloExec {
		b = append(b, `,"cloexec":true`...)
	}
	return b
}

// appendOptTime writes key (with its opening quote) and t, unless t is
// zero.
func appendOptTime(b []byte, key string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, key...)
	b = appendTime(b, t)
	return append(b, '"')
}

// appendTime writes t in UTC as 2006-01-02T15:04:05.000000000Z. Years
// outside 0..9999 cannot be written in RFC 3339 and are clamped.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	year = max(0, min(year, 9999))
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond(), 9)
	return append(b, 'Z')
}

// appendDigits writes v as exactly n decimal digits, zero-padded.
func appendDigits(b []byte, v, n int) []byte {
	var d [9]byte
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:n]...)
}

// appendStr writes key and s as a JSON string, or nothing when s is empty.
func appendStr(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, key...)
	return appendQuoted(b, s)
}

const hexDigits = "0123456789abcdef"

// appendQuoted writes s as a JSON string. Bytes that need no escape are
// copied in runs, so the common path is one append per string.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...) // the replacement character itself, as decoders return it
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
