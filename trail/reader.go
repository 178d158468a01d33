package trail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"unicode/utf8"
)

// maxReadLine bounds the lines a Reader accepts. Writers never produce
// lines over MaxLine; this only keeps a corrupt file without newlines from
// growing the buffer without limit.
const maxReadLine = 1 << 20

// Stats counts what a Reader has seen so far.
type Stats struct {
	Lines       int64  // lines read, blank lines included
	Events      int64  // file-operation events returned by Read
	Malformed   int64  // lines skipped as malformed
	LossRecords int64  // loss records seen (not returned by Read)
	Lost        uint64 // the sum of their lost counts
}

func (s *Stats) add(o Stats) {
	s.Lines += o.Lines
	s.Events += o.Events
	s.Malformed += o.Malformed
	s.LossRecords += o.LossRecords
	s.Lost += o.Lost
}

// A LineError is a malformed line: where it is and why it was skipped.
type LineError struct {
	Pos    Pos
	Reason string
}

func (e *LineError) Error() string { return e.Pos.String() + ": " + e.Reason }

// A Reader streams the events of one trail. It holds one line at a time
// (and a bounded cache of recent strings), whatever the trail's length.
//
// Malformed lines (not JSON, no ts, an unknown op, a field of the wrong
// type, a line over 1 MiB) are skipped, counted in Stats and handed to
// Malformed when it is set; they never stop the Reader. Unknown fields
// are ignored whatever their value. Loss records (no op, a lost field)
// are counted in Stats and not returned. Read never panics, whatever the
// input.
type Reader struct {
	// Malformed, when set, is called for every malformed line, in order.
	Malformed func(*LineError)

	name    string
	br      *bufio.Reader
	long    []byte // a line longer than br's buffer, assembled
	stats   Stats
	p       parser
	intern  interner
	lineErr LineError
}

// NewReader returns a Reader of the trail in r. name is the file name used
// in event positions and errors.
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{name: name, br: bufio.NewReaderSize(r, 256<<10)}
}

// Name returns the name given to NewReader.
func (r *Reader) Name() string { return r.name }

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Read reads the next file-operation event into e, overwriting every field.
// It returns io.EOF at the end of the trail and a non-nil error, wrapped
// with the file name, when reading fails; malformed lines are not errors.
// The strings in e stay valid after the next Read; the LostPerCPU slice of
// loss records is never returned, so e never aliases the Reader's buffers.
func (r *Reader) Read(e *Event) error {
	for {
		line, err := r.readLine()
		if line == nil {
			if err == io.EOF {
				return io.EOF
			}
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return fmt.Errorf("trail: %w", err) // it names the file already
			}
			return fmt.Errorf("trail: read %s: %w", r.name, err)
		}
		r.stats.Lines++
		for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
			line = line[:len(line)-1]
		}
		if len(line) == 0 || (line[0] != '{' && len(bytes.TrimLeft(line, " \t")) == 0) {
			continue
		}
		*e = Event{Pos: Pos{File: r.name, Line: int(r.stats.Lines)}}
		var reason string
		if len(line) > maxReadLine {
			reason = "line longer than 1 MiB"
		} else {
			reason = r.p.parse(line, e, &r.intern)
		}
		if reason != "" {
			r.stats.Malformed++
			if r.Malformed != nil {
				r.lineErr = LineError{Pos: e.Pos, Reason: reason}
				r.Malformed(&r.lineErr)
			}
			continue
		}
		if e.Op == OpNone {
			r.stats.LossRecords++
			r.stats.Lost += e.Lost
			continue
		}
		e.LostPerCPU = nil
		r.stats.Events++
		return nil
	}
}

