// The race detector's instrumentation allocates, so the allocation count
// is only meaningful in a normal build.

//go:build !race

package atomicfile

import (
	"path/filepath"
	"testing"
)

func TestUntracedWriteFileDoesNotAllocate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "target")
	data := make([]byte, 4096)
	allocs := testing.AllocsPerRun(20, func() {
		if err := WriteFile(path, data, 0o644, AtomicOnly); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("WriteFile allocates %v times", allocs)
	}
}
