package trail

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strconv"
	"time"
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
	Lost        uint64 // the sum of their lost counts, saturating at the largest uint64

	// Backwards counts events stamped earlier than an event before them
	// in the same trail, and MaxBackwards is the largest such step back. Merge
	// keeps each trail's line order, so where times run backwards its
	// output does too; analyze says so.
	Backwards    int64
	MaxBackwards time.Duration
}

func (s *Stats) add(o Stats) {
	s.Lines += o.Lines
	s.Events += o.Events
	s.Malformed += o.Malformed
	s.LossRecords += o.LossRecords
	s.Lost = addSat(s.Lost, o.Lost)
	s.Backwards += o.Backwards
	s.MaxBackwards = max(s.MaxBackwards, o.MaxBackwards)
}

// addSat adds without wrapping: a total of lost events that overflows is
// "more than can be counted", not a small number.
func addSat(a, b uint64) uint64 {
	if a+b < a {
		return math.MaxUint64
	}
	return a + b
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
	lastTS  time.Time // the latest time so far
	started bool      // the start of the input was checked for compression
	err     error     // an input that cannot be read as a trail
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
	if !r.started {
		r.started = true
		r.err = r.start()
	}
	if r.err != nil {
		return r.err
	}
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
		if r.stats.Lines == 1 {
			line = bytes.TrimPrefix(line, utf8BOM) // editors on some systems begin text with one
		}
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
			r.stats.Lost = addSat(r.stats.Lost, e.Lost)
			continue
		}
		e.LostPerCPU = nil
		r.stats.Events++
		if d := r.lastTS.Sub(e.TS); d > 0 {
			r.stats.Backwards++
			r.stats.MaxBackwards = max(r.stats.MaxBackwards, d)
		} else {
			r.lastTS = e.TS
		}
		return nil
	}
}

var (
	utf8BOM   = []byte{0xEF, 0xBB, 0xBF}
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	xzMagic   = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
	bzipMagic = []byte{'B', 'Z', 'h'}
)

// start looks at the first bytes of the input: a gzip-compressed trail
// is read through compress/gzip; other compressions the standard library
// does not read are named, so that a compressed trail is not taken for a
// file of malformed lines.
func (r *Reader) start() error {
	head, _ := r.br.Peek(6)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(r.br)
		if err != nil {
			return fmt.Errorf("trail: read %s: gzip: %w", r.name, err)
		}
		r.br = bufio.NewReaderSize(zr, 256<<10)
	case bytes.HasPrefix(head, zstdMagic):
		return fmt.Errorf("trail: read %s: zstd-compressed: decompress it first (zstd -d)", r.name)
	case bytes.HasPrefix(head, xzMagic):
		return fmt.Errorf("trail: read %s: xz-compressed: decompress it first (xz -d)", r.name)
	case bytes.HasPrefix(head, bzipMagic):
		return fmt.Errorf("trail: read %s: bzip2-compressed: decompress it first (bzip2 -d)", r.name)
	}
	return nil
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
	valid   []byte // strings with invalid UTF-8 replaced
	stack   []byte // brackets of a skipped value
	perCPU  []uint64
	clock   clockCache
	last    [numTexts]string // each text field's last value: most repeat the line before
}

// The text fields whose last value the parser keeps.
const (
	textHost = iota
	textComm
	textPath
	textTo
	textErr
	textSrc
	textCall
	textSys
	textLock
	textMode
	numTexts
)

func (p *parser) parse(line []byte, e *Event, in *interner) string {
	p.b, p.i = line, 0
	e.FD, e.Off, e.Len = NoFD, -1, -1
	var seen seen
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
			} else if reason := p.field(key, e, in, &seen); reason != "" {
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
	case !seen.ts:
		return "no ts"
	case e.Op == OpNone && !seen.lost:
		return "no op"
	case (e.Op == OpOpen || e.Op == OpRename || e.Op == OpLink || e.Op == OpUnlink) && e.Path == "":
		return e.Op.String() + " without path"
	case (e.Op == OpRename || e.Op == OpLink) && e.To == "":
		return e.Op.String() + " without to"
	case e.Op == OpDup && (e.FD < 0 || !seen.oldfd || e.OldFD < 0):
		return "dup without fd and oldfd"
	case e.Op == OpSetFD && e.FD < 0:
		return "setfd without fd"
	case e.Op == OpFork && e.Child <= 0:
		return "fork without child"
	}
	return ""
}

// seen notes the fields whose presence a line's validity depends on.
type seen struct{ ts, lost, oldfd bool }

