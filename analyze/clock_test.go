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
		got := clockNote(tc.path, []int64{at}, tc.clockPIDs)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("clockNote(%s, %v) = %q, want it to say %q", tc.path, tc.clockPIDs, got, tc.want)
		}
	}
}
