package main

import (
	"strings"
	"testing"
)

// An error reading the trail names it once.
func TestTrailLinesErrorNamesTheTrailOnce(t *testing.T) {
	dir := t.TempDir() // opens, but reading it fails
	_, err := trailLines(dir, 1)
	if err == nil || strings.Count(err.Error(), dir) != 1 {
		t.Fatalf("got %v, want an error naming %s once", err, dir)
	}
	t.Log(err)
}
