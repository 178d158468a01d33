package analyze

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reading file names. A temp name collides when everything in it comes
// from what concurrent writers share: the clock, the pid, a counter that
// restarts in every process, or fixed words. readName splits a name into
// parts and says where each came from; a part it cannot explain (random
// letters, a number that is neither the clock nor a pid) makes the name
// unpredictable, so a name is called predictable only when every part is
// explained.

// A partKind says where a part of a name came from.
type partKind uint8

const (
	partUnknown partKind = iota // unexplained: random, or a number of unknown origin
	partWord                    // from the target's name, or a temp word ("tmp")
	partClock                   // a reading of the clock near the open
	partPID                     // the pid of a process that made or renamed the file
	partCounter                 // a number one more than the same writer's previous one
)

// A namePart is one run of letters, of digits, or one hex word or date of
// a name.
type namePart struct {
	text  string
	kind  partKind
	num   bool   // digits only
	value uint64 // of num parts
	clock clockReading
}

// A clockReading is what a clock part says.
type clockReading struct {
	form string        // "the Unix time in seconds", "the date and time (UTC+01:00)"
	unit time.Duration // its resolution: writers within one unit choose the same name
	at   time.Time     // the time it reads
}

// Bounds on how far a clock reading in a name may be from the open of the
// file: a name is computed before its open, seldom long before.
const (
	clockLag  = 5 * time.Minute
	clockLead = 5 * time.Second
)

// tempWords are the words temp names are made of, besides the target's
// own name.
var tempWords = map[string]bool{
	"tmp": true, "temp": true, "new": true, "part": true, "partial": true, "swp": true, "swap": true,
	"save": true, "saving": true, "write": true, "writing": true, "incoming": true, "inprogress": true,
	"download": true, "dl": true, "crdownload": true, "upload": true, "bak": true, "backup": true,
	"old": true, "orig": true, "next": true, "pending": true, "staging": true, "work": true, "wip": true,
	"lock": true, "atomic": true, "out": true, "output": true, "cache": true, "copy": true,
}

// isTempWord reports whether w is a temp word in any case, without
// allocating for the lower-case words most names have.
func isTempWord(w string) bool {
	if tempWords[w] {
		return true
	}
	for i := 0; i < len(w); i++ {
		if w[i] >= 'A' && w[i] <= 'Z' {
			return tempWords[strings.ToLower(w)]
		}
	}
	return false
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }
func isNameSep(c byte) bool {
	return !isDigit(c) && !isLetter(c)
}

func runEnd(s string, i int, in func(byte) bool) int {
	for i < len(s) && in(s[i]) {
		i++
	}
	return i
}

// readName splits name (a base name, or a path relative to the directory
// it shares with the target) into parts and explains each: words of
// target (the target's name, relative likewise) or temp words, clock
// readings near at (decimal or hex Unix times in seconds to nanoseconds,
// dates), and pids.
func readName(name, target string, at time.Time, pids []int) []namePart {
	return appendParts(nil, name, target, at, pids, false)
}

// lockFileName reports whether path is a name every writer of target
// computes alike, as a lock file's must be: made only of target's words
// and temp words ("lock"), read relative to the directory they share.
func lockFileName(path, target string) bool {
	name, tgt := relNames(path, target)
	parts := readName(name, tgt, time.Time{}, nil)
	for _, p := range parts {
		if p.kind != partWord {
			return false
		}
	}
	return len(parts) > 0
}

// appendParts appends the parts of name, read as readName does, to parts.
// With quick it stops after the first part that is neither explained nor
// a number: the name is unpredictable already.
func appendParts(parts []namePart, name, target string, at time.Time, pids []int, quick bool) []namePart {
	for i := 0; i < len(name); {
		if quick && len(parts) > 0 && parts[len(parts)-1].kind == partUnknown && !parts[len(parts)-1].num {
			break
		}
		c := name[i]
		switch {
		case isNameSep(c):
			i++
			continue
		case i == 0 || isNameSep(name[i-1]):
			if j := runEnd(name, i, func(c byte) bool { return !isNameSep(c) }); isHexWord(name[i:j]) {
				parts = append(parts, hexPart(name[i:j], at))
				i = j
				continue
			}
		}
		if !isDigit(c) {
			j := runEnd(name, i, isLetter)
			p := namePart{text: name[i:j]}
			if isTempWord(p.text) || hasRun(target, p.text) {
				p.kind = partWord
			}
			parts = append(parts, p)
			i = j
			continue
		}
		j := runEnd(name, i, isDigit)
		if j-i == 4 || j-i >= 8 { // a year, or a whole date
			if end, r, ok := dateAt(name, i, at); ok {
				parts = append(parts, namePart{text: name[i:end], kind: partClock, clock: r})
				i = end
				continue
			}
		}
		if n := len(parts); n > 0 && fraction(name, i, j, &parts[n-1]) {
			i = j
			continue
		}
		p := numberPart(name[i:j], at, pids)
		if p.kind == partUnknown && hasRun(target, p.text) {
			p.kind = partWord
		}
		parts = append(parts, p)
		i = j
	}
	return parts
}

