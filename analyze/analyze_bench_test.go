package analyze_test

import (
	"io"
	"testing"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/trail"
	"github.com/heisen-dev/heisen/trail/trailtest"
)

// BenchmarkAnalyze reads and analyses trailtest's benchmark trail (workers
// replacing shared targets, some through colliding clock-derived names)
// and reports events per second, decoding included.
func BenchmarkAnalyze(b *testing.B) {
	trailtest.Benchmark(b, func(in io.Reader) (int64, error) {
		rep, err := analyze.Run(trail.NewReader(in, "bench.trail"), analyze.Options{})
		if err != nil {
			return 0, err
		}
		return rep.Stats.Events, nil
	})
}

// BenchmarkShapes analyses each of trailtest's shapes, decoding included:
// many distinct files, one hot file, long-lived descriptors in many
// processes, a finding every few events. Findings go to OnFinding, as
// heisen analyze's default output has them handed over, not into the
// report.
func BenchmarkShapes(b *testing.B) {
	for _, shape := range trailtest.Shapes {
		b.Run(shape, func(b *testing.B) {
			trailtest.BenchmarkShape(b, shape, func(in io.Reader) (int64, error) {
				rep, err := analyze.Run(trail.NewReader(in, "bench.trail"), analyze.Options{OnFinding: func(*analyze.Finding) {}, Transient: true, Brief: true})
				if err != nil {
					return 0, err
				}
				return rep.Stats.Events, nil
			})
		})
	}
}
