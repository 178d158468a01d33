package stress

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/trail"
)

// With a trail, analyze explains the story's corruption: a finding naming
// the writers whose bytes the version holds, and two opens of one temp
// name by two of them.
func TestExplainTimestamp(t *testing.T) {
	cfg := config(t, "timestamp", 4, 250, 1)
	var res *Result
	for try := 0; try < 4; try++ {
		cfg.Dir = t.TempDir()
		cfg.Trail = filepath.Join(cfg.Dir, "trail.jsonl")
		res = runUntilCorrupt(t, cfg, 4)
		n, err := Explain(res)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("none of %d corruptions explained", len(res.Corrupt))
		}
		for i := range res.Corrupt {
			c := &res.Corrupt[i]
			if c.Finding == nil {
				t.Logf("unexplained: %s %s %s", c.Kind, c.Reason, c.Explain)
				continue
			}
			for _, src := range c.Sources {
				if pid := res.PIDs[writerOf(src)]; pid != 0 && !slices.Contains(c.Finding.PIDs, pid) {
					t.Errorf("version %s holds bytes of %s (pid %d) but its finding involves pids %v", c.Version, src, pid, c.Finding.PIDs)
				}
			}
			if pair := CollidingOpens(c, res.PIDs); pair != nil {
				if pair[0].Path != pair[1].Path || pair[0].PID == pair[1].PID || pair[0].Op != trail.OpOpen || pair[0].Pos.Line == 0 {
					t.Fatalf("colliding opens %+v", pair)
				}
				return
			}
		}
	}
	t.Fatal("no explained corruption came with two colliding opens")
}

// A clean run has nothing to explain and analyze finds no race in its trail.
func TestExplainUUIDFindsNoRace(t *testing.T) {
	cfg := config(t, "uuid", 3, 100, 0)
	cfg.Trail = filepath.Join(cfg.Dir, "trail.jsonl")
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	findings, err := analyzeTrail(res.Trail, filepath.Dir(res.Target))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if slices.Contains(raceKinds, f.Kind) {
			t.Errorf("race finding in a uuid trail: %s %s", f.Kind, f.Message)
		}
	}
}

func TestMatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pids := map[int]int{1: 101, 2: 102, 3: 103}
	fd := func(k analyze.Kind, start time.Duration, pids ...int) *analyze.Finding {
		return &analyze.Finding{Kind: k, PIDs: pids, Start: t0.Add(start), End: t0.Add(start + time.Millisecond)}
	}
	other := fd(analyze.TempCollision, 0, 101, 103)
	old := fd(analyze.TempCollision, -time.Hour, 101, 102)
	near := fd(analyze.TornRename, -time.Second, 101, 102, 103)
	later := fd(analyze.TempCollision, time.Second, 101, 102)
	unsynced := fd(analyze.UnsyncedRename, 0, 101, 102)
	all := []*analyze.Finding{other, old, near, later, unsynced}

	spliced := &Corruption{Sources: []string{"w1#3", "w2#4"}, At: t0}
	if got := match(spliced, pids, all); got != near {
		t.Errorf("spliced from writers 1 and 2: matched %+v, want the latest race involving both before it was seen", got)
	}
	if got := match(spliced, pids, []*analyze.Finding{other, later, unsynced}); got != nil {
		t.Errorf("matched %+v: a finding without writer 2, one after the version was seen, or a durability warning cannot explain it", got)
	}
	empty := &Corruption{At: t0}
	if got := match(empty, pids, []*analyze.Finding{old}); got != nil {
		t.Errorf("an empty version matched a finding an hour older")
	}
	if got := match(empty, pids, all); got == nil || got.Kind == analyze.UnsyncedRename {
		t.Errorf("an empty version matched %+v, want the race just before it", got)
	}
}

// One worker cannot collide with itself, yet its trail predicts the race
// of its strategy: the clock or the pid in the temp name. The story's fix
// and atomicfile predict nothing.
func TestExplainPredictsWithoutCorruption(t *testing.T) {
	for _, tc := range []struct{ strategy, note string }{
		{"timestamp", "clock-derived: "}, {"millis", "the Unix time in milliseconds"}, {"pid", "pid-derived: "},
		{"uuid", ""}, {"atomicfile", ""},
	} {
		cfg := config(t, tc.strategy, 1, 30, 0)
		cfg.Trail = filepath.Join(cfg.Dir, "trail.jsonl")
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Explain(res); err != nil {
			t.Fatal(err)
		}
		if len(res.Corrupt) > 0 {
			t.Fatalf("%s: one worker corrupted its target: %+v", tc.strategy, res.Corrupt[0])
		}
		switch {
		case tc.note == "" && len(res.Predicted) > 0:
			t.Errorf("%s: predicted %s: %s", tc.strategy, res.Predicted[0].Kind, res.Predicted[0].Message)
		case tc.note != "" && (len(res.Predicted) != 1 || res.Predicted[0].Kind != analyze.PredictableTemp ||
			!strings.Contains(res.Predicted[0].Note, tc.note)):
			t.Errorf("%s: predictions %v, want one predictable-temp whose note says %q", tc.strategy, res.Predicted, tc.note)
		}
	}
}
