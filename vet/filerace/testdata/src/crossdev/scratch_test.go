package crossdev

import (
	"os"
	"testing"
)

// A test's scratch directory is under the system temp directory, so a
// temp made in the system temp directory and renamed into it stays on one
// file system.
func TestIntoScratch(t *testing.T) {
	f, err := os.CreateTemp("", "a")
	if err != nil {
		t.Fatal(err)
	}
	f.Sync()
	f.Close()
	if err := os.Rename(f.Name(), t.TempDir()+"/b"); err != nil {
		t.Fatal(err)
	}
}
