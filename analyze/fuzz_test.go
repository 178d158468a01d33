package analyze

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/heisen-dev/heisen/trail"
	"github.com/rogpeppe/go-internal/txtar"
)

// FuzzAnalyze feeds arbitrary trails to the analyzer, seeded with every
// golden trail: it must not panic, and every finding must carry evidence
// and a message.
func FuzzAnalyze(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var all []byte
		for _, af := range ar.Files {
			if filepath.Ext(af.Name) == ".trail" {
				all = append(all, af.Data...)
			}
		}
		f.Add(all)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Run(trail.NewReader(bytes.NewReader(data), "f"), Options{Durability: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range rep.Findings {
			if len(fd.Evidence) == 0 || fd.Message == "" || len(fd.PIDs) == 0 {
				t.Fatalf("finding without evidence, message or pids: %+v", fd)
			}
		}
	})
}
