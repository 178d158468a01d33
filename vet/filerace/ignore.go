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

// parseIgnores reads every //heisen:ignore comment of the package. A
// comment that parseIgnore rejects suppresses nothing and is reported.
func parseIgnores(pass *analysis.Pass) *ignores {
	ig := &ignores{byLine: map[string]map[int][]string{}}
	for _, f := range pass.Files {
		for _, cg := range f.Comments {
			for _, cm := range cg.List {
				cats, _, ok, err := parseIgnore(cm.Text)
				switch {
				case !ok:
				case err != nil:
					pass.Report(analysis.Diagnostic{Pos: cm.Pos(), End: cm.End(), Category: BadIgnore, Message: err.Error()})
				default:
					p := pass.Fset.Position(cm.Pos())
					if ig.byLine[p.Filename] == nil {
						ig.byLine[p.Filename] = map[int][]string{}
					}
					ig.byLine[p.Filename][p.Line] = append(ig.byLine[p.Filename][p.Line], cats...)
				}
			}
		}
	}
	return ig
}

// parseIgnore parses one comment. ok reports whether it is a heisen:ignore
// comment at all; err says what is wrong with one. A valid comment names
// known categories, separated by commas, and gives a reason after a colon:
//
//	//heisen:ignore predictable-temp: single writer, guarded by a lock file
//
// A trailing "//" comment is not part of the reason.
func parseIgnore(text string) (cats []string, reason string, ok bool, err error) {
	rest, ok := strings.CutPrefix(text, ignorePrefix)
	if !ok || rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return nil, "", false, nil
	}
	rest, _, _ = strings.Cut(rest, " //")
	list, reason, _ := strings.Cut(rest, ":")
	reason = strings.TrimSpace(reason)
	for _, c := range strings.Split(list, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(Kinds, c) {
			if c == "" {
				return nil, "", true, fmt.Errorf("heisen:ignore names no kind: %s <kind>: <why this is safe>; kinds: %s", ignorePrefix, strings.Join(Kinds, ", "))
			}
			return nil, "", true, fmt.Errorf("heisen:ignore names unknown kind %q; known: %s", c, strings.Join(Kinds, ", "))
		}
		cats = append(cats, c)
	}
	if reason == "" {
		return nil, "", true, fmt.Errorf("heisen:ignore needs a reason: %s %s: <why this is safe>", ignorePrefix, strings.Join(cats, ","))
	}
	return cats, reason, true, nil
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
