package trail_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/heisen-dev/heisen/trail"
	"github.com/heisen-dev/heisen/trail/trailtest"
)

// BenchmarkReader decodes a generated 200,000-event trail from memory and
// reports events per second.
func BenchmarkReader(b *testing.B) {
	var buf bytes.Buffer
	st, err := trailtest.Generate(&buf, trailtest.Config{Events: 200_000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		r := trail.NewReader(bytes.NewReader(buf.Bytes()), "bench.trail")
		var e trail.Event
		n := 0
		for r.Read(&e) != io.EOF {
			n++
		}
		if n != st.Events {
			b.Fatalf("read %d events, want %d", n, st.Events)
		}
	}
	b.ReportMetric(float64(st.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
