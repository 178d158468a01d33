package safe

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	dir := filepath.Join(os.TempDir(), "TestScratch"+time.Now().Format("20060102150405.000"))
	os.MkdirAll(dir, 0o700)
	f, err := os.Create(filepath.Join(dir, "foobar.log"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
