package shellrace

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheck runs the analysis on arbitrary scripts, seeded with the
// testdata scripts: it must not panic, and every finding must point into
// the script.
func FuzzCheck(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.sh")
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("dd of=\nmv\ntee -- >\nset -o\nx=$(mktemp -p)\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		findings, err := Check("fuzz.sh", src)
		if err != nil {
			return
		}
		lines := 1
		for _, b := range src {
			if b == '\n' {
				lines++
			}
		}
		for _, d := range findings {
			if d.Line < 1 || d.Line > lines || d.Column < 1 || d.Message == "" {
				t.Errorf("finding outside the script (%d lines): %+v", lines, d)
			}
		}
	})
}
