package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/heisen-dev/heisen/vet"
	"github.com/heisen-dev/heisen/vet/sarif"
)

const vetAbout = `Vet Go packages (default ./...) for file-write races: temp names two writers
can share (predictable-temp), renames of unsynced files (unsynced-rename),
temp files renamed across file systems (cross-device-temp), and files
truncated in place while the package reads them (in-place-rewrite, a
warning; the others are errors).

Shell scripts are vetted too: files ending in .sh or .bash, or with an sh,
bash or dash #! line, found under the patterns (also where there is no Go
module) or named as files. In them unsynced-rename is a warning; a
script silences a finding with  # heisen:ignore <kind>: <reason>

Silence a finding with a comment on its line or the line above that gives
a reason:  //heisen:ignore predictable-temp: single writer, holds a flock

Packages that do not load or type-check are skipped and listed on stderr
with their errors; the others are vetted. Exit status: 0 no findings,
1 findings (or the analyzer failed on a package), 2 no package could be
vetted. For go vet, build cmd/heisen-vet and run
go vet -vettool=$(command -v heisen-vet) ./...`

// cmdVet vets the Go packages and shell scripts the patterns name: check
// the flags, collect the findings of both, print them in the form asked,
// and exit 1 on any.
func cmdVet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vet", "[packages]", vetAbout, stderr)
	asJSON := fs.Bool("json", false, "print findings as a JSON array")
	asSARIF := fs.Bool("sarif", false, "print findings as a SARIF 2.1.0 log, for code scanning")
	tests := fs.Bool("tests", true, "vet test files too")
	disable := fs.String("disable", "", "kinds of finding not to report, comma-separated (e.g. unsynced-rename)")
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
	if *asJSON && *asSARIF {
		return usageError(stderr, "vet", "--json and --sarif: choose one")
	}
	if _, err := vet.Without(nil, *disable); err != nil {
		return usageError(stderr, "vet", "--disable: %v", err)
	}
	findings, rep, code := vetFindings(ctx, stderr, patterns, *tests, *disable)
	if code != exitOK {
		return code
	}
	wd, _ := os.Getwd()
	if wd != "" {
		vet.RelativeTo(findings, wd)
	}
	if err := printFindings(stdout, findings, wd, *asJSON, *asSARIF); err != nil {
		fmt.Fprintf(stderr, "heisen vet: %v\n", err)
		return exitFail
	}
	printSkipped(stderr, rep)
	if len(findings) > 0 && !*asJSON && !*asSARIF {
		fmt.Fprintf(stderr, "heisen vet: %s\n", plural(len(findings), "finding"))
	}
	if len(findings) > 0 || len(rep.Failed) > 0 {
		return exitFail
	}
	return exitOK
}

// vetFindings vets the Go packages and the shell scripts among patterns
// and returns their findings, sorted, less the disabled kinds; a status
// other than exitOK when nothing could be vetted.
func vetFindings(ctx context.Context, stderr io.Writer, patterns []string, tests bool, disable string) ([]vet.Finding, *vet.Report, int) {
	scripts, goPatterns, err := vet.SplitScripts(patterns)
	if err != nil {
		fmt.Fprintf(stderr, "heisen vet: %v\n", err)
		return nil, nil, exitUsage
	}
	rep := &vet.Report{}
	if len(goPatterns) > 0 || len(scripts) == 0 {
		if len(scripts) == 0 {
			goPatterns = patterns
		}
		if rep, err = vet.Check(ctx, vet.Options{Tests: tests}, goPatterns...); err != nil {
			fmt.Fprintf(stderr, "heisen vet: %v\n", err)
			return nil, nil, exitUsage
		}
	}
	shell, unread := vet.CheckScripts(scripts)
	for _, err := range unread {
		fmt.Fprintf(stderr, "heisen vet: skipped shell script: %v\n", err)
	}
	if len(goPatterns) == 0 && len(unread) == len(scripts) {
		return nil, nil, exitUsage
	}
	findings, _ := vet.Without(append(rep.Findings, shell...), disable)
	vet.Sort(findings)
	return findings, rep, exitOK
}

// printFindings writes the findings as SARIF, as a JSON array, or one a
// line.
func printFindings(stdout io.Writer, findings []vet.Finding, wd string, asJSON, asSARIF bool) error {
	switch {
	case asSARIF:
		return sarif.Write(stdout, findings, wd)
	case asJSON:
		if findings == nil {
			findings = []vet.Finding{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(findings); err != nil {
			return fmt.Errorf("write findings: %w", err)
		}
	default:
		for _, f := range findings {
			fmt.Fprintln(stdout, f)
		}
	}
	return nil
}

// printSkipped lists the packages that were not vetted, each with its first
// errors indented below it, and the analyzer's failures.
func printSkipped(stderr io.Writer, rep *vet.Report) {
	for _, s := range rep.Skipped {
		what := "skipped package"
		if s.Dependency {
			what = "skipped imported package"
		}
		errs := s.Errors
		if len(errs) > 3 {
			errs = append(errs[:3:3], "and "+plural(len(s.Errors)-3, "more error"))
		}
		fmt.Fprintf(stderr, "heisen vet: %s %s:\n", what, s.Package)
		for _, e := range errs {
			fmt.Fprintf(stderr, "\t%s\n", strings.ReplaceAll(e, "\n", "\n\t"))
		}
	}
	for _, f := range rep.Failed {
		fmt.Fprintf(stderr, "heisen vet: %s\n", f.Message)
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(stderr, "heisen vet: vetted %s; skipped %d that do not load (listed above)\n", plural(len(rep.Analyzed), "package"), len(rep.Skipped))
	}
}
