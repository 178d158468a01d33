// Package sarif writes the findings of heisen vet as a SARIF 2.1.0 log
// (the OASIS Static Analysis Results Interchange Format), the format code
// scanning services (GitHub, GitLab, Azure DevOps) and editors read: one
// run, a rule for each category with its description and help, and a
// result for each finding with its file, line and column and, for the
// mechanical fixes of the Go analyzer, the fix as text replacements.
package sarif

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/heisen-dev/heisen/vet"
)

// Version and Schema identify the format written.
const (
	Version = "2.1.0"
	Schema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

// srcRoot is the base that relative file names in the log are relative to.
const srcRoot = "%SRCROOT%"

// Write writes findings as a SARIF log to w. Relative file names in
// findings are relative to root, an absolute directory. Columns, which
// findings count in bytes, are converted to the UTF-16 code units SARIF
// counts in by reading the line from the file; a file that cannot be read
// keeps the byte column.
func Write(w io.Writer, findings []vet.Finding, root string) error {
	lines := lineCache{root: root}
	r := run{
		Tool: tool{Driver: driver{
			Name:           "heisen",
			InformationURI: "https://github.com/heisen-dev/heisen",
			Rules:          rules,
		}},
		OriginalURIBaseIDs: map[string]artifactLocation{srcRoot: {URI: dirURI(root)}},
		Results:            []result{},
		ColumnKind:         "utf16CodeUnits",
	}
	for _, f := range findings {
		r.Results = append(r.Results, lines.result(f))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(log{Schema: Schema, Version: Version, Runs: []run{r}}); err != nil {
		return fmt.Errorf("write SARIF log: %w", err)
	}
	return nil
}

func (lc *lineCache) result(f vet.Finding) result {
	r := result{
		RuleID:    f.Kind,
		RuleIndex: ruleIndex(f.Kind),
		Level:     level(f.Severity),
		Message:   message{Text: f.Message},
		Locations: []location{{PhysicalLocation: physicalLocation{
			ArtifactLocation: lc.artifact(f.File),
			Region:           region{StartLine: f.Line, StartColumn: lc.column(f.File, f.Line, f.Column)},
		}}},
	}
	for _, fix := range f.Fixes {
		if len(fix.Edits) == 0 {
			continue // described only: SARIF's fix needs the replacements
		}
		r.Fixes = append(r.Fixes, lc.fix(fix))
	}
	return r
}

// fix turns the edits of fix into SARIF artifact changes, one per file.
func (lc *lineCache) fix(fix vet.Fix) sarifFix {
	sf := sarifFix{Description: message{Text: fix.Message}}
	byFile := map[string]int{}
	for _, e := range fix.Edits {
		i, ok := byFile[e.File]
		if !ok {
			i = len(sf.ArtifactChanges)
			byFile[e.File] = i
			sf.ArtifactChanges = append(sf.ArtifactChanges, artifactChange{ArtifactLocation: lc.artifact(e.File)})
		}
		sf.ArtifactChanges[i].Replacements = append(sf.ArtifactChanges[i].Replacements, replacement{
			DeletedRegion: region{
				StartLine: e.Line, StartColumn: lc.column(e.File, e.Line, e.Column),
				EndLine: e.EndLine, EndColumn: lc.column(e.File, e.EndLine, e.EndColumn),
			},
			InsertedContent: &artifactContent{Text: e.NewText},
		})
	}
	return sf
}

func level(severity string) string {
	if severity == "warning" {
		return "warning"
	}
	return "error"
}

func ruleIndex(category string) int {
	for i, r := range rules {
		if r.ID == category {
			return i
		}
	}
	return -1
}

// artifact names a file: relative names against %SRCROOT%, absolute ones
// as file URIs.
func (lc *lineCache) artifact(name string) artifactLocation {
	if filepath.IsAbs(name) {
		return artifactLocation{URI: (&url.URL{Scheme: "file", Path: filepath.ToSlash(name)}).String()}
	}
	return artifactLocation{URI: (&url.URL{Path: filepath.ToSlash(name)}).String(), URIBaseID: srcRoot}
}

func dirURI(dir string) string {
	p := filepath.ToSlash(dir)
	if p == "" || p[len(p)-1] != '/' {
		p += "/"
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// lineCache reads the lines of the files findings point into, to convert
// byte columns to UTF-16 ones.
type lineCache struct {
	root  string
	files map[string][]string
}

func (lc *lineCache) column(name string, line, col int) int {
	if lc.files == nil {
		lc.files = map[string][]string{}
	}
	lines, ok := lc.files[name]
	if !ok {
		lines = readLines(name, lc.root)
		lc.files[name] = lines
	}
	if line < 1 || line > len(lines) || col < 1 {
		return col
	}
	text := lines[line-1]
	if col-1 > len(text) {
		return col
	}
	units := 0
	for _, r := range text[:col-1] {
		if r == utf8.RuneError {
			units++
			continue
		}
		units += utf16.RuneLen(r)
	}
	return units + 1
}

func readLines(name, root string) []string {
	if !filepath.IsAbs(name) {
		name = filepath.Join(root, name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}
