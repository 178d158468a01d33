package vet_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"

	"github.com/heisen-dev/heisen/vet"
)

// Check a module with the story's bug: a temp name from a second-resolution
// clock, written without sync and renamed over the target.
func ExampleCheck() {
	findings, err := vet.Check(context.Background(), vet.Options{Dir: "testdata/racy"}, "./...")
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range findings {
		fmt.Printf("%s:%d %s (%s)\n", filepath.Base(f.File), f.Line, f.Category, f.Severity)
	}
	// Output:
	// racy.go:13 predictable-temp (high)
	// racy.go:16 rename-without-sync (high)
}
