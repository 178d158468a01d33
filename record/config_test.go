package record

import (
	"os"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	page := os.Getpagesize()
	for _, tc := range []struct {
		cfg  Config
		want string // "" for valid
	}{
		{Config{}, ""},
		{Config{RingSize: page}, ""},
		{Config{RingSize: 16 << 20, Paths: []string{"/tmp", "/a/../b"}, PIDs: []int{1}}, ""},
		{Config{RingSize: 1000}, "ring size 1000 is not a power of two"},
		{Config{RingSize: page / 2}, "is not a power of two of at least the page size"},
		{Config{RingSize: 3 * page}, "is not a power of two"},
		{Config{RingSize: -page}, "is not a power of two"},
		{Config{Poll: -1}, "poll interval -1ns is negative"},
		{Config{PIDs: []int{0}}, "pid 0 is not a process id"},
		{Config{Paths: []string{"rel"}}, `path prefix "rel" is not absolute`},
		{Config{Paths: make([]string, maxPrefixes+1)}, "at most 8 path prefixes"},
		{Config{Paths: []string{"/" + strings.Repeat("a", maxPrefix)}}, "longer than 255 bytes"},
	} {
		err := tc.cfg.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: %v, want valid", tc.cfg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "record: ") {
			t.Errorf("%+v: error %v, want one with %q", tc.cfg, err, tc.want)
		}
	}
}
