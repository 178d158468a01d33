package analyze

import (
	"strings"
	"testing"
	"time"
)

func TestClockNote(t *testing.T) {
	at := time.Date(2025, 11, 25, 12, 0, 0, 123456789, time.UTC).UnixNano() // 1764072000.123456789
	for _, tc := range []struct {
		path      string
		clockPIDs bool
		want      string
	}{
		{"/d/out.1764072000.tmp", true, "the Unix time in seconds"},
		{"/d/out.1764072000123.tmp", true, "the Unix time in milliseconds"},
		{"/d/out.1764072000123456.tmp", false, "the Unix time in microseconds"},
		{"/d/out.583921.tmp", true, "within one second"},
		{"/d/out.tmp", true, ""},
		{"/d/out.tmp", false, ""},
	} {
		got := New(Options{}).clockNote(tc.path, []int64{at}, tc.clockPIDs)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("clockNote(%s, %v) = %q, want it to say %q", tc.path, tc.clockPIDs, got, tc.want)
		}
	}
}

// TestClockNoteReuse checks that a collision's note reusing the name the
// prediction read (quickly, with its target and pids) says what reading
// the name again says.
func TestClockNoteReuse(t *testing.T) {
	at := time.Date(2025, 11, 25, 12, 0, 0, 123456789, time.UTC)
	for _, name := range []string{
		"out.1764072000.tmp", "out.1764072000.123.tmp", "out.tmp", "out.4242.tmp",
		"out.aB3xYz.1764072000", // the quick read stops before the clock
		"out.1764072000.aB3xYz", "69270b40.tmp", "out.20251125T120000.tmp", "out.583921.tmp",
	} {
		fresh := New(Options{}).clockNote("/d/"+name, []int64{at.UnixNano()}, true)
		a := New(Options{})
		a.lastRead = readOf(appendParts(nil, name, "out", at, []int{4242}, true), name, at)
		if got := a.clockNote("/d/"+name, []int64{at.UnixNano()}, true); got != fresh {
			t.Errorf("%s: reused read says %q, a fresh read %q", name, got, fresh)
		}
	}
}
