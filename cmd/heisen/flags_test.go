package main

import (
	"flag"
	"io"
	"slices"
	"testing"
)

// A list flag's first use replaces its default; with commas each use is
// split, without them a value keeps its commas (a path may hold one).
func TestListFlag(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	split := listFlag{vals: []string{"default"}, commas: true}
	whole := listFlag{}
	fs.Var(&split, "s", "")
	fs.Var(&whole, "w", "")
	if err := fs.Parse([]string{"-s", "a, b,,c", "-s", "d", "-w", "x,y", "-w", "z"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(split.vals, want) {
		t.Errorf("comma list = %q, want %q", split.vals, want)
	}
	if want := []string{"x,y", "z"}; !slices.Equal(whole.vals, want) {
		t.Errorf("repeated values = %q, want %q", whole.vals, want)
	}
}
