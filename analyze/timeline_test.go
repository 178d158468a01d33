package analyze

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/heisen-dev/heisen/trail"
	"github.com/rogpeppe/go-internal/txtar"
)

// TestTimeline renders the story's golden trail as Chrome trace-event JSON
// and checks what Perfetto needs: valid JSON, a name per process, each
// window an async begin/end pair with one id and its path, findings as
// instants on their processes' tracks, times in microseconds.
func TestTimeline(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/temp-collision.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var readers []*trail.Reader
	for _, f := range ar.Files {
		if f.Name == "w1.trail" || f.Name == "w2.trail" {
			readers = append(readers, trail.NewReader(bytes.NewReader(f.Data), f.Name))
		}
	}
	var out bytes.Buffer
	tl := NewTimeline(&out)
	windows := 0
	rep, err := Run(trail.Merge(readers...), Options{OnWindow: func(w *Window) { windows++; tl.Window(w) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		tl.Finding(f)
	}
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TraceEvents []struct {
			Ph, Name, Cat, ID, S string
			PID                  int
			TS                   float64
			Args                 map[string]any
		}
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("timeline is not JSON: %v\n%s", err, out.Bytes())
	}
	begins, ends := map[string]string{}, map[string]int{}
	named := map[int]bool{}
	instants := map[string]int{}
	for _, e := range doc.TraceEvents {
		switch e.Ph {
		case "M":
			named[e.PID] = true
		case "b":
			begins[e.ID] = e.Name
			if e.TS < 1764072000e6 || e.TS > 1764072001e6 {
				t.Errorf("span %s starts at %f µs, want 2025-11-25T12:00:00 in µs", e.ID, e.TS)
			}
		case "e":
			ends[e.ID]++
		case "i":
			instants[e.Name]++
			if e.Args["severity"] != "error" || e.S != "p" {
				t.Errorf("instant %+v", e)
			}
		}
	}
	if windows != 2 || len(begins) != 2 || len(ends) != 2 {
		t.Errorf("%d windows, %d begins, %d ends; want 2 each", windows, len(begins), len(ends))
	}
	for id, name := range begins {
		if ends[id] != 1 || name != "/data/out.1764072000.tmp" {
			t.Errorf("span %s %q has %d ends", id, name, ends[id])
		}
	}
	if !named[11] || !named[12] {
		t.Errorf("process names for %v, want 11 and 12", named)
	}
	// Each finding is on the track of both its pids.
	if instants["temp-collision"] != 2 || instants["torn-rename"] != 2 {
		t.Errorf("instants %v", instants)
	}
}