// A nameRead keeps what reading a base name at one time found about its
// clock: a collision on a temp name reads it again for its note, most
// often at the open the prediction read it at.
type nameRead struct {
	name  string
	at    int64    // the time it was read at, in nanoseconds
	clock namePart // its first clock part
	found bool     // it has one
	whole bool     // the whole name was read (a quick read may stop early)
}

// readOf keeps what parts, read from name at at, say about its clock; a
// name relative to another directory is not a base name, and is not kept.
func readOf(parts []namePart, name string, at time.Time) nameRead {
	if strings.IndexByte(name, '/') >= 0 {
		return nameRead{}
	}
	r := nameRead{name: name, at: at.UnixNano(), whole: true}
	if n := len(parts); n > 0 && parts[n-1].kind == partUnknown && !parts[n-1].num {
		r.whole = false // the quick read may have stopped here
	}
	if c := firstClock(parts); c != nil {
		r.clock, r.found = *c, true
	}
	return r
}

// clockAt returns the first clock part of name read at ns, and whether r
// knows it: the clock parts of a name do not depend on the target or the
// pids it is read with, and a quick read is a prefix of the whole.
func (r *nameRead) clockAt(name string, ns int64) (*namePart, bool) {
	switch {
	case r.name == "" || r.name != name || r.at != ns:
		return nil, false
	case r.found:
		return &r.clock, true
	}
	return nil, r.whole
}

func firstClock(parts []namePart) *namePart {
	for i := range parts {
		if parts[i].kind == partClock {
			return &parts[i]
		}
	}
	return nil
}

// NamePattern abstracts the parts of a file name that change from one
// run, process or iteration to the next, in readName's vocabulary: a word
// (a run of letters and digits between separators) that looks random
// (randomWord) becomes "*", and every other run of digits (a clock, a
// pid, a counter, or a number of unknown origin) becomes "#":
// "out.1764072000.tmp" → "out.#.tmp", "out.D0vCvl" → "out.*",
// "config.json" stays. Findings are grouped by it, and a writer's
// numbers are counted within one pattern of its names (a counter).
func NamePattern(base string) string {
	var b strings.Builder
	b.Grow(len(base))
	for i := 0; i < len(base); {
		if isNameSep(base[i]) {
			b.WriteByte(base[i])
			i++
			continue
		}
		j := runEnd(base, i, func(c byte) bool { return !isNameSep(c) })
		if randomWord(base[i:j]) {
			b.WriteByte('*')
			i = j
			continue
		}
		for i < j {
			if isDigit(base[i]) {
				b.WriteByte('#')
				i = runEnd(base[:j], i, isDigit)
			} else {
				b.WriteByte(base[i])
				i++
			}
		}
	}
	return b.String()
}

// randomWord reports whether a word of a name looks random, as mkstemp's
// and most random suffixes do: six or more characters mixing letters and
// digits, or six letters of both cases. readName reads such a word run by
// run instead: it explains temp words and numbers ("tmp123") and leaves
// random letters unexplained, which makes the name unpredictable.
func randomWord(w string) bool {
	var digits, lower, upper int
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case isDigit(c):
			digits++
		case c >= 'a' && c <= 'z':
			lower++
		case c >= 'A' && c <= 'Z':
			upper++
		}
	}
	return len(w) >= 6 && (digits > 0 && lower+upper > 0 || len(w) == 6 && lower > 0 && upper > 0)
}

// hasRun reports whether s has run as a whole run of letters or digits.
func hasRun(s, run string) bool {
	for i := 0; ; {
		k := strings.Index(s[i:], run)
		if k < 0 {
			return false
		}
		k += i
		end := k + len(run)
		if (k == 0 || kindOf(s[k-1]) != kindOf(run[0])) && (end == len(s) || kindOf(s[end]) != kindOf(run[0])) {
			return true
		}
		i = k + 1
	}
}

func kindOf(c byte) int {
	switch {
	case isDigit(c):
		return 1
	case isLetter(c):
		return 2
	}
	return 0
}

// isHexWord reports whether w is a hex number long enough to be a clock
// reading or random: 8 to 16 hex digits with letters among them.
func isHexWord(w string) bool {
	if len(w) < 8 || len(w) > 16 {
		return false
	}
	var letters, digits bool
	for i := 0; i < len(w); i++ {
		switch c := w[i] | 0x20; {
		case isDigit(w[i]):
			digits = true
		case c >= 'a' && c <= 'f':
			letters = true
		default:
			return false
		}
	}
	return letters && digits
}

func hexPart(w string, at time.Time) namePart {
	p := namePart{text: w}
	v, err := strconv.ParseUint(w, 16, 64)
	if err == nil {
		if r, ok := unixClock(v, at); ok {
			r.form += ", in hex"
			p.kind, p.clock = partClock, r
		}
	}
	return p
}

// units are the resolutions of Unix times in names.
var units = []struct {
	d    time.Duration
	form string
}{{time.Second, "the Unix time in seconds"}, {time.Millisecond, "the Unix time in milliseconds"},
	{time.Microsecond, "the Unix time in microseconds"}, {time.Nanosecond, "the Unix time in nanoseconds"}}

