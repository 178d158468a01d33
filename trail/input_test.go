package trail

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

const openLine = `{"ts":"2026-11-25T12:00:00.1Z","pid":1,"tid":1,"op":"open","path":"/a","fd":3,"flags":"O_WRONLY","ret":3}` + "\n"

// TestReaderLostSaturates: loss counts that overflow uint64 add up to
// the largest uint64, in one trail and across merged trails, instead of
// wrapping to a small number.
func TestReaderLostSaturates(t *testing.T) {
	loss := func(n string) string {
		return `{"ts":"2026-11-25T12:00:00Z","pid":0,"tid":0,"lost":` + n + "}\n"
	}
	big := loss("18446744073709551615") + loss("5")
	r := NewReader(strings.NewReader(big), "a")
	readAll(t, r)
	if s := r.Stats(); s.Lost != math.MaxUint64 || s.LossRecords != 2 {
		t.Errorf("one trail: stats %+v, want Lost at the largest uint64", s)
	}
	m := Merge(NewReader(strings.NewReader(loss("18446744073709551000")), "b"),
		NewReader(strings.NewReader(loss("1000")), "c"))
	var e Event
	for m.Read(&e) == nil {
	}
	if s := m.Stats(); s.Lost != math.MaxUint64 {
		t.Errorf("merged: Lost %d, want %d", s.Lost, uint64(math.MaxUint64))
	}
}

// TestReaderBOM: a UTF-8 byte-order mark before the first line leaves it
// a valid event.
func TestReaderBOM(t *testing.T) {
	r := NewReader(strings.NewReader("\xEF\xBB\xBF"+openLine+openLine), "bom")
	r.Malformed = func(e *LineError) { t.Errorf("malformed: %v", e) }
	if out := readAll(t, r); len(out) != 2 || out[0].Path != "/a" || out[0].Pos.Line != 1 {
		t.Errorf("events %+v, want two opens of /a from line 1", out)
	}
}

// TestReaderCompressed: a gzip-compressed trail is read as the trail it
// holds; zstd, xz and bzip2 are named in the error, not read as lines of
// garbage.
func TestReaderCompressed(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, openLine+openLine+openLine)
	zw.Close()
	r := NewReader(&gz, "t.trail.gz")
	r.Malformed = func(e *LineError) { t.Errorf("malformed: %v", e) }
	if out := readAll(t, r); len(out) != 3 || out[2].Pos.Line != 3 {
		t.Errorf("gzip: events %+v, want 3", out)
	}
	for name, head := range map[string]string{"zstd": "\x28\xb5\x2f\xfd\x00", "xz": "\xfd7zXZ\x00\x00", "bzip2": "BZh91AY"} {
		r := NewReader(strings.NewReader(head+"rest"), "t.trail."+name)
		var e Event
		err := r.Read(&e)
		if err == nil || !strings.Contains(err.Error(), "t.trail."+name+": "+name+"-compressed: decompress it first") {
			t.Errorf("%s: error %v, want it to name the compression", name, err)
		}
	}
	var e Event
	if err := NewReader(strings.NewReader("\x1f\x8bnot gzip"), "bad.gz").Read(&e); err == nil || !strings.Contains(err.Error(), "bad.gz: gzip") {
		t.Errorf("a broken gzip header: error %v, want one naming the file and gzip", err)
	}
}

// TestReaderBackwards counts events stamped before an earlier event of
// the same trail, and the largest step back.
func TestReaderBackwards(t *testing.T) {
	at := func(ts string) string {
		return strings.Replace(openLine, "2026-11-25T12:00:00.1Z", ts, 1)
	}
	in := at("2026-11-25T12:00:03Z") + at("2026-11-25T12:00:01Z") + at("2026-11-25T12:00:02Z") + at("2026-11-25T12:00:04Z")
	r := NewReader(strings.NewReader(in), "b")
	readAll(t, r)
	if s := r.Stats(); s.Backwards != 2 || s.MaxBackwards != 2*time.Second {
		t.Errorf("stats %+v, want 2 events stamped back, by up to 2s", s)
	}
}
