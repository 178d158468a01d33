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
	rep, err := vet.Check(context.Background(), vet.Options{Dir: "testdata/racy"}, "./...")
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range rep.Findings {
		fmt.Printf("%s:%d %s (%s)\n", filepath.Base(f.File), f.Line, f.Kind, f.Severity)
	}
	// Output:
	// racy.go:13 predictable-temp (error)
	// racy.go:16 unsynced-rename (error)
}
