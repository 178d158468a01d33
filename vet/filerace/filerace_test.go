package filerace_test

import (
	"testing"

	"github.com/heisen-dev/heisen/vet/filerace"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestFindings(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), filerace.Analyzer,
		"predictable", "syncs", "crossdev", "inplace", "ignore", "logfile", "kinds", "precision", "recall", "locked")
}

// TestSafe holds the look-alikes that must stay quiet: os.CreateTemp in the
// target's directory, crypto/rand and uuid names, O_EXCL, atomicfile.
func TestSafe(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), filerace.Analyzer, "safe")
}

func TestSuggestedFixes(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), filerace.Analyzer, "fixes")
}
