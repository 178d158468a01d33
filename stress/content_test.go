package stress

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestContentIsValid(t *testing.T) {
	for _, size := range []int{0, HeaderSize, HeaderSize + 1, 100, 4096, 4099, 65536} {
		b := Content(7, 42, size)
		if len(b) != max(size, HeaderSize) {
			t.Fatalf("Content(7, 42, %d) is %d bytes", size, len(b))
		}
		v := Validate(b)
		if v.Kind != Valid {
			t.Fatalf("Validate(Content(7, 42, %d)) = %v: %s", size, v.Kind, v.Reason)
		}
		if v.Header.Writer != 7 || v.Header.Seq != 42 || v.Header.Len != len(b) {
			t.Fatalf("header = %+v", v.Header)
		}
		// A worker's reused buffer holds the last version, or anything.
		dirty := bytes.Repeat([]byte{0xff}, 70000)
		if got := contentInto(dirty, 7, 42, size); !bytes.Equal(got, b) || &got[0] != &dirty[0] {
			t.Fatalf("contentInto a used buffer differs from Content(7, 42, %d), or did not use it", size)
		}
	}
}

func TestContentDiffersPerVersion(t *testing.T) {
	a, b := Content(1, 1, 4096), Content(1, 2, 4096)
	if bytes.Equal(a[HeaderSize:], b[HeaderSize:]) {
		t.Fatal("two versions of one writer have the same body: a splice between them would go unseen")
	}
}

// The planted corruptions are the ones the races produce: a reader sees an
// empty file (O_TRUNC), a prefix (a write in progress), two versions spliced
// at a chunk boundary, a zeroed hole (a writer whose offset was past a
// truncation), or one version's header on another's body.
func TestValidatePlanted(t *testing.T) {
	a, b := Content(1, 5, 4096), Content(2, 9, 4096)
	spliced := append(append([]byte{}, a[:2048]...), b[2048:]...)
	holed := append(make([]byte, 1024), a[1024:]...)
	headerSwap := append(append([]byte{}, b[:HeaderSize]...), a[HeaderSize:]...)
	longer := append(append([]byte{}, a...), b[:100]...)
	cases := []struct {
		name    string
		data    []byte
		kind    Kind
		sources []string
		explain string
	}{
		{"empty", nil, Empty, nil, ""},
		{"truncated", a[:1000], Truncated, []string{"w1#5"}, "0-63 header w1#5 | 64-999 w1#5"},
		{"short header", a[:20], Truncated, nil, ""},
		{"spliced", spliced, Spliced, []string{"w1#5", "w2#9"}, "0-63 header w1#5 | 64-2047 w1#5 | 2048-4095 w2#9"},
		{"zero hole", holed, Spliced, []string{"w1#5"}, "0-1023 zeros | 1024-4095 w1#5"},
		{"header swap", headerSwap, Spliced, []string{"w2#9", "w1#5"}, "0-63 header w2#9 | 64-4095 w1#5"},
		{"longer than header says", longer, Spliced, []string{"w1#5"}, "0-63 header w1#5 | 64-4095 w1#5 | 4096-4195 garbage"},
		{"one flipped byte", flip(a, 3000), Spliced, []string{"w1#5"}, "0-63 header w1#5 | 64-2975 w1#5 | 2976-3007 garbage | 3008-4095 w1#5"},
		{"flipped checksum", flip(a, 40), Spliced, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Validate(c.data)
			if v.Kind != c.kind {
				t.Fatalf("kind = %v (%s), want %v", v.Kind, v.Reason, c.kind)
			}
			if v.Reason == "" {
				t.Error("no reason given")
			}
			if c.sources != nil && strings.Join(v.Sources(), ",") != strings.Join(c.sources, ",") {
				t.Errorf("sources = %v, want %v", v.Sources(), c.sources)
			}
			if c.explain != "" && v.Explain() != c.explain {
				t.Errorf("explain = %q\nwant      %q", v.Explain(), c.explain)
			}
		})
	}
}

func flip(b []byte, at int) []byte {
	c := append([]byte{}, b...)
	c[at] ^= 0x01
	return c
}