// readLine returns the next line with its newline, or nil and the error
// that ended the input. A line over maxReadLine is returned as a stub of
// maxReadLine+1 bytes so the caller can report it without holding it.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == nil || (err == io.EOF && len(line) > 0) {
		return line, nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	r.long = append(r.long[:0], line...)
	for {
		line, err = r.br.ReadSlice('\n')
		if len(r.long) <= maxReadLine {
			r.long = append(r.long, line...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		return r.long, nil
	}
}

// parser decodes one line. It is a hand-written scanner for the flat
// objects of the format: known keys are decoded in place, anything else is
// skipped as a JSON value.
type parser struct {
	b       []byte
	i       int
	scratch []byte // unescaped strings
	stack   []byte // brackets of a skipped value
	perCPU  []uint64
}

func (p *parser) parse(line []byte, e *Event, in *interner) string {
	p.b, p.i = line, 0
	e.FD, e.Off, e.Len = NoFD, -1, -1
	var hasTS, hasLost bool
	p.ws()
	if !p.eat('{') {
		return "not a JSON object"
	}
	p.ws()
	if !p.eat('}') {
		for {
			p.ws()
			key, ok := p.str()
			if !ok {
				return "bad key"
			}
			p.ws()
			if !p.eat(':') {
				return "expected ':' after key"
			}
			p.ws()
			if p.null() {
				// A null known field is an absent one.
			} else if reason := p.field(key, e, in, &hasTS, &hasLost); reason != "" {
				return reason
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat('}') {
				break
			}
			return "expected ',' or '}' at byte " + strconv.Itoa(p.i+1)
		}
	}
	p.ws()
	if p.i != len(p.b) {
		return "data after the object"
	}
	switch {
	case !hasTS:
		return "no ts"
	case e.Op == OpNone && !hasLost:
		return "no op"
	case (e.Op == OpOpen || e.Op == OpRename || e.Op == OpLink || e.Op == OpUnlink) && e.Path == "":
		return e.Op.String() + " without path"
	case (e.Op == OpRename || e.Op == OpLink) && e.To == "":
		return e.Op.String() + " without to"
	}
	return ""
}

// field decodes the value of key into e, and returns a reason when the
// value does not have the type the format gives the key.
func (p *parser) field(key []byte, e *Event, in *interner, hasTS, hasLost *bool) string {
	var ok bool
	switch string(key) {
	case "ts":
		var s []byte
		if s, ok = p.str(); ok {
			e.TS, ok = parseTime(s)
			*hasTS = ok
		}
	case "op":
		var s []byte
		if s, ok = p.str(); ok {
			if e.Op, ok = parseOp(s); !ok {
				return "unknown op " + strconv.Quote(string(s))
			}
		}
	case "flags":
		var s []byte
		if s, ok = p.str(); ok {
			if e.Flags, ok = parseOpenFlags(s); !ok {
				return "bad flags " + strconv.Quote(string(s))
			}
		}
	case "host":
		e.Host, ok = p.interned(in)
	case "comm":
		e.Comm, ok = p.interned(in)
	case "path":
		e.Path, ok = p.interned(in)
	case "to":
		e.To, ok = p.interned(in)
	case "err":
		e.Err, ok = p.interned(in)
	case "src":
		e.Src, ok = p.interned(in)
	case "call":
		e.Call, ok = p.interned(in)
	case "pid":
		var v int64
		v, ok = p.int(32)
		e.PID = int(v)
	case "tid":
		var v int64
		v, ok = p.int(32)
		e.TID = int(v)
	case "fd":
		var v int64
		v, ok = p.int(32)
		e.FD = int(v)
	case "off":
		e.Off, ok = p.int(64)
	case "len":
		e.Len, ok = p.int(64)
	case "ret":
		e.Ret, ok = p.int(64)
	case "dev":
		e.Dev, ok = p.uint()
	case "ino":
		e.Ino, ok = p.uint()
	case "lost":
		e.Lost, ok = p.uint()
		*hasLost = ok
	case "lost_per_cpu":
		e.LostPerCPU, ok = p.uints()
	default:
		if !p.skip() {
			return "bad value for " + strconv.Quote(string(key))
		}
		return ""
	}
	if !ok {
		return "bad " + string(key)
	}
	return ""
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) null() bool {
	if p.i < len(p.b) && p.b[p.i] == 'n' && bytes.HasPrefix(p.b[p.i:], []byte("null")) {
		p.i += 4
		return true
	}
	return false
}

// str decodes a JSON string. The result aliases the line when the string
// has no escapes, p.scratch otherwise; either way it is only valid until
// the next call. Raw control characters are accepted (JSON forbids them,
// but no reading of them is ambiguous), which lets the common case be two
// vectorised byte searches.
func (p *parser) str() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	// Keys and most values are short: a plain loop beats IndexByte's
	// setup there; long paths get the vectorised search.
	for i := start; i < len(p.b) && i < start+16; i++ {
		switch p.b[i] {
		case '"':
			p.i = i + 1
			return p.b[start:i], true
		case '\\':
			p.i = i
			return p.unescape(start)
		}
	}
	end := bytes.IndexByte(p.b[start:], '"')
	if end < 0 {
		return nil, false
	}
	if esc := bytes.IndexByte(p.b[start:start+end], '\\'); esc >= 0 {
		p.i = start + esc
		return p.unescape(start)
	}
	p.i = start + end + 1
	return p.b[start : start+end], true
}

// unescape finishes a string with escapes, from the first backslash.
func (p *parser) unescape(start int) ([]byte, bool) {
	out := append(p.scratch[:0], p.b[start:p.i]...)
	defer func() { p.scratch = out[:0] }()
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return out, true
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return nil, false
		}
		esc := p.b[p.i+1]
		p.i += 2
		switch esc {
		case '"', '\\', '/':
			out = append(out, esc)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return nil, false
			}
			if r >= 0xd800 && r < 0xdc00 && bytes.HasPrefix(p.b[p.i:], []byte(`\u`)) {
				p.i += 2
				lo, ok := p.hex4()
				if !ok {
					return nil, false
				}
				if lo >= 0xdc00 && lo < 0xe000 {
					r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
				} else {
					out = utf8.AppendRune(out, 0xfffd)
					r = lo
				}
			}
			if r >= 0xd800 && r < 0xe000 {
				r = 0xfffd // an unpaired surrogate, as encoding/json does
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false
		}
	}
	return nil, false
}