// unixClock reads v as a Unix time near at, in whole seconds,
// milliseconds, microseconds or nanoseconds.
func unixClock(v uint64, at time.Time) (clockReading, bool) {
	if v == 0 || v > 1<<62 {
		return clockReading{}, false
	}
	lo, hi := at.Add(-clockLag).UnixNano(), at.Add(clockLead).UnixNano()
	for _, u := range units {
		if n := int64(v); n >= lo/int64(u.d) && n <= hi/int64(u.d) {
			return clockReading{form: u.form, unit: u.d, at: time.Unix(0, n*int64(u.d))}, true
		}
	}
	return clockReading{}, false
}

func numberPart(digits string, at time.Time, pids []int) namePart {
	p := namePart{text: digits, num: true}
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return p // longer than any clock or pid
	}
	p.value = v
	if len(digits) < 9 {
		// Too small for a Unix time in any unit since 2001.
	} else if r, ok := unixClock(v, at); ok {
		p.kind, p.clock = partClock, r
		return p
	}
	for _, pid := range pids {
		if pid > 0 && uint64(pid) == v && digits[0] != '0' {
			p.kind = partPID
			break
		}
	}
	return p
}

// fraction joins the digits name[i:j] to a clock reading in seconds
// right before them, as in Python's str(time.time()): "1764072000.123".
func fraction(name string, i, j int, prev *namePart) bool {
	if prev.kind != partClock || prev.clock.unit != time.Second || i == 0 || name[i-1] != '.' ||
		!strings.HasSuffix(name[:i-1], prev.text) || j-i > 9 {
		return false
	}
	ns, _ := strconv.Atoi(name[i:j] + strings.Repeat("0", 9-(j-i)))
	prev.text = name[i-len(prev.text)-1 : j]
	prev.clock.unit = time.Duration(pow10(9 - (j - i)))
	prev.clock.at = prev.clock.at.Add(time.Duration(ns))
	prev.clock.form += fmt.Sprintf(" with %d decimals", j-i)
	return true
}

func pow10(n int) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

// dateAt reads a calendar date at name[i:], with a time of day to the
// minute or second if one follows: 20261203, 2026-12-03,
// 20261203-101500, 2026-12-03T10:15:00, 20261203_1015. The date is read
// in any time zone (a whole number of quarter hours from UTC, at most 14
// hours), since names hold local times.
func dateAt(name string, i int, at time.Time) (int, clockReading, bool) {
	p := i
	num := func(n int) (int, bool) {
		if p+n > len(name) {
			return 0, false
		}
		v := 0
		for k := p; k < p+n; k++ {
			if !isDigit(name[k]) {
				return 0, false
			}
			v = v*10 + int(name[k]-'0')
		}
		p += n
		return v, true
	}
	sep := func(allowed string) byte {
		if p < len(name) && strings.IndexByte(allowed, name[p]) >= 0 {
			p++
			return name[p-1]
		}
		return 0
	}
	same := func(s byte) bool { return s == 0 || sep(string(s)) == s }
	var f [6]int
	var ok bool
	if f[0], ok = num(4); !ok {
		return 0, clockReading{}, false
	}
	s := sep("-_.")
	if f[1], ok = num(2); !ok || !same(s) {
		return 0, clockReading{}, false
	}
	if f[2], ok = num(2); !ok {
		return 0, clockReading{}, false
	}
	end, unit := p, 24*time.Hour
	if sep("-_T.") != 0 || (p < len(name) && isDigit(name[p])) {
		if h, ok := num(2); ok {
			s := sep(":-_.")
			if m, ok := num(2); ok {
				f[3], f[4], end, unit = h, m, p, time.Minute
				if same(s) {
					if sec, ok := num(2); ok {
						f[5], end, unit = sec, p, time.Second
					}
				}
			}
		}
	}
	if end < len(name) && isDigit(name[end]) {
		return 0, clockReading{}, false // part of a longer number
	}
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, time.UTC)
	if f[0] < 1970 || t.Month() != time.Month(f[1]) || t.Day() != f[2] || t.Hour() != f[3] || t.Minute() != f[4] || t.Second() != f[5] {
		return 0, clockReading{}, false
	}
	// How far the name's time is from the open: the zone's offset, plus
	// how long before the open the name was made.
	d := t.Sub(at)
	var zone time.Duration
	if unit == 24*time.Hour {
		if d <= -24*time.Hour-14*time.Hour-clockLag || d >= 14*time.Hour+clockLead {
			return 0, clockReading{}, false
		}
	} else {
		zone = d.Round(15 * time.Minute)
		if r := d - zone; zone.Abs() > 14*time.Hour || r < -clockLag-unit || r > clockLead {
			return 0, clockReading{}, false
		}
	}
	form := "the date"
	if unit < 24*time.Hour {
		form = "the date and time (UTC)"
		if zone != 0 {
			form = fmt.Sprintf("the date and time (UTC%s)", zoneName(zone))
		}
	}
	return end, clockReading{form: form, unit: unit, at: t.Add(-zone)}, true
}

func zoneName(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%02d:%02d", sign, int(d.Hours()), int(d.Minutes())%60)
}
