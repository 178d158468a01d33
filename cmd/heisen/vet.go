package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/heisen-dev/heisen/vet"
)

func cmdVet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vet", "[packages]",
		`Vet Go packages (default ./...) for file-write races: temp names two writers
can share (predictable-temp), renames of unsynced files (rename-without-sync),
temp files renamed across file systems (cross-device-temp), and files
truncated in place while the package reads them (inplace-truncate, low).

Silence a finding with a comment on its line or the line above that gives
a reason:  //heisen:ignore predictable-temp: single writer, holds a flock

Exit status: 0 no findings, 1 findings, 2 packages that do not load or
type-check. For go vet, build cmd/heisen-vet and run
go vet -vettool=$(command -v heisen-vet) ./...`, stderr)
	asJSON := fs.Bool("json", false, "print findings as a JSON array")
	tests := fs.Bool("tests", true, "vet test files too")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	patterns := fs.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	for _, p := range patterns {
		if strings.HasPrefix(p, "-") {
			return usageError(stderr, "vet", "flag %s after the packages; put flags first", p)
		}
	}
	findings, err := vet.Check(ctx, vet.Options{Tests: *tests}, patterns...)
	if err != nil {
		fmt.Fprintf(stderr, "heisen vet: %v\n", err)
		return exitUsage
	}
	if wd, err := os.Getwd(); err == nil {
		for i, f := range findings {
			if rel, err := filepath.Rel(wd, f.File); err == nil && !strings.HasPrefix(rel, "..") {
				findings[i].File = rel
			}
		}
	}
	if *asJSON {
		if findings == nil {
			findings = []vet.Finding{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(findings); err != nil {
			fmt.Fprintf(stderr, "heisen vet: write findings: %v\n", err)
			return exitFail
		}
	} else {
		for _, f := range findings {
			fmt.Fprintln(stdout, f)
		}
	}
	if len(findings) > 0 {
		if !*asJSON {
			fmt.Fprintf(stderr, "heisen vet: %d finding(s)\n", len(findings))
		}
		return exitFail
	}
	return exitOK
}
