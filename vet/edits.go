package vet

import (
	"go/token"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// An Edit of a suggested fix replaces the text of File from Line:Column up
// to EndLine:EndColumn (columns count bytes from 1) with NewText.
type Edit struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"endLine"`
	EndColumn int    `json:"endColumn"`
	NewText   string `json:"newText"`
}

func edits(fset *token.FileSet, tes []analysis.TextEdit) []Edit {
	var out []Edit
	for _, te := range tes {
		p, end := fset.Position(te.Pos), fset.Position(te.End)
		if !te.End.IsValid() {
			end = p
		}
		out = append(out, Edit{File: p.Filename, Line: p.Line, Column: p.Column, EndLine: end.Line, EndColumn: end.Column, NewText: string(te.NewText)})
	}
	return out
}

// RelativeTo rewrites the file names of findings and their edits that lie
// under dir relative to it.
func RelativeTo(findings []Finding, dir string) {
	rel := func(name string) string {
		if r, err := filepath.Rel(dir, name); err == nil && filepath.IsAbs(name) && !strings.HasPrefix(r, "..") {
			return r
		}
		return name
	}
	for i := range findings {
		f := &findings[i]
		f.File = rel(f.File)
		for j := range f.Fixes {
			for k := range f.Fixes[j].Edits {
				f.Fixes[j].Edits[k].File = rel(f.Fixes[j].Edits[k].File)
			}
		}
	}
}
