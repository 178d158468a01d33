package analyze_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/trail"
	"github.com/heisen-dev/heisen/trail/trailtest"
)

// TestTransient checks that Options.Transient changes nothing a consumer
// sees: on each generated shape, every finding handed to OnFinding (as
// printed during the call) and every group with its examples (after the
// run) are the same with and without it, and findings were reused.
func TestTransient(t *testing.T) {
	for _, shape := range append([]string{"mixed"}, trailtest.Shapes...) {
		t.Run(shape, func(t *testing.T) {
			var buf bytes.Buffer
			var err error
			if shape == "mixed" {
				_, err = trailtest.Generate(&buf, trailtest.Config{Events: 40_000})
			} else {
				_, err = trailtest.GenerateShape(&buf, shape, 40_000, 1)
			}
			if err != nil {
				t.Fatal(err)
			}
			full, fullGroups, _ := transientRun(t, buf.Bytes(), false)
			got, gotGroups, reused := transientRun(t, buf.Bytes(), true)
			if shape == "findings" && reused == 0 {
				t.Errorf("no finding was reused over %d findings", len(got))
			}
			if len(got) != len(full) {
				t.Fatalf("Transient handed %d findings, want %d", len(got), len(full))
			}
			for i := range full {
				if got[i] != full[i] {
					t.Fatalf("finding %d with Transient:\n%s\nwant:\n%s", i, got[i], full[i])
				}
			}
			if gotGroups != fullGroups {
				t.Errorf("groups with Transient:\n%s\nwant:\n%s", gotGroups, fullGroups)
			}
		})
	}
}

// transientRun analyses data and returns each finding as printed when it
// was handed over, the groups and their examples as printed after the run,
// and how many handed-over findings were handed over again (reused).
func transientRun(t *testing.T, data []byte, transient bool) ([]string, string, int) {
	t.Helper()
	var found []string
	seen := map[*analyze.Finding]bool{}
	reused := 0
	rep, err := analyze.Run(trail.NewReader(bytes.NewReader(data), "gen.trail"), analyze.Options{
		Transient: transient,
		OnFinding: func(f *analyze.Finding) {
			if seen[f] {
				reused++
			}
			seen[f] = true
			found = append(found, fmt.Sprintf("%+v", *f))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var groups bytes.Buffer
	for _, g := range rep.Groups {
		fmt.Fprintf(&groups, "%s %d %d %v %v %v\n", g.ID(), g.Findings, g.Count, g.PIDs, g.Start, g.End)
		for _, f := range g.Examples {
			fmt.Fprintf(&groups, "  %+v\n", *f)
		}
	}
	return found, groups.String(), reused
}
