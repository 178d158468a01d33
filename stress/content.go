package stress

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// The layout of one version of the target. Every byte is derived from the
// header's writer, sequence and length, so a reader can check any version it
// sees on its own: no trail, no coordination with the writers.
//
//	offset 0   header, HeaderSize bytes:
//	           "heisen1 w0003 s00000042 n0000004096 c1a2b3c4d" padded with spaces, then '\n'
//	offset 64  records of RecordSize bytes, each naming its writer, sequence and offset:
//	           "w0003 s00000042 @0000000064 ~~~\n"
//
// The last record is cut at the version's length. The checksum c is CRC-32C
// of the header up to and including the length field, followed by the body.
// Records carry their own offset so that a splice shows where the foreign
// bytes came from, not just that they are foreign.
const (
	HeaderSize = 64
	RecordSize = 32

	magic        = "heisen1"
	sumFieldFrom = 35 // header[:35], up to the length field, is covered by the checksum
	maxWriter    = 9999
	maxSeq       = 99999999
	maxLen       = 9999999999
)

// The bounds of a run: a version's header numbers writers and writes in
// fixed-width fields, and every writer and reader holds whole versions in
// memory.
const (
	MaxWriters = maxWriter
	MaxWrites  = maxSeq  // per writer
	MaxSize    = 1 << 30 // bytes per version
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// A Header identifies one version: who wrote it, which of its writes it was,
// how long it is and the checksum of its content.
type Header struct {
	Writer int    // 0 is the initial version, writers count from 1
	Seq    int    // the writer's write number, from 1
	Len    int    // total length of the version, header included
	Sum    uint32 // CRC-32C, see the layout above
}

// String names the version as w<writer>#<seq>.
func (h Header) String() string { return fmt.Sprintf("w%d#%d", h.Writer, h.Seq) }

// Content returns version seq of writer, size bytes long. Size is raised to
// HeaderSize when smaller: a version always has a whole header.
func Content(writer, seq, size int) []byte {
	return contentInto(nil, writer, seq, size)
}

// contentInto is Content writing into buf when it has the capacity, so that
// a writer builds every version in one buffer.
func contentInto(buf []byte, writer, seq, size int) []byte {
	if writer < 0 || writer > maxWriter || seq < 0 || seq > maxSeq || size > maxLen {
		panic(fmt.Sprintf("stress.Content(%d, %d, %d): out of range", writer, seq, size))
	}
	size = max(size, HeaderSize)
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	b := buf[:size]
	fillRecords(b[HeaderSize:], HeaderSize, writer, seq)
	copy(b, magic+" w0000 s00000000 n0000000000 c00000000                  \n")
	putDigits(b[9:13], writer)
	putDigits(b[15:23], seq)
	putDigits(b[25:35], size)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], versionSum(b, writer, seq, size))
	hex.Encode(b[37:45], sum[:])
	return b
}

// fillRecords writes into dst the bytes from offset from (at least
// HeaderSize) of every version of (writer, seq).
func fillRecords(dst []byte, from, writer, seq int) {
	var rec [RecordSize]byte
	copy(rec[:], "w0000 s00000000 @0000000000 ~~~\n")
	putDigits(rec[1:5], writer)
	putDigits(rec[7:15], seq)
	end := from + len(dst)
	for off := from - (from-HeaderSize)%RecordSize; off < end; off += RecordSize {
		putDigits(rec[17:27], off)
		lo := max(off, from)
		copy(dst[lo-from:], rec[lo-off:])
	}
}

// versionSum is the checksum of version (writer, seq, size) whose first
// len(prefix) bytes, at least the header's, are prefix: the records past the
// prefix are derived a page at a time, so that checking a short file whose
// header claims gigabytes takes no memory (only the time to sum them).
func versionSum(prefix []byte, writer, seq, size int) uint32 {
	sum := crc32.Update(crc32.Checksum(prefix[:sumFieldFrom], castagnoli), castagnoli, prefix[HeaderSize:])
	if len(prefix) < size {
		sum = sumRecords(sum, len(prefix), size, writer, seq)
	}
	return sum
}

// sumRecords adds to sum the bytes [from, size) of the version's records.
// Its buffer escapes to the heap, so Content, which has every byte, never
// calls it.
func sumRecords(sum uint32, from, size, writer, seq int) uint32 {
	page := make([]byte, 4096)
	for off := from; off < size; off += len(page) {
		p := page[:min(len(page), size-off)]
		fillRecords(p, off, writer, seq)
		sum = crc32.Update(sum, castagnoli, p)
	}
	return sum
}

