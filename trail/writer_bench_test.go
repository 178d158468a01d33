package trail

import (
	"path/filepath"
	"testing"
)

// BenchmarkWriter measures the cost per event of writing to a real file,
// buffered and unbuffered (one write(2) per event).
func BenchmarkWriter(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts []Option
	}{{"buffered", []Option{Buffered()}}, {"unbuffered", nil}} {
		b.Run(mode.name, func(b *testing.B) {
			w, err := Create(filepath.Join(b.TempDir(), "bench.trail"), mode.opts...)
			if err != nil {
				b.Fatal(err)
			}
			e := testEvent(4242, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				e.Off = int64(i)
				if err := w.Write(&e); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
