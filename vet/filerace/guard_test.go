package filerace

import (
	"go/types"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis"
)

// A panic inside the analyzer becomes a diagnostic that names the package, the
// panic and where it happened, instead of ending the whole run.
func TestGuardedTurnsPanicIntoError(t *testing.T) {
	var got []analysis.Diagnostic
	pass := &analysis.Pass{
		Pkg:    types.NewPackage("example.com/broken", "broken"),
		Report: func(d analysis.Diagnostic) { got = append(got, d) },
	}
	var m map[string]int
	_, err := guarded(func(*analysis.Pass) (any, error) {
		m["x"] = 1 // assignment to a nil map panics
		return nil, nil
	})(pass)
	if err != nil {
		t.Fatalf("guarded run returned %v, want the panic as a diagnostic so importers are still analysed", err)
	}
	if len(got) != 1 || got[0].Category != InternalError {
		t.Fatalf("diagnostics = %v, want one of category %s", got, InternalError)
	}
	for _, want := range []string{"example.com/broken", "assignment to entry in nil map", "guard_test.go:"} {
		if !strings.Contains(got[0].Message, want) {
			t.Errorf("message %q lacks %q", got[0].Message, want)
		}
	}
}
