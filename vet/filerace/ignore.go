package filerace

import (
	"fmt"
	"go/token"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
)

const ignorePrefix = "//heisen:ignore"

// ignores holds the //heisen:ignore comments of a package, by file and line.
type ignores struct {
	byLine map[string]map[int][]string // filename → line → categories
}

// parseIgnores reads every //heisen:ignore comment. A comment must name
// known categories and give a reason after a colon:
//
//	//heisen:ignore predictable-temp: single writer, guarded by a lock file
//
// A comment without a reason or with an unknown category suppresses
// nothing and is reported itself.
func parseIgnores(pass *analysis.Pass) *ignores {
	ig := &ignores{byLine: map[string]map[int][]string{}}
	for _, f := range pass.Files {
		for _, cg := range f.Comments {
			for _, cm := range cg.List {
				rest, ok := strings.CutPrefix(cm.Text, ignorePrefix)
				if !ok || rest != "" && rest[0] != ' ' {
					continue
				}
				rest, _, _ = strings.Cut(rest, " //") // a trailing comment is not part of the reason
				cats, reason, _ := strings.Cut(rest, ":")
				var names []string
				bad := ""
				for _, c := range strings.Split(cats, ",") {
					c = strings.TrimSpace(c)
					if !slices.Contains(Categories, c) {
						bad = c
					}
					names = append(names, c)
				}
				switch {
				case bad != "" || len(names) == 0:
					pass.Report(analysis.Diagnostic{Pos: cm.Pos(), End: cm.End(), Category: BadIgnore,
						Message: fmt.Sprintf("heisen:ignore names unknown category %q; known: %s", bad, strings.Join(Categories, ", "))})
				case strings.TrimSpace(reason) == "":
					pass.Report(analysis.Diagnostic{Pos: cm.Pos(), End: cm.End(), Category: BadIgnore,
						Message: fmt.Sprintf("heisen:ignore needs a reason: %s %s: <why this is safe>", ignorePrefix, strings.Join(names, ","))})
				default:
					p := pass.Fset.Position(cm.Pos())
					if ig.byLine[p.Filename] == nil {
						ig.byLine[p.Filename] = map[int][]string{}
					}
					ig.byLine[p.Filename][p.Line] = append(ig.byLine[p.Filename][p.Line], names...)
				}
			}
		}
	}
	return ig
}

// covers reports whether an ignore comment on the diagnostic's line or the
// line above names its category.
func (ig *ignores) covers(p token.Position, category string) bool {
	lines := ig.byLine[p.Filename]
	return slices.Contains(lines[p.Line], category) || slices.Contains(lines[p.Line-1], category)
}

func (c *checker) report(d analysis.Diagnostic) {
	if !c.ignores.covers(c.pass.Fset.Position(d.Pos), d.Category) {
		c.pass.Report(d)
	}
}
