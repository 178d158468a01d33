package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/heisen-dev/heisen/vet"
)

// fixMode reports whether the flags before the packages ask for -fix.
func fixMode(args []string) bool {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") || a == "--" {
			return false
		}
		switch strings.TrimLeft(a, "-") {
		case "fix", "fix=true", "fix=1", "fix=t", "fix=T", "fix=TRUE", "fix=True":
			return true
		}
	}
	return false
}

// fix vets the packages with the in-process driver of heisen vet, applies
// the first suggested fix of each finding, and reports on stderr what it
// changed and what it left.
func fix(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("heisen-vet -fix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("fix", true, "apply the suggested fixes")
	tests := fs.Bool("test", true, "vet test files too")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: heisen-vet -fix [-test=false] [packages]")
	}
	if err := fs.Parse(args); err != nil {
		return 1
	}
	patterns := fs.Args()
	if len(patterns) == 0 {
		fs.Usage()
		return 1
	}
	rep, err := vet.Check(context.Background(), vet.Options{Tests: *tests}, patterns...)
	if err != nil {
		fmt.Fprintf(stderr, "heisen-vet: %v\n", err)
		return 1
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(stderr, "heisen-vet: skipped package %s: %s\n", s.Package, strings.Join(s.Errors, "; "))
	}
	for _, f := range rep.Failed {
		fmt.Fprintf(stderr, "heisen-vet: %s\n", f.Message)
	}
	if wd, err := os.Getwd(); err == nil {
		vet.RelativeTo(rep.Findings, wd)
	}
	left := applyFixes(vet.PlanFixes(rep.Findings), stderr)
	switch {
	case len(rep.Failed) > 0 || left < 0:
		return 1
	case left > 0:
		return 3
	}
	return 0
}

// applyFixes writes the plan's files and reports each finding: fixed, with
// no automatic fix, or not fixed and why. It returns how many findings are
// left, or -1 when a file could not be written.
func applyFixes(plan *vet.FixPlan, stderr io.Writer) int {
	failed := map[string]error{}
	for _, name := range slices.Sorted(maps.Keys(plan.Files)) {
		if err := atomicfile.WriteFile(name, plan.Files[name], 0o644); err != nil {
			failed[name] = err
			fmt.Fprintf(stderr, "heisen-vet: fixes not written: %v\n", err)
		}
	}
	type report struct {
		file      string
		line, col int
		text      string
	}
	var lines []report
	add := func(f vet.Finding, format string, args ...any) {
		r := report{f.File, f.Line, f.Column, fmt.Sprintf(format, args...)}
		if failed[f.File] == nil {
			r.line, r.col = plan.Where(f)
		}
		lines = append(lines, r)
	}
	fixed, left := 0, 0
	files := map[string]bool{}
	for _, a := range plan.Applied {
		if err := failed[a.Finding.File]; err != nil {
			left++
			add(a.Finding, "not fixed (the file could not be written): %s", a.Finding.Message)
			continue
		}
		fixed++
		files[a.Finding.File] = true
		add(a.Finding, "fixed %s: %s", a.Finding.Kind, a.Fix.Message)
	}
	for _, f := range plan.Unfixable {
		left++
		add(f, "no automatic fix: %s", f.Message)
	}
	for _, r := range plan.Refused {
		left++
		add(r.Finding, "not fixed (%s): %s", r.Reason, r.Finding.Message)
	}
	slices.SortStableFunc(lines, func(a, b report) int {
		return cmp.Or(cmp.Compare(a.file, b.file), cmp.Compare(a.line, b.line), cmp.Compare(a.col, b.col))
	})
	for _, r := range lines {
		fmt.Fprintf(stderr, "%s:%d:%d: %s\n", r.file, r.line, r.col, r.text)
	}
	fmt.Fprintf(stderr, "heisen-vet: fixed %s in %s; %s left as they were\n",
		count(fixed, "finding"), count(len(files), "file"), count(left, "finding"))
	if len(failed) > 0 {
		return -1
	}
	return left
}

// count says n things in words that agree with n: "1 file", "2 files".
func count(n int, thing string) string {
	if n != 1 {
		thing += "s"
	}
	return strconv.Itoa(n) + " " + thing
}
