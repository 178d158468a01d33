package trail_test

import (
	"io"
	"testing"

	"github.com/heisen-dev/heisen/trail"
	"github.com/heisen-dev/heisen/trail/trailtest"
)

// BenchmarkReader decodes trailtest's benchmark trail from memory and
// reports events per second.
func BenchmarkReader(b *testing.B) {
	trailtest.Benchmark(b, func(in io.Reader) (int64, error) {
		r := trail.NewReader(in, "bench.trail")
		var e trail.Event
		var n int64
		for r.Read(&e) != io.EOF {
			n++
		}
		return n, nil
	})
}
