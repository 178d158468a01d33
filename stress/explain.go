package stress

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/trail"
)

// raceKinds are the findings that can put foreign bytes in a target; the
// durability warnings cannot, so they never explain a corruption.
var raceKinds = []analyze.Kind{analyze.TempCollision, analyze.SharedInodeWrite, analyze.TornRename,
	analyze.WriteAfterRename, analyze.InPlaceRewrite}

// predictionKinds are the findings that predict a race from a run where
// it need not have happened.
var predictionKinds = []analyze.Kind{analyze.PredictableTemp, analyze.UnlockedUpdate}

// maxUnattributedGap bounds how long before a corrupt version without a
// readable source (an empty file) a finding may end and still explain it.
const maxUnattributedGap = time.Second

// Explain runs analyze over the run's trail and links each corruption to
// the race finding that explains it: one that involves every writer whose
// bytes the version holds (the pids come from Result.PIDs) and that began
// before the version was seen; when several do, the one that ended closest
// before the version was seen (a finding still running then counts as
// closest), the earliest in trail order among equals.
// A version with no attributable bytes (an empty file) is linked to a
// race finding that ended at most a second before it was seen. It returns
// how many corruptions it linked.
//
// Explain also keeps analyze's predictions (predictable-temp,
// unlocked-update) in Result.Predicted, so a run without corruption can
// still say what would corrupt its target.
//
// Only this run's files are considered, so rounds sharing a trail file do
// not explain each other. The trail's lines, appended by several
// processes, are sorted by time before analysis.
func Explain(r *Result) (int, error) {
	if r.Trail == "" {
		return 0, nil
	}
	findings, err := analyzeTrail(r.Trail, filepath.Dir(r.Target))
	if err != nil {
		return 0, err
	}
	r.Predicted = nil
	for _, f := range findings {
		if slices.Contains(predictionKinds, f.Kind) {
			r.Predicted = append(r.Predicted, f)
		}
	}
	n := 0
	for i := range r.Corrupt {
		c := &r.Corrupt[i]
		if c.Finding = match(c, r.PIDs, findings); c.Finding != nil {
			n++
		}
	}
	return n, nil
}

func analyzeTrail(path, dir string) ([]*analyze.Finding, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("stress: analyze trail: %w", err)
	}
	defer f.Close()
	rd := trail.NewReader(f, path)
	var events []trail.Event
	for {
		var e trail.Event
		err := rd.Read(&e)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("stress: analyze trail: %w", err)
		}
		events = append(events, e)
	}
	// Each process stamps its own events; appends from several processes
	// can land a few microseconds out of order.
	slices.SortStableFunc(events, func(a, b trail.Event) int { return a.TS.Compare(b.TS) })
	a := analyze.New(analyze.Options{Paths: []string{dir}})
	for i := range events {
		a.Add(&events[i])
	}
	return a.Finish(), nil
}

func match(c *Corruption, pids map[int]int, findings []*analyze.Finding) *analyze.Finding {
	var want []int
	for _, src := range c.Sources {
		if w := writerOf(src); w > 0 && pids[w] != 0 && !slices.Contains(want, pids[w]) {
			want = append(want, pids[w])
		}
	}
	var best *analyze.Finding
	var bestGap time.Duration
	for _, f := range findings {
		if !slices.Contains(raceKinds, f.Kind) || f.Start.After(c.At) {
			continue
		}
		if !containsAll(f.PIDs, want) {
			continue
		}
		gap := max(c.At.Sub(f.End), 0)
		if len(want) == 0 && gap > maxUnattributedGap {
			continue
		}
		if best == nil || gap < bestGap {
			best, bestGap = f, gap
		}
	}
	return best
}

// writerOf returns the writer of a source "w3#42", or -1.
func writerOf(src string) int {
	w, _, ok := strings.Cut(strings.TrimPrefix(src, "w"), "#")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(w)
	if err != nil {
		return -1
	}
	return n
}

func containsAll(have, want []int) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// CollidingOpens returns the evidence of c's finding that shows the race
// the way the story's log showed it: the opens of one temp name by two
// different processes, the writers of c first. It returns nil when c is
// not explained or its finding has no two such opens.
func CollidingOpens(c *Corruption, pids map[int]int) []trail.Event {
	if c.Finding == nil {
		return nil
	}
	mine := map[int]bool{}
	for _, src := range c.Sources {
		if pid := pids[writerOf(src)]; pid != 0 {
			mine[pid] = true
		}
	}
	var opens []trail.Event
	for _, e := range c.Finding.Evidence {
		if e.Op == trail.OpOpen && e.Flags.Writes() {
			opens = append(opens, e)
		}
	}
	// The writers of c first, then time order.
	slices.SortStableFunc(opens, func(a, b trail.Event) int {
		if mine[a.PID] != mine[b.PID] {
			if mine[a.PID] {
				return -1
			}
			return 1
		}
		return a.TS.Compare(b.TS)
	})
	// Two opens of one name that got one inode show the trampling best;
	// two that got different inodes (the name was renamed away between
	// them) still show the collision.
	for _, sameInode := range []bool{true, false} {
		for i := range opens {
			for j := i + 1; j < len(opens); j++ {
				a, b := opens[i], opens[j]
				if a.Path != b.Path || a.PID == b.PID || sameInode && (a.Ino == 0 || a.Ino != b.Ino) {
					continue
				}
				pair := []trail.Event{a, b}
				slices.SortFunc(pair, func(a, b trail.Event) int { return a.TS.Compare(b.TS) })
				return pair
			}
		}
	}
	return nil
}
