package analyze

import (
	"bytes"
	"strings"
	"testing"

	"github.com/heisen-dev/heisen/trail"
	"github.com/rogpeppe/go-internal/txtar"
)

// TestExchangeWording checks that no finding on a trail of swaps
// (renameat2 RENAME_EXCHANGE, recorded) says a file was renamed over
// another or replaced: both names stay, their files trade places.
func TestExchangeWording(t *testing.T) {
	for _, file := range []string{"testdata/exchange-double-buffer.txtar", "testdata/exchange-shared-inode.txtar"} {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var readers []*trail.Reader
		for _, f := range ar.Files {
			if strings.HasSuffix(f.Name, ".trail") {
				readers = append(readers, trail.NewReader(bytes.NewReader(f.Data), f.Name))
			}
		}
		rep, err := Run(trail.Merge(readers...), Options{})
		if err != nil {
			t.Fatal(err)
		}
		swapped := false
		for _, f := range rep.Findings {
			if strings.Contains(f.Message, "renamed") || strings.Contains(f.Message, "replaced") {
				t.Errorf("%s: %s %s: %s", file, f.Kind, f.Path, f.Message)
			}
			swapped = swapped || f.Kind == PredictableTemp && strings.Contains(f.Message, "swapped it with /w/current")
		}
		if file == "testdata/exchange-double-buffer.txtar" && !swapped {
			t.Errorf("%s: no predictable-temp saying the temp was swapped with /w/current", file)
		}
	}
}