// putDigits writes v in decimal into dst, zero-padded to len(dst).
func putDigits(dst []byte, v int) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// ErrHeader is wrapped by every error ParseHeader returns.
var ErrHeader = errors.New("not a heisen stress header")

// ParseHeader parses the header at the start of b. It is strict: every
// field at its place, digits only, so that a header spliced from two
// versions does not parse as a third.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, want at least %d", ErrHeader, len(b), HeaderSize)
	}
	h := b[:HeaderSize]
	if !bytes.HasPrefix(h, []byte(magic+" w")) {
		return Header{}, fmt.Errorf("%w: bad magic %q", ErrHeader, printable(h[:len(magic)]))
	}
	if h[HeaderSize-1] != '\n' || strings.Trim(string(h[45:HeaderSize-1]), " ") != "" {
		return Header{}, fmt.Errorf("%w: bad padding", ErrHeader)
	}
	field := func(at int, tag byte, width int, hex bool) (uint64, error) {
		if h[at-1] != ' ' || h[at] != tag {
			return 0, fmt.Errorf("%w: no field %c at offset %d", ErrHeader, tag, at)
		}
		digits := string(h[at+1 : at+1+width])
		base := 10
		if hex {
			base = 16
		}
		for _, c := range digits {
			if !(c >= '0' && c <= '9' || hex && c >= 'a' && c <= 'f') {
				return 0, fmt.Errorf("%w: field %c is %q", ErrHeader, tag, printable([]byte(digits)))
			}
		}
		return strconv.ParseUint(digits, base, 64)
	}
	var v [4]uint64
	var err error
	for i, f := range []struct {
		at    int
		tag   byte
		width int
		hex   bool
	}{{8, 'w', 4, false}, {14, 's', 8, false}, {24, 'n', 10, false}, {36, 'c', 8, true}} {
		if v[i], err = field(f.at, f.tag, f.width, f.hex); err != nil {
			return Header{}, err
		}
	}
	if v[2] < HeaderSize {
		return Header{}, fmt.Errorf("%w: length %d is shorter than the header", ErrHeader, v[2])
	}
	return Header{Writer: int(v[0]), Seq: int(v[1]), Len: int(v[2]), Sum: uint32(v[3])}, nil
}

func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '.'
		}
		return r
	}, string(b))
}

// Kind classifies a version.
type Kind int

const (
	Valid     Kind = iota
	Empty          // zero bytes
	Truncated      // a correct prefix of a version, shorter than its header says
	Spliced        // bytes that do not belong to the version the header names
)

