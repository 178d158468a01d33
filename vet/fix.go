package vet

import (
	"bytes"
	"cmp"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"slices"
)

// A FixPlan is what applying the findings' suggested fixes would do: the
// new content of each file a fix changes, and for every finding whether its
// fix is in that content, has none, or was refused and why.
type FixPlan struct {
	Files     map[string][]byte // the new content of each changed file
	Applied   []Fixed           // findings whose first fix is in Files
	Unfixable []Finding         // findings with no automatic fix
	Refused   []Refused         // findings whose fix was not applied
	edited    map[string]*edited
}

// edited is how a file changes: where its lines start before and after,
// and the edits between.
type edited struct {
	before, after []int
	spans         []span
}

// Fixed is a finding whose fix a FixPlan applies.
type Fixed struct {
	Finding Finding
	Fix     Fix
}

// Refused is a finding whose fix is not applied, and why.
type Refused struct {
	Finding Finding
	Reason  string
}

// PlanFixes applies the first suggested fix of each finding to the content
// of the files the fixes name, read from disk, without writing anything.
// A fix applies whole or not at all: it is refused when one of its edits
// overlaps a different edit of a fix already taken, when its file is
// generated ("Code generated … DO NOT EDIT."), cannot be read, or would
// not parse after the fixes. Edits identical to one already taken (two
// findings adding the same import) are applied once. A file that gofmt
// leaves as it is stays gofmt-clean after the fixes.
func PlanFixes(findings []Finding) *FixPlan {
	plan := &FixPlan{Files: map[string][]byte{}, edited: map[string]*edited{}}
	byFile := map[string][]int{} // file → indexes into findings whose fix edits it
	for i, f := range findings {
		if len(f.Fixes) == 0 || len(f.Fixes[0].Edits) == 0 {
			plan.Unfixable = append(plan.Unfixable, f)
			continue
		}
		file := f.Fixes[0].Edits[0].File
		for _, e := range f.Fixes[0].Edits {
			if e.File != file {
				plan.Refused = append(plan.Refused, Refused{f, "its edits span more than one file"})
				file = ""
				break
			}
		}
		if file != "" {
			byFile[file] = append(byFile[file], i)
		}
	}
	for _, file := range slices.Sorted(maps.Keys(byFile)) {
		plan.planFile(file, findings, byFile[file])
	}
	return plan
}

// Where returns the line and column of f in its file after the plan's
// fixes (a Finding's own Line and Column are in the file before them).
func (p *FixPlan) Where(f Finding) (line, col int) {
	e := p.edited[f.File]
	if e == nil {
		return f.Line, f.Column
	}
	off := offset(e.before, f.Line, f.Column)
	if off < 0 {
		return f.Line, f.Column
	}
	moved := off
	for _, s := range e.spans {
		if s.end <= off {
			moved += len(s.text) - (s.end - s.start)
		}
	}
	return position(e.after, moved)
}

// span is an edit as byte offsets into the file before the fixes.
type span struct {
	start, end int
	text       string
}

// planFile applies the fixes of the findings at idx, all of which edit file.
func (p *FixPlan) planFile(file string, findings []Finding, idx []int) {
	refuseAll := func(reason string) {
		for _, i := range idx {
			p.Refused = append(p.Refused, Refused{findings[i], reason})
		}
	}
	src, err := os.ReadFile(file)
	if err != nil {
		refuseAll(fmt.Sprintf("read %s: %v", file, err))
		return
	}
	if f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.PackageClauseOnly|parser.ParseComments); err == nil && ast.IsGenerated(f) {
		refuseAll(file + " is generated")
		return
	}
	lines := lineStarts(src)
	var taken []span
	var took []int
	for _, i := range idx {
		spans, err := toSpans(findings[i].Fixes[0].Edits, lines, len(src))
		if err != nil {
			p.Refused = append(p.Refused, Refused{findings[i], err.Error()})
			continue
		}
		if s, ok := overlap(spans, taken); ok {
			p.Refused = append(p.Refused, Refused{findings[i], fmt.Sprintf("it overlaps the fix of another finding at byte %d", s.start)})
			continue
		}
		for _, s := range spans {
			if !slices.Contains(taken, s) {
				taken = append(taken, s)
			}
		}
		took = append(took, i)
	}
	if len(took) == 0 {
		return
	}
	out := apply(src, taken)
	if _, err := parser.ParseFile(token.NewFileSet(), file, out, parser.SkipObjectResolution); err != nil {
		for _, i := range took {
			p.Refused = append(p.Refused, Refused{findings[i], fmt.Sprintf("%s would not parse after the fixes: %v", file, err)})
		}
		return
	}
	// Positions after the fixes are counted before gofmt, which moves
	// columns (aligning, sorting imports) but rarely lines.
	p.edited[file] = &edited{before: lines, after: lineStarts(out), spans: taken}
	if formatted, err := format.Source(src); err == nil && bytes.Equal(formatted, src) {
		if f, err := format.Source(out); err == nil {
			out = f
		}
	}
	p.Files[file] = out
	for _, i := range took {
		p.Applied = append(p.Applied, Fixed{Finding: findings[i], Fix: findings[i].Fixes[0]})
	}
}

// lineStarts returns the offset at which each line of src starts.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, b := range src {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset returns the byte offset of line:col (both from 1), or -1 when the
// line is not in the file.
func offset(lines []int, line, col int) int {
	if line < 1 || line > len(lines) || col < 1 {
		return -1
	}
	return lines[line-1] + col - 1
}

// position is the inverse of offset.
func position(lines []int, off int) (line, col int) {
	i, found := slices.BinarySearch(lines, off)
	if !found {
		i--
	}
	return i + 1, off - lines[i] + 1
}

func toSpans(edits []Edit, lines []int, size int) ([]span, error) {
	var out []span
	for _, e := range edits {
		s := span{offset(lines, e.Line, e.Column), offset(lines, e.EndLine, e.EndColumn), e.NewText}
		if s.start < 0 || s.end < s.start || s.end > size {
			return nil, fmt.Errorf("its edit at %d:%d lies outside %s as it is on disk", e.Line, e.Column, e.File)
		}
		out = append(out, s)
	}
	return out, nil
}

// overlap returns an edit of spans that collides with a different edit of
// taken: their ranges intersect, or both insert at one offset.
func overlap(spans, taken []span) (span, bool) {
	for _, s := range spans {
		for _, t := range taken {
			if s == t {
				continue
			}
			if s.start < t.end && t.start < s.end || s.start == t.start {
				return s, true
			}
		}
	}
	return span{}, false
}

// apply replaces each span of src, which do not overlap, with its text.
func apply(src []byte, spans []span) []byte {
	spans = slices.Clone(spans)
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var out []byte
	at := 0
	for _, s := range spans {
		out = append(out, src[at:s.start]...)
		out = append(out, s.text...)
		at = s.end
	}
	return append(out, src[at:]...)
}