func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

func (p *parser) interned(in *interner) (string, bool) {
	s, ok := p.str()
	if !ok {
		return "", false
	}
	return in.get(s), true
}

// int decodes a JSON integer that fits in bits bits.
func (p *parser) int(bits int) (int64, bool) {
	neg := p.eat('-')
	u, ok := p.uint()
	if !ok {
		return 0, false
	}
	limit := uint64(1) << (bits - 1)
	if neg {
		if u > limit {
			return 0, false
		}
		return -int64(u), true
	}
	if u >= limit {
		return 0, false
	}
	return int64(u), true
}

// uint decodes a non-negative JSON integer. Fractions and exponents are
// rejected: no field of the format has them.
func (p *parser) uint() (uint64, bool) {
	start := p.i
	var v uint64
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c < '0' || c > '9' {
			break
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
		p.i++
	}
	if p.i == start || (p.b[start] == '0' && p.i-start > 1) {
		return 0, false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return 0, false
	}
	return v, true
}

func (p *parser) uints() ([]uint64, bool) {
	if !p.eat('[') {
		return nil, false
	}
	out := p.perCPU[:0]
	defer func() { p.perCPU = out[:0] }()
	p.ws()
	if p.eat(']') {
		return out, true
	}
	for {
		p.ws()
		v, ok := p.uint()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		p.ws()
		if p.eat(']') {
			return out, true
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}

// skip passes over one JSON value of any kind. Nesting is tracked on a
// stack of closing brackets; it checks structure loosely (it is enough
// that the line's own fields stay parseable) but never reads past the line.
func (p *parser) skip() bool {
	p.stack = p.stack[:0]
	for {
		p.ws()
		if p.i >= len(p.b) {
			return false
		}
		switch c := p.b[p.i]; {
		case c == '"':
			if _, ok := p.str(); !ok {
				return false
			}
		case c == '{' || c == '[':
			p.i++
			closer := c + 2 // '{'+2 == '}', '['+2 == ']'
			p.ws()
			if p.eat(closer) {
				break // an empty object or array is a whole value
			}
			p.stack = append(p.stack, closer)
			if c == '{' && !p.key() {
				return false
			}
			continue
		case c == '-' || (c >= '0' && c <= '9'):
			p.i++
			for p.i < len(p.b) && bytes.IndexByte([]byte("0123456789+-.eE"), p.b[p.i]) >= 0 {
				p.i++
			}
		case bytes.HasPrefix(p.b[p.i:], []byte("true")):
			p.i += 4
		case bytes.HasPrefix(p.b[p.i:], []byte("false")):
			p.i += 5
		case bytes.HasPrefix(p.b[p.i:], []byte("null")):
			p.i += 4
		default:
			return false
		}
		// After a value: inside an object or array expect ',' or a close.
		for {
			if len(p.stack) == 0 {
				return true
			}
			p.ws()
			if p.eat(',') {
				if p.stack[len(p.stack)-1] == '}' && !p.key() {
					return false
				}
				break
			}
			if p.eat(p.stack[len(p.stack)-1]) {
				p.stack = p.stack[:len(p.stack)-1]
				continue
			}
			return false
		}
	}
}

// key passes over an object key of a skipped value and its colon.
func (p *parser) key() bool {
	p.ws()
	if _, ok := p.str(); !ok {
		return false
	}
	p.ws()
	return p.eat(':')
}
