// Package vet runs the filerace analyzer (package
// github.com/heisen-dev/heisen/vet/filerace) over Go packages in-process,
// the way "heisen vet" does, and returns its findings as data.
//
// It loads packages with golang.org/x/tools/go/packages, test files
// included, and analyzes their dependencies too, so that facts about name
// helpers in other packages reach the callers.
package vet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"go/token"
	"slices"
	"strings"

	"github.com/heisen-dev/heisen/vet/filerace"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
)

// A Finding is one diagnostic of the analyzer.
type Finding struct {
	Category string `json:"category"` // predictable-temp, rename-without-sync, cross-device-temp, inplace-truncate, ignore
	Severity string `json:"severity"` // "high", or "low" for inplace-truncate and malformed ignore comments
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Message  string `json:"message"`
	Fixes    []Fix  `json:"fixes,omitempty"`
}

// A Fix is a suggested fix, described; the edits themselves are applied by
// an analysis driver (gopls, or "heisen-vet -fix").
type Fix struct {
	Message string `json:"message"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", f.File, f.Line, f.Column, f.Message)
}

// Options change how Check loads packages.
type Options struct {
	Dir   string   // the directory to run the build system in; "" means the current one
	Tests bool     // analyze test files too
	Env   []string // the environment of the build system, nil for the process's
}

// Check analyzes the packages that patterns match. It returns the findings,
// sorted by position and deduplicated across a package and its test
// variant. The error reports packages that could not be loaded or
// type-checked, or an analyzer failure; findings are not errors.
func Check(ctx context.Context, opts Options, patterns ...string) ([]Finding, error) {
	cfg := &packages.Config{
		Context: ctx,
		Mode:    packages.LoadAllSyntax,
		Dir:     opts.Dir,
		Tests:   opts.Tests,
		Env:     opts.Env,
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", strings.Join(patterns, " "), err)
	}
	var errs []error
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			errs = append(errs, fmt.Errorf("package %s: %w", p.PkgPath, e))
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("load %s: no packages matched", strings.Join(patterns, " "))
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{filerace.Analyzer}, pkgs, nil)
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	var findings []Finding
	seen := map[string]bool{}
	for act := range graph.All() {
		if act.Err != nil {
			errs = append(errs, fmt.Errorf("analyze %s: %w", act.Package.PkgPath, act.Err))
		}
		if !act.IsRoot {
			continue
		}
		for _, d := range act.Diagnostics {
			f := finding(act.Package.Fset, d)
			// The test variant of a package sees more of it (its tests'
			// stores into fields), which can change a message but not a
			// finding's place and category.
			if key := fmt.Sprintf("%s:%d:%d:%s", f.File, f.Line, f.Column, f.Category); !seen[key] {
				seen[key] = true
				findings = append(findings, f)
			}
		}
	}
	slices.SortFunc(findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Message, b.Message))
	})
	return findings, errors.Join(errs...)
}

func finding(fset *token.FileSet, d analysis.Diagnostic) Finding {
	p := fset.Position(d.Pos)
	f := Finding{Category: d.Category, Severity: "high", File: p.Filename, Line: p.Line, Column: p.Column, Message: d.Message}
	if d.Category == filerace.InplaceTruncate || d.Category == filerace.BadIgnore {
		f.Severity = "low"
	}
	for _, fix := range d.SuggestedFixes {
		f.Fixes = append(f.Fixes, Fix{Message: fix.Message})
	}
	return f
}
