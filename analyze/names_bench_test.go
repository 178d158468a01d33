package analyze

import (
	"testing"
	"time"
)

// BenchmarkReadName reads a temp name unique per process and call, the
// most common shape in correct programs, as a rename's prediction does.
func BenchmarkReadName(b *testing.B) {
	at := time.Date(2026, 12, 3, 10, 15, 0, 0, time.UTC)
	pids := []int{1000, 1, 1000, 1000}
	var parts []namePart
	for b.Loop() {
		parts = appendParts(parts[:0], "target-0.1000.3.tmp", "target-0", at, pids, true)
	}
}
