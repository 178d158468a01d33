package shellrace

import (
	"fmt"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

const ignorePrefix = "heisen:ignore"

// ignores holds a script's heisen:ignore comments by line, and the
// malformed ones.
type ignores struct {
	byLine map[int][]string
	bad    []badIgnore
}

type badIgnore struct {
	pos syntax.Pos
	msg string
}

func parseIgnores(f *syntax.File) *ignores {
	ig := &ignores{byLine: map[int][]string{}}
	syntax.Walk(f, func(n syntax.Node) bool {
		cm, ok := n.(*syntax.Comment)
		if !ok {
			return true
		}
		cats, ok, err := parseIgnore(cm.Text)
		switch {
		case !ok:
		case err != nil:
			ig.bad = append(ig.bad, badIgnore{cm.Pos(), err.Error()})
		default:
			line := int(cm.Pos().Line())
			ig.byLine[line] = append(ig.byLine[line], cats...)
		}
		return true
	})
	return ig
}

// parseIgnore parses the text of one comment, after its '#'. ok reports
// whether it is a heisen:ignore comment at all; err says what is wrong with
// one. A valid comment names known categories, separated by commas, and
// gives a reason after a colon:
//
//	# heisen:ignore predictable-temp: run by cron alone, under flock
func parseIgnore(text string) (cats []string, ok bool, err error) {
	rest, ok := strings.CutPrefix(strings.TrimLeft(text, " \t"), ignorePrefix)
	if !ok || rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return nil, false, nil
	}
	rest, _, _ = strings.Cut(rest, " #") // a trailing comment is not part of the reason
	list, reason, _ := strings.Cut(rest, ":")
	for _, c := range strings.Split(list, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(Kinds, c) {
			if c == "" {
				return nil, true, fmt.Errorf("heisen:ignore names no kind: # %s <kind>: <why this is safe>; kinds: %s", ignorePrefix, strings.Join(Kinds, ", "))
			}
			return nil, true, fmt.Errorf("heisen:ignore names unknown kind %q; known in shell scripts: %s", c, strings.Join(Kinds, ", "))
		}
		cats = append(cats, c)
	}
	if strings.TrimSpace(reason) == "" {
		return nil, true, fmt.Errorf("heisen:ignore needs a reason: # %s %s: <why this is safe>", ignorePrefix, strings.Join(cats, ","))
	}
	return cats, true, nil
}

// covers reports whether an ignore comment on the line or the line above
// names category.
func (ig *ignores) covers(line int, category string) bool {
	return slices.Contains(ig.byLine[line], category) || slices.Contains(ig.byLine[line-1], category)
}
