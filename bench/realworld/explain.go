package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// evidenceLine returns the trail line number an evidence entry cites:
// "file:line", or an object with such a "pos".
func evidenceLine(raw json.RawMessage) (int, bool) {
	var pos string
	if json.Unmarshal(raw, &pos) != nil {
		var obj struct {
			Pos string `json:"pos"`
		}
		if json.Unmarshal(raw, &obj) != nil {
			return 0, false
		}
		pos = obj.Pos
	}
	i := strings.LastIndexByte(pos, ':')
	n, err := strconv.Atoi(pos[i+1:])
	return n, err == nil && i >= 0
}

// resolveEvidence reads the trail lines the error findings cite into
// their events, in one pass over the trail.
func resolveEvidence(fds []*finding, trailName string) error {
	want := map[int]*event{}
	for _, f := range fds {
		if f.Severity != "error" {
			continue
		}
		for _, raw := range f.Evidence {
			if n, ok := evidenceLine(raw); ok {
				want[n] = nil
			}
		}
	}
	tf, err := os.Open(trailName)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	defer tf.Close()
	sc := bufio.NewScanner(tf)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if _, ok := want[n]; !ok {
			continue
		}
		var e event
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			want[n] = &e
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("score: read %s: %w", trailName, err)
	}
	for _, f := range fds {
		for _, raw := range f.Evidence {
			if n, ok := evidenceLine(raw); ok && want[n] != nil {
				f.events = append(f.events, *want[n])
			}
		}
	}
	return nil
}

// readMeta reads every meta.L in dir: lines "I PID START TEMP", START in
// seconds with a fraction.
func readMeta(dir string) (map[iter]started, error) {
	names, err := filepath.Glob(filepath.Join(dir, "meta.*"))
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	meta := map[iter]started{}
	for _, name := range names {
		loop, err := strconv.Atoi(strings.TrimPrefix(filepath.Ext(name), "."))
		if err != nil {
			return nil, fmt.Errorf("score: %s: not meta.LOOP", name)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("score: %w", err)
		}
		for ln, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if line == "" {
				continue // a loop that made no iteration
			}
			it, s, err := parseMeta(line)
			if err != nil {
				return nil, fmt.Errorf("score: %s:%d: %w", name, ln+1, err)
			}
			meta[iter{loop, it}] = s
		}
	}
	return meta, nil
}

func parseMeta(line string) (int, started, error) {
	f := strings.Fields(line)
	if len(f) != 4 {
		return 0, started{}, fmt.Errorf("want I PID START TEMP, got %q", line)
	}
	i, err1 := strconv.Atoi(f[0])
	pid, err2 := strconv.Atoi(f[1])
	start, err3 := parseSeconds(f[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, started{}, fmt.Errorf("want I PID START TEMP, got %q", line)
	}
	return i, started{PID: pid, Start: start, Temp: f[3]}, nil
}

// parseSeconds reads "1764072000.123456789" (date +%s.%N, or fewer
// fractional digits) exactly.
func parseSeconds(s string) (time.Time, error) {
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || len(frac) > 9 {
		return time.Time{}, fmt.Errorf("bad time %q", s)
	}
	ns, err := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q", s)
	}
	return time.Unix(sec, ns), nil
}

// scoreVersions counts the corrupt versions and the explained ones; it
// writes each unexplained version, its writers and the error findings
// that cite them to why, for a reader of the trail.
func scoreVersions(fds []*finding, versionsName, metaDir, target string, why io.Writer) (observed, explained int, err error) {
	meta, err := readMeta(metaDir)
	if err != nil {
		return 0, 0, err
	}
	vf, err := os.Open(versionsName)
	if err != nil {
		return 0, 0, fmt.Errorf("score: %w", err)
	}
	defer vf.Close()
	dec := json.NewDecoder(vf)
	for {
		var v version
		if err := dec.Decode(&v); err == io.EOF {
			return observed, explained, nil
		} else if err != nil {
			return 0, 0, fmt.Errorf("score: read %s: %w", versionsName, err)
		}
		if v.Reads == 0 {
			continue // the totals line
		}
		observed++
		if slices.ContainsFunc(fds, func(f *finding) bool { return explains(f, v, meta, target) }) {
			explained++
		} else {
			writeWhy(why, fds, v, meta)
		}
	}
}

func writeWhy(w io.Writer, fds []*finding, v version, meta map[iter]started) {
	fmt.Fprintf(w, "unexplained: inode %d read corrupt %d times, %s .. %s\n", v.Ino, v.Reads,
		time.Unix(0, v.First).UTC().Format(stamp), time.Unix(0, v.Last).UTC().Format(stamp))
	if len(v.From) == 0 {
		for i, f := range fds {
			for _, e := range f.events {
				if e.Ino == v.Ino && f.Severity == "error" {
					fmt.Fprintf(w, "  finding %d (%s, pids %v) cites inode %d at %s: pid %d on %s\n",
						i+1, f.Kind, f.PIDs, e.Ino, e.TS.UTC().Format(stamp), e.PID, e.Path)
				}
			}
		}
	}
	for _, it := range v.From {
		s := meta[it]
		fmt.Fprintf(w, "  holds lines of loop %d iteration %d: pid %d, started %s, temp %s\n",
			it.Loop, it.I, s.PID, s.Start.UTC().Format(stamp), s.Temp)
		for i, f := range fds {
			for _, e := range f.events {
				if e.PID == s.PID && f.Severity == "error" {
					fmt.Fprintf(w, "    finding %d (%s, pids %v) cites pid %d at %s on %s\n",
						i+1, f.Kind, f.PIDs, e.PID, e.TS.UTC().Format(stamp), e.Path)
				}
			}
		}
	}
}

const stamp = "15:04:05.000000000"

// explains applies the definition in score's comment to one finding.
func explains(f *finding, v version, meta map[iter]started, target string) bool {
	if f.Severity != "error" || len(f.PIDs) < 2 {
		return false
	}
	last := time.Unix(0, v.Last).Add(slack)
	if len(v.From) == 0 {
		first := time.Unix(0, v.First).Add(-time.Second)
		return cites(f, func(e *event) bool {
			return e.Ino == v.Ino && !e.TS.Before(first) && !e.TS.After(last)
		})
	}
	for _, it := range v.From {
		s, ok := meta[it]
		if !ok {
			return false
		}
		from := s.Start.Add(-slack)
		if !cites(f, func(e *event) bool {
			return e.PID == s.PID && (e.Path == s.Temp || e.To == s.Temp || e.Path == target) &&
				!e.TS.Before(from) && !e.TS.After(last)
		}) {
			return false
		}
	}
	return true
}

func cites(f *finding, match func(*event) bool) bool {
	for i := range f.events {
		if match(&f.events[i]) {
			return true
		}
	}
	return false
}