func (k Kind) String() string {
	switch k {
	case Valid:
		return "valid"
	case Empty:
		return "empty"
	case Truncated:
		return "truncated"
	case Spliced:
		return "spliced"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// A Segment is a run of bytes [From, To) attributed to one source: a
// version "w3#42", "zeros", or "garbage".
type Segment struct {
	From, To int
	Source   string
}

// A Verdict is what Validate says about one version.
type Verdict struct {
	Kind     Kind
	Header   Header    // zero when the header does not parse
	Size     int       // bytes seen
	Reason   string    // one line, empty when Valid
	Segments []Segment // where each byte came from; only for corrupt versions
}

// Validate checks one version of the target without trusting anything but
// the bytes: the header must parse, the length must match, and every body
// byte must equal what the header derives. A version that matches all that
// and the checksum is Valid; anything else is Empty, Truncated or Spliced.
func Validate(b []byte) Verdict {
	v := Verdict{Size: len(b)}
	if len(b) == 0 {
		v.Kind, v.Reason = Empty, "0 bytes"
		return v
	}
	h, err := ParseHeader(b)
	if err != nil {
		v.Kind, v.Reason = Spliced, err.Error()
		if len(b) < HeaderSize && bytes.HasPrefix([]byte(magic+" w"), b[:min(len(b), len(magic)+2)]) {
			v.Kind, v.Reason = Truncated, fmt.Sprintf("%d bytes, shorter than a header", len(b))
		}
		v.Segments = attribute(b)
		return v
	}
	v.Header = h
	// ParseHeader checked every header byte but the checksum: derive only
	// the body bytes b has, never the length its header claims.
	n := min(len(b), h.Len)
	want := make([]byte, n-HeaderSize)
	fillRecords(want, HeaderSize, h.Writer, h.Seq)
	bodyOK := bytes.Equal(b[HeaderSize:n], want)
	sumOK := bodyOK && h.Sum == versionSum(b[:n], h.Writer, h.Seq, h.Len)
	switch {
	case len(b) < h.Len && sumOK:
		v.Kind, v.Reason = Truncated, fmt.Sprintf("%d of %d bytes", len(b), h.Len)
	case len(b) == h.Len && sumOK:
		return v // Valid
	case len(b) == h.Len && bodyOK:
		v.Kind, v.Reason = Spliced, fmt.Sprintf("checksum %08x does not match the content", h.Sum)
	case len(b) != h.Len:
		v.Kind, v.Reason = Spliced, fmt.Sprintf("%d bytes where the header says %d", len(b), h.Len)
	default:
		v.Kind = Spliced
	}
	v.Segments = attribute(b)
	if v.Kind == Spliced && v.Reason == "" {
		own := h.String()
		for _, s := range v.Segments[1:] {
			if s.Source != own {
				v.Reason = fmt.Sprintf("%s from offset %d in a version of %s", s.Source, s.From, own)
				break
			}
		}
		if v.Reason == "" {
			v.Reason = "content differs from what the header derives"
		}
	}
	return v
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// attribute splits b into segments by where each header or record came
// from, merging neighbours with the same source.
func attribute(b []byte) []Segment {
	var segs []Segment
	add := func(from, to int, src string) {
		if n := len(segs); n > 0 && segs[n-1].Source == src && segs[n-1].To == from {
			segs[n-1].To = to
			return
		}
		segs = append(segs, Segment{from, to, src})
	}
	hdr := b[:min(len(b), HeaderSize)]
	switch h, err := ParseHeader(b); {
	case err == nil:
		add(0, len(hdr), "header "+h.String())
	case allZero(hdr):
		add(0, len(hdr), "zeros")
	default:
		add(0, len(hdr), "garbage")
	}
	for off := HeaderSize; off < len(b); off += RecordSize {
		end := min(off+RecordSize, len(b))
		add(off, end, recordSource(b[off:end], off, segs[len(segs)-1].Source))
	}
	return segs
}

// recordSource names the version a record at offset off belongs to. A
// record cut too short to name its version (the last one of a truncated
// file) is attributed to prev, the source before it, when it matches.
func recordSource(r []byte, off int, prev string) string {
	if allZero(r) {
		return "zeros"
	}
	var w, s int
	if len(r) >= 15 {
		var err1, err2 error
		w, err1 = strconv.Atoi(string(r[1:5]))
		s, err2 = strconv.Atoi(string(r[7:15]))
		if err1 != nil || err2 != nil || w < 0 || s < 0 {
			return "garbage"
		}
	} else if _, err := fmt.Sscanf(strings.TrimPrefix(prev, "header "), "w%d#%d", &w, &s); err != nil {
		return "garbage"
	}
	var want [RecordSize]byte
	copy(want[:], "w0000 s00000000 @0000000000 ~~~\n")
	putDigits(want[1:5], w)
	putDigits(want[7:15], s)
	putDigits(want[17:27], off)
	if !bytes.Equal(r, want[:len(r)]) {
		return "garbage"
	}
	return fmt.Sprintf("w%d#%d", w, s)
}

// Explain renders the segments compactly, e.g.
// "0-4095 w3#42 | 4096-8191 zeros", eliding the middle of long lists.
func (v Verdict) Explain() string {
	var parts []string
	for _, s := range v.Segments {
		parts = append(parts, fmt.Sprintf("%d-%d %s", s.From, s.To-1, s.Source))
	}
	if len(parts) > 6 {
		parts = append(append(parts[:3:3], fmt.Sprintf("… %d more …", len(parts)-5)), parts[len(parts)-2:]...)
	}
	return strings.Join(parts, " | ")
}

// claims names the write a version's header claims it is, "" when the
// header does not parse.
func (v Verdict) claims() string {
	if v.Header.Len == 0 {
		return ""
	}
	return v.Header.String()
}

// Sources returns the distinct versions ("w3#42") whose bytes appear in a
// corrupt version, in order of first appearance.
func (v Verdict) Sources() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range v.Segments {
		src := strings.TrimPrefix(s.Source, "header ")
		if !strings.HasPrefix(src, "w") || seen[src] {
			continue
		}
		seen[src] = true
		out = append(out, src)
	}
	return out
}
