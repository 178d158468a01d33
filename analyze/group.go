package analyze

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// A Group gathers the findings of one cause: the same kind, the same
// program, and the same name pattern (the file name with its clock, pid,
// counter and random parts abstracted) in the same directory. Warnings
// about renames (unsynced-rename, unsynced-dir) group by program and
// directory alone: a program that never syncs does so for every file.
type Group struct {
	Kind     Kind
	Severity Severity
	Program  string // the comm of the process the finding is about; "" when the trail has none
	Name     string // directory and name pattern: "/data/out.#.tmp", "/data/*"
	Findings int    // findings in the group
	Count    int    // occurrences: the sum of the findings' counts
	PIDs     []int  // processes involved, ascending, the first maxPIDs of them
	Start    time.Time
	End      time.Time
	// Examples are the group's first findings, at most MaxExamples.
	Examples []*Finding

	id string
}

// MaxExamples bounds the findings a Group keeps as examples.
const MaxExamples = 3

// ID names the group in one line: "temp-collision bash /data/out.#.tmp".
func (g *Group) ID() string {
	if g.id == "" {
		g.id = string(g.Kind) + " " + g.Name
		if g.Program != "" {
			g.id = string(g.Kind) + " " + g.Program + " " + g.Name
		}
	}
	return g.id
}

type groupID struct {
	kind          Kind
	program, name string
}

// groupFor returns f's group, made when f is its first finding. Findings
// repeat their kinds, programs and paths: the group of the last two
// such keys is at hand without hashing, and of the last 1,024 in a map.
func (a *Analyzer) groupFor(f *Finding) *Group {
	ck := groupID{f.Kind, f.Program, f.Path}
	for i := range a.recentGroups {
		if r := &a.recentGroups[i]; r.g != nil && r.key == ck {
			return r.g
		}
	}
	g, ok := a.groupKeys[ck]
	if !ok {
		if len(a.groupKeys) >= 1024 {
			clear(a.groupKeys)
		}
		id := groupOf(f)
		if g = a.groups[id]; g == nil {
			g = &Group{Kind: f.Kind, Severity: f.Severity, Program: id.program, Name: id.name, Start: f.Start, End: f.End}
			a.groups[id] = g
		}
		a.groupKeys[ck] = g
	}
	a.recentGroups[1], a.recentGroups[0] = a.recentGroups[0], recentGroup{ck, g}
	return g
}

// A recentGroup is a group and a key of its findings.
type recentGroup struct {
	key groupID
	g   *Group
}

func groupOf(f *Finding) groupID {
	dir, base := dirOf(f.Path), f.Path[strings.LastIndexByte(f.Path, '/')+1:]
	pattern := NamePattern(base)
	if f.Kind == UnsyncedRename || f.Kind == UnsyncedDir {
		pattern = "*"
	}
	name := dir + "/" + pattern
	if dir == "/" {
		name = "/" + pattern
	}
	return groupID{f.Kind, f.Program, name}
}

// addToGroup counts f in its group, keeping it as an example while the
// group has fewer than MaxExamples; it reports whether f is one.
func (a *Analyzer) addToGroup(f *Finding) bool {
	g := a.groupFor(f)
	f.Group = g.ID()
	g.Findings++
	g.Count += f.Count
	if f.Start.Before(g.Start) {
		g.Start = f.Start
	}
	if f.End.After(g.End) {
		g.End = f.End
	}
	for _, pid := range f.PIDs {
		if i, ok := slices.BinarySearch(g.PIDs, pid); !ok && len(g.PIDs) < maxPIDs {
			g.PIDs = slices.Insert(g.PIDs, i, pid)
		}
	}
	if len(g.Examples) < MaxExamples {
		g.Examples = append(g.Examples, f)
		return true
	}
	return false
}

// sortedGroups returns the groups, errors first, then by kind, name and
// program.
func (a *Analyzer) sortedGroups() []*Group {
	gs := make([]*Group, 0, len(a.groups))
	for _, g := range a.groups {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(x, y *Group) int {
		return cmp.Or(cmp.Compare(y.Severity, x.Severity), cmp.Compare(slices.Index(Kinds, x.Kind), slices.Index(Kinds, y.Kind)),
			strings.Compare(x.Name, y.Name), strings.Compare(x.Program, y.Program))
	})
	return gs
}
