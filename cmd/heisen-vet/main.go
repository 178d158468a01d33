// Command heisen-vet reports file-write races in Go code: temp names two
// writers can share, renames without sync, temp files on another file
// system, and files truncated in place while the package reads them.
//
// It runs the filerace analyzer (github.com/heisen-dev/heisen/vet/filerace)
// either standalone:
//
//	heisen-vet ./...
//	heisen-vet -fix ./...   # apply the suggested fixes
//
// or under go vet, which analyzes each package with the build's own
// configuration:
//
//	go vet -vettool=$(command -v heisen-vet) ./...
//
// Standalone it exits 3 when it reports findings (go vet exits 1), and 1
// on errors.
//
// With -fix it applies the first suggested fix of each finding, replacing
// each changed file atomically, and says on stderr what it changed (the
// finding's file:line:column after the fixes, and the fix) and which
// findings it left as they were: those with no automatic fix (a rename of
// a file written by os.WriteFile, which cannot be synced) and fixes it
// refused (overlapping another, in a generated file). It exits 0 when
// every finding was fixed, 3 when some remain, and 1 on errors.
package main

import (
	"os"

	"github.com/heisen-dev/heisen/vet/filerace"
	"golang.org/x/tools/go/analysis/singlechecker"
)

func main() {
	if fixMode(os.Args[1:]) {
		os.Exit(fix(os.Args[1:], os.Stderr))
	}
	singlechecker.Main(filerace.Analyzer)
}
