package analyze_test

import (
	"bytes"
	"testing"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/trail"
	"github.com/heisen-dev/heisen/trail/trailtest"
)

// BenchmarkAnalyze reads and analyses a generated 200,000-event trail
// (workers replacing shared targets, some through colliding clock-derived
// names) and reports events per second, decoding included.
func BenchmarkAnalyze(b *testing.B) {
	var buf bytes.Buffer
	st, err := trailtest.Generate(&buf, trailtest.Config{Events: 200_000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := analyze.Run(trail.NewReader(bytes.NewReader(buf.Bytes()), "bench.trail"), analyze.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Stats.Events != int64(st.Events) {
			b.Fatalf("analysed %d events, want %d", rep.Stats.Events, st.Events)
		}
	}
	b.ReportMetric(float64(st.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