func TestParseHeaderRejects(t *testing.T) {
	good := Content(3, 4, 200)[:HeaderSize]
	for name, mutate := range map[string]func([]byte){
		"magic":       func(h []byte) { h[0] = 'H' },
		"letter":      func(h []byte) { h[9] = 'x' },
		"hex in seq":  func(h []byte) { h[15] = 'a' },
		"upper hex":   func(h []byte) { h[37] = 'A' },
		"no newline":  func(h []byte) { h[HeaderSize-1] = ' ' },
		"padding":     func(h []byte) { h[50] = 'z' },
		"tiny length": func(h []byte) { copy(h[24:], "n0000000010") },
	} {
		h := append([]byte{}, good...)
		mutate(h)
		if _, err := ParseHeader(h); err == nil {
			t.Errorf("%s: ParseHeader(%q) succeeded", name, h)
		}
	}
	if _, err := ParseHeader(good); err != nil {
		t.Fatalf("ParseHeader(good) = %v", err)
	}
}

func TestValidateDerivesOnlyWhatItHas(t *testing.T) {
	// A short file whose header claims a long version: a truncated one,
	// cut inside a record, and one whose length field was spliced in.
	truncated := Content(3, 42, 8<<20)[:5000]
	claims := Content(3, 42, 4096)
	copy(claims[24:35], "n0100000000")
	for _, tc := range []struct {
		name   string
		b      []byte
		kind   Kind
		reason string
	}{
		{"truncated", truncated, Truncated, "5000 of 8388608 bytes"},
		{"claims 100 MB", claims, Spliced, "4096 bytes where the header says 100000000"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		v := Validate(tc.b)
		runtime.ReadMemStats(&after)
		if v.Kind != tc.kind || v.Reason != tc.reason {
			t.Errorf("%s: Validate = %v %q, want %v %q", tc.name, v.Kind, v.Reason, tc.kind, tc.reason)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("%s: Validate of %d bytes allocated %d bytes", tc.name, len(tc.b), n)
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(Content(1, 2, 100)[:HeaderSize])
	f.Add(Content(9999, 99999999, 70))
	f.Add([]byte("heisen1 w"))
	f.Add(make([]byte, HeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		// Whatever parses must be a header Content could have written,
		// except for the checksum, which Validate checks against the body.
		// (Content itself only for lengths worth allocating.)
		want := fmt.Appendf(nil, "heisen1 w%04d s%08d n%010d", h.Writer, h.Seq, h.Len)
		if h.Len <= 1<<20 && !bytes.Equal(want, Content(h.Writer, h.Seq, h.Len)[:sumFieldFrom]) {
			t.Fatalf("Content(%d, %d, %d) does not start with %q", h.Writer, h.Seq, h.Len, want)
		}
		if !bytes.Equal(b[:sumFieldFrom], want) {
			t.Fatalf("ParseHeader(%q) = %+v, which Content writes as %q", b[:HeaderSize], h, want)
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add(Content(1, 2, 300), 0, byte(0))
	f.Add(Content(1, 2, 300), 100, byte(7))
	f.Fuzz(func(t *testing.T, b []byte, at int, x byte) {
		v := Validate(b)
		if v.Kind == Valid {
			if !bytes.Equal(b, Content(v.Header.Writer, v.Header.Seq, v.Header.Len)) {
				t.Fatalf("Validate accepted bytes Content does not write")
			}
			if at >= 0 && at < len(b) && x != 0 {
				c := append([]byte{}, b...)
				c[at] ^= x
				if Validate(c).Kind == Valid {
					t.Fatalf("flipping byte %d still validates", at)
				}
			}
		}
		// Segments must cover the bytes exactly, in order.
		next := 0
		for _, s := range v.Segments {
			if s.From != next || s.To <= s.From {
				t.Fatalf("segments %v do not tile %d bytes", v.Segments, len(b))
			}
			next = s.To
		}
		if v.Segments != nil && next != len(b) {
			t.Fatalf("segments %v end at %d of %d", v.Segments, next, len(b))
		}
	})
}
