package analyze

import (
	"strings"
	"testing"
	"time"
)

// TestReadName reads names as writers make them, at one open time, and
// checks what each part is found to be.
func TestReadName(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 15, 0, 123456789, time.UTC) // 1796292900.123456789
	pids := []int{4242, 17}
	for _, tc := range []struct {
		name, target string
		want         string // the parts, "text=kind" with kind c(lock) p(id) w(ord) ?(unknown)
		form         string // the first clock's form
	}{
		{"config.1796292900.tmp", "config", "config=w 1796292900=c tmp=w", "the Unix time in seconds"},
		{"config.1796292899.tmp", "config", "config=w 1796292899=c tmp=w", "seconds"}, // made a second before the open
		{"out.1796292900123", "out", "out=w 1796292900123=c", "milliseconds"},
		{"out.1796292900123456", "out", "out=w 1796292900123456=c", "microseconds"},
		{"out.1796292900123456789", "out", "out=w 1796292900123456789=c", "nanoseconds"},
		{"out.1796292900.1234567", "out", "out=w 1796292900.1234567=c", "seconds with 7 decimals"},
		{"out.6b114124.tmp", "out", "out=w 6b114124=c tmp=w", "seconds, in hex"},
		{"out.18edb6e0206a3515", "out", "out=w 18edb6e0206a3515=c", "nanoseconds, in hex"},
		{"out-20261203-101500.tmp", "out", "out=w 20261203-101500=c tmp=w", "the date and time (UTC)"},
		{"out-20261203T111500", "out", "out=w 20261203T111500=c", "(UTC+01:00)"},
		{"out.2026-12-03_05-15", "out", "out=w 2026-12-03_05-15=c", "(UTC-05:00)"},
		{"backup-20261203", "backup", "backup=w 20261203=c", "the date"},
		{"out.4242.tmp", "out", "out=w 4242=p tmp=w", ""},
		{"out.4242.7.tmp", "out", "out=w 4242=p 7=? tmp=w", ""},
		{".out.json.tmp", "out.json", "out=w json=w tmp=w", ""},
		{"out.v2.new", "out.v2", "out=w v=w 2=w new=w", ""},
		{"out.aB3xYz", "out", "out=w aB=? 3=? xYz=?", ""},
		{"out.3f2a9c1e-77b0-4d1e-9a7c-0c1d2e3f4a5b", "out", "out=w 3f2a9c1e=? 77=? b=? 0=? 4=? d=? 1=? e=? 9=? a=? 7=? c=? 0c1d2e3f4a5b=?", ""},
		{"out.1234567890", "out", "out=w 1234567890=?", ""},             // ten digits, not now
		{"out.20261301-101500", "out", "out=w 20261301=? 101500=?", ""}, // no month 13
		{"go-build3129/b001/exe/a.out", "app", "go=? build=? 3129=? b=? 001=? exe=? a=? out=w", ""},
	} {
		parts := readName(tc.name, tc.target, at, pids)
		var got []string
		form := ""
		for _, p := range parts {
			got = append(got, p.text+"="+string("?wcp#"[p.kind]))
			if p.kind == partClock && form == "" {
				form = p.clock.form
			}
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("readName(%q) = %s, want %s", tc.name, g, tc.want)
		}
		if !strings.Contains(form, tc.form) {
			t.Errorf("readName(%q): clock form %q, want it to say %q", tc.name, form, tc.form)
		}
	}
}

// TestJudgeName checks which names are predicted, and why.
func TestJudgeName(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 15, 0, 0, time.UTC)
	for _, tc := range []struct {
		names []string // successive names of one writer
		want  string   // the cause for the last, "" for none
	}{
		{[]string{"t.1796292900.tmp"}, "clock-derived"},
		{[]string{"t.1796292900.4242.tmp"}, "clock-derived"},
		{[]string{"t.4242.tmp"}, "pid-derived"},
		{[]string{"t.tmp"}, "fixed"},
		{[]string{"t.4242.1", "t.4242.2"}, ""}, // pid and counter: unique per process and call
		{[]string{"t.1.tmp"}, ""},              // a number: a counter only once it counts
		{[]string{"t.1.tmp", "t.2.tmp"}, "counter-derived"},
		{[]string{"t.5.tmp", "t.9.tmp"}, ""},
		{[]string{"t.aB3xYz"}, ""},
		{[]string{"tmpk3j2x9ab"}, ""},
		{[]string{"t.3f2a9c1e77b04d1e9a7c0c1d2e3f4a5b"}, ""},
	} {
		a := New(Options{})
		var p prediction
		for _, n := range tc.names {
			p, _ = a.judgeName(readName(n, "t", at, []int{4242}), n, procKey{pid: 4242})
		}
		got := p.cause
		if got != tc.want {
			t.Errorf("%v: %q, want %q", tc.names, got, tc.want)
		}
	}
}
