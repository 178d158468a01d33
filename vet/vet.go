// Package vet runs the filerace analyzer (package
// github.com/heisen-dev/heisen/vet/filerace) over Go packages in-process,
// the way "heisen vet" does, and returns its findings as data.
//
// It lists packages with golang.org/x/tools/go/packages, test files
// included, and analyses them and their dependencies one package at a
// time, as go vet does, so that facts about name helpers in other packages
// reach the callers while memory holds the syntax of only the packages
// being analysed.
package vet

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/token"
	"slices"
	"strings"

	"github.com/heisen-dev/heisen/vet/filerace"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/packages"
)

// A Finding is one diagnostic of the analyzer: its kind and severity in
// the words heisen analyze uses (docs/findings.md).
type Finding struct {
	Kind     string `json:"kind"`     // predictable-temp, unsynced-rename, cross-device-temp, in-place-rewrite, ignore
	Severity string `json:"severity"` // "error", or "warning" for in-place-rewrite and malformed ignore comments
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Message  string `json:"message"`
	Fixes    []Fix  `json:"fixes,omitempty"`
}

// A Fix is a suggested fix: what it does, and for filerace's mechanical
// fixes the text edits, which an analysis driver (gopls, "heisen-vet -fix")
// or a code-scanning tool reading SARIF applies.
type Fix struct {
	Message string `json:"message"`
	Edits   []Edit `json:"edits,omitempty"` // the text edits, for filerace's mechanical fixes
}

// MarshalJSON writes the finding with its kind also under "category", the
// key heisen vet wrote before it said kind, so that readers of that output
// keep working.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	return json.Marshal(struct {
		plain
		Category string `json:"category"`
	}{plain(f), f.Kind})
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

// A Report is the outcome of Check: the findings, and the packages that
// could not be analysed and why.
type Report struct {
	Findings []Finding
	Analyzed []string  // the import paths of the packages analysed, sorted
	Skipped  []Skipped // packages that do not load or type-check
	Failed   []Finding // analyzer failures (category internal-error), in any package of the graph
}

// Skipped is a package that was not analysed because it does not load or
// type-check. Packages that import it are still analysed, without what the
// analyzer would have learned from it.
type Skipped struct {
	Package    string   `json:"package"`
	Dependency bool     `json:"dependency"` // not matched by the patterns, only imported
	Errors     []string `json:"errors"`
}

// Check analyzes the packages that patterns match. Packages that do not
// load or type-check are skipped and listed in the report; the others are
// analysed. The findings are sorted by position and deduplicated across a
// package and its test variant. Check returns an error when the patterns
// cannot be loaded at all or no package could be analysed.
func Check(ctx context.Context, opts Options, patterns ...string) (*Report, error) {
	cfg := &packages.Config{
		Context: ctx,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedDeps | packages.NeedModule | packages.NeedTypesSizes,
		Dir:   opts.Dir,
		Tests: opts.Tests,
		Env:   opts.Env,
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", strings.Join(patterns, " "), err)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("load %s: no packages matched", strings.Join(patterns, " "))
	}
	units, fset := run(ctx, filerace.Analyzer, pkgs)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep := report(units, fset)
	if len(rep.Analyzed) == 0 {
		return rep, nothingAnalyzed(patterns, rep)
	}
	return rep, nil
}

// report gathers the findings, the skipped packages and the failures of
// the analysed units.
func report(units []*unit, fset *token.FileSet) *Report {
	rep := &Report{}
	seen := map[string]bool{}
	analyzed := map[string]bool{}
	for _, u := range units {
		p := u.pkg
		if len(u.errs) > 0 {
			if key := p.PkgPath + "\x00" + strings.Join(u.errs, "\x00"); !seen[key] {
				seen[key] = true
				rep.Skipped = append(rep.Skipped, Skipped{Package: p.PkgPath, Dependency: !u.root, Errors: u.errs})
			}
			continue
		}
		for _, d := range u.failed {
			if !seen[d.Message] {
				seen[d.Message] = true
				rep.Failed = append(rep.Failed, finding(fset, d))
			}
		}
		if !u.root {
			continue
		}
		if !strings.HasSuffix(p.PkgPath, ".test") {
			analyzed[p.PkgPath] = true
		}
		for _, d := range u.diags {
			f := finding(fset, d)
			if d.Category == filerace.InternalError {
				if !seen[d.Message] {
					seen[d.Message] = true
					rep.Failed = append(rep.Failed, f)
				}
				continue
			}
			// The test variant of a package sees more of it (its tests'
			// stores into fields), which can change a message but not a
			// finding's place and category.
			if key := fmt.Sprintf("%s:%d:%d:%s", f.File, f.Line, f.Column, f.Kind); !seen[key] {
				seen[key] = true
				rep.Findings = append(rep.Findings, f)
			}
		}
	}
	for p := range analyzed {
		rep.Analyzed = append(rep.Analyzed, p)
	}
	slices.Sort(rep.Analyzed)
	slices.SortFunc(rep.Skipped, func(a, b Skipped) int { return cmp.Compare(a.Package, b.Package) })
	slices.SortFunc(rep.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Message, b.Message))
	})
	return rep
}

// nothingAnalyzed explains why no package of patterns was analysed.
func nothingAnalyzed(patterns []string, rep *Report) error {
	var errs []error
	for _, s := range rep.Skipped {
		for _, e := range s.Errors {
			errs = append(errs, fmt.Errorf("package %s: %s", s.Package, e))
		}
	}
	for _, f := range rep.Failed {
		errs = append(errs, errors.New(f.Message))
	}
	return fmt.Errorf("vet %s: no package could be analysed:\n%w", strings.Join(patterns, " "), errors.Join(errs...))
}

func finding(fset *token.FileSet, d analysis.Diagnostic) Finding {
	p := fset.Position(d.Pos)
	f := Finding{Kind: d.Category, Severity: "error", File: p.Filename, Line: p.Line, Column: p.Column, Message: d.Message}
	if d.Category == filerace.InPlaceRewrite || d.Category == filerace.BadIgnore {
		f.Severity = "warning"
	}
	for _, fix := range d.SuggestedFixes {
		f.Fixes = append(f.Fixes, Fix{Message: fix.Message, Edits: edits(fset, fix.TextEdits)})
	}
	return f
}
