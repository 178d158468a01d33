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
package main

import (
	"github.com/heisen-dev/heisen/vet/filerace"
	"golang.org/x/tools/go/analysis/singlechecker"
)

func main() { singlechecker.Main(filerace.Analyzer) }
