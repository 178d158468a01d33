package analyze_test

import (
	"bytes"
	"fmt"
	"strings"
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
			data := generate(t, shape, 40_000)
			full, fullGroups, _ := transientRun(t, data, analyze.Options{})
			got, gotGroups, reused := transientRun(t, data, analyze.Options{Transient: true})
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

// TestBrief checks that Options.Brief hands over every finding with what
// groups count as without it, leaves out the message, note and evidence
// of findings that are no example only, and leaves the groups and their
// examples as they were.
func TestBrief(t *testing.T) {
	for _, shape := range append([]string{"mixed"}, trailtest.Shapes...) {
		t.Run(shape, func(t *testing.T) {
			data := generate(t, shape, 40_000)
			full, fullGroups, _ := transientRun(t, data, analyze.Options{Transient: true})
			brief, briefGroups, _ := transientRun(t, data, analyze.Options{Transient: true, Brief: true})
			if len(brief) != len(full) {
				t.Fatalf("Brief handed %d findings, want %d", len(brief), len(full))
			}
			bare := 0
			for i := range full {
				if brief[i] == full[i] {
					continue
				}
				bare++
				if want := counted(full[i]); brief[i] != want {
					t.Fatalf("finding %d with Brief:\n%s\nwant it in full or as:\n%s", i, brief[i], want)
				}
			}
			if shape == "findings" && bare == 0 {
				t.Errorf("Brief left no finding without its details over %d findings", len(full))
			}
			if briefGroups != fullGroups {
				t.Errorf("groups with Brief:\n%s\nwant:\n%s", briefGroups, fullGroups)
			}
		})
	}
}

func generate(t *testing.T, shape string, events int) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if shape == "mixed" {
		_, err = trailtest.Generate(&buf, trailtest.Config{Events: events})
	} else {
		_, err = trailtest.GenerateShape(&buf, shape, events, 1)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// transientRun analyses data with opts and returns each finding as
// printed (what groups count of it, then its details) when it was handed
// over, the groups and their examples as printed after the run, and how
// many handed-over findings were handed over again (reused).
func transientRun(t *testing.T, data []byte, opts analyze.Options) ([]string, string, int) {
	t.Helper()
	var found []string
	seen := map[*analyze.Finding]bool{}
	reused := 0
	opts.OnFinding = func(f *analyze.Finding) {
		if seen[f] {
			reused++
		}
		seen[f] = true
		found = append(found, countedPart(f)+detailPart(f.Message, f.Note, f.Evidence, f.Omitted, f.Hosts, f.MorePIDs))
	}
	rep, err := analyze.Run(trail.NewReader(bytes.NewReader(data), "gen.trail"), opts)
	if err != nil {
		t.Fatal(err)
	}
	var groups bytes.Buffer
	for _, g := range rep.Groups {
		fmt.Fprintf(&groups, "%s %d %d %v %v %v\n", g.ID(), g.Findings, g.Count, g.PIDs, g.Start, g.End)
		for _, f := range g.Examples {
			fmt.Fprintf(&groups, "  %s%s\n", countedPart(f), detailPart(f.Message, f.Note, f.Evidence, f.Omitted, f.Hosts, f.MorePIDs))
		}
	}
	return found, groups.String(), reused
}

// countedPart prints what Options.Brief keeps of every finding.
func countedPart(f *analyze.Finding) string {
	return fmt.Sprintf("%s %s %s %q %q %d %v %v %v", f.Kind, f.Severity, f.Path, f.Program, f.Group, f.Count, f.Start, f.End, f.PIDs)
}

func detailPart(msg, note string, ev []trail.Event, omitted int, hosts []string, morePIDs bool) string {
	return fmt.Sprintf(" | %q %q %+v %d %v %v", msg, note, ev, omitted, hosts, morePIDs)
}

// counted returns a finding printed by transientRun as Brief hands over
// one that is no example: without message, note and evidence.
func counted(printed string) string {
	i := strings.Index(printed, " | ")
	return printed[:i] + detailPart("", "", nil, 0, nil, false)
}