// field decodes the value of key into e, and returns a reason when the
// value does not have the type the format gives the key. It is one case
// per field of the format, longer than a screen on purpose: the switch is
// the format's table of keys and types, read in one place (and kept in
// step with FuzzReader's jsonEvent), and a lookup through a map of
// functions would cost the hot path a call per field.
func (p *parser) field(key []byte, e *Event, in *interner, seen *seen) string {
	var ok bool
	switch string(key) {
	case "ts":
		e.TS, ok = p.time()
		seen.ts = ok
	case "called", "returned":
		var t time.Time
		if t, ok = p.time(); ok && key[0] == 'c' {
			e.Called = t
		} else if ok {
			e.Returned = t
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
		e.Host, ok = p.interned(in, textHost)
	case "comm":
		e.Comm, ok = p.interned(in, textComm)
	case "path":
		e.Path, ok = p.interned(in, textPath)
	case "to":
		e.To, ok = p.interned(in, textTo)
	case "err":
		e.Err, ok = p.interned(in, textErr)
	case "src":
		e.Src, ok = p.interned(in, textSrc)
	case "call":
		e.Call, ok = p.interned(in, textCall)
	case "sys":
		e.Sys, ok = p.interned(in, textSys)
	case "lock":
		e.Lock, ok = p.interned(in, textLock)
	case "mode":
		e.Mode, ok = p.interned(in, textMode)
	case "oldfd":
		e.OldFD, ok = p.int32()
		seen.oldfd = ok
	case "maxfd":
		// close_range's "every descriptor" is ~0U: clamp it to int32.
		var v int64
		v, ok = p.int(64)
		e.MaxFD = int(min(v, math.MaxInt32))
	case "child":
		e.Child, ok = p.int32()
	case "cloexec":
		e.CloExec, ok = p.bool()
	case "pid":
		e.PID, ok = p.int32()
	case "tid":
		e.TID, ok = p.int32()
	case "fd":
		e.FD, ok = p.int32()
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
		seen.lost = ok
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

// ws passes over whitespace. Writers put none between tokens: the first
// test is all most calls cost.
func (p *parser) ws() {
	if p.i < len(p.b) && p.b[p.i] > ' ' {
		return
	}
	p.wsSlow()
}

func (p *parser) wsSlow() {
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

func (p *parser) bool() (bool, bool) {
	switch {
	case bytes.HasPrefix(p.b[p.i:], []byte("true")):
		p.i += 4
		return true, true
	case bytes.HasPrefix(p.b[p.i:], []byte("false")):
		p.i += 5
		return false, true
	}
	return false, false
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
	rest := min(start+16, len(p.b)) // the loop read up to here
	end := bytes.IndexByte(p.b[rest:], '"')
	if end < 0 {
		return nil, false
	}
	end += rest
	if esc := bytes.IndexByte(p.b[rest:end], '\\'); esc >= 0 {
		p.i = rest + esc
		return p.unescape(start)
	}
	p.i = end + 1
	return p.b[start:end], true
}

// time decodes a timestamp string: stamp's way when it is in the writers'
// form, else as any string.
func (p *parser) time() (time.Time, bool) {
	if t, ok := p.stamp(); ok {
		return t, true
	}
	s, ok := p.str()
	if !ok {
		return time.Time{}, false
	}
	return p.clock.parse(s)
}

// stamp decodes a timestamp in the form writers produce, 30 bytes between
// quotes, without searching for the closing quote: the form's separators
// and digits, which parsing checks, leave no room for a quote or an
// escape inside. For any other value it reports false and reads nothing.
func (p *parser) stamp() (time.Time, bool) {
	const n = len(`"2006-01-02T15:04:05.000000000Z"`)
	if p.i+n > len(p.b) || p.b[p.i] != '"' || p.b[p.i+n-1] != '"' || !writersForm(p.b[p.i+1:p.i+n-1]) {
		return time.Time{}, false
	}
	t, ok := p.clock.parse(p.b[p.i+1 : p.i+n-1])
	if ok {
		p.i += n
	}
	return t, ok
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

// interned decodes a string value of text field k as encoding/json does,
// each byte that is not UTF-8 read as U+FFFD (which the Writer writes for
// it), and returns it interned. A value equal to the field's last one is
// that string again, without hashing: comm, src and often path repeat
// from line to line.
func (p *parser) interned(in *interner, k int) (string, bool) {
	s, ok := p.str()
	if !ok {
		return "", false
	}
	if string(s) == p.last[k] {
		return p.last[k], true
	}
	if !utf8.Valid(s) {
		s = p.toValid(s)
	}
	v := in.get(s)
	p.last[k] = v
	return v, true
}

// toValid returns s with every byte that does not start a valid UTF-8
// sequence replaced by U+FFFD, in p.valid.
func (p *parser) toValid(s []byte) []byte {
	out := p.valid[:0]
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, s[:n]...)
		}
		s = s[n:]
	}
	p.valid = out
	return out
}

// int32 decodes a JSON integer that fits in 32 bits: a pid or a descriptor.
func (p *parser) int32() (int, bool) {
	v, ok := p.int(32)
	return int(v), ok
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
	// 19 digits never overflow; only longer numbers need the check.
	for p.i < len(p.b) && p.i-start < 19 {
		c := p.b[p.i]
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + uint64(c-'0')
		p.i++
	}
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
// stack of closing brackets; it checks the value's grammar as
// encoding/json does (FuzzReader compares them), but for raw control
// characters in strings, which str accepts, and never reads past the line.
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
			if !p.number() {
				return false
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
// number passes over one JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() bool {
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.digits() == 0:
		return false
	}
	if p.eat('.') && p.digits() == 0 {
		return false
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if p.digits() == 0 {
			return false
		}
	}
	return true
}

// digits passes over decimal digits and says how many.
func (p *parser) digits() int {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}

func (p *parser) key() bool {
	p.ws()
	if _, ok := p.str(); !ok {
		return false
	}
	p.ws()
	return p.eat(':')
}
