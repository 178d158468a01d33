package analyze

import (
	"cmp"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// Options tune an analysis.
type Options struct {
	// Durability expects every rename to be followed by an fsync of its
	// directory. Without it, only renames whose source was fsynced after
	// its last write (the writer asked for durability) expect one.
	Durability bool

	// Since and Until keep findings whose time window overlaps them (zero:
	// unbounded). The whole trail is still analysed, so windows that
	// straddle the bounds are judged on all their events.
	Since, Until time.Time

	// Paths keeps findings whose target (Finding.Path) is one of these
	// paths, lies under one, or matches one as a filepath.Match pattern.
	// Empty keeps all.
	Paths []string

	// OnWindow, when set, is called for every open→close window when it
	// ends (at the end of the trail for windows never closed); the timeline
	// is drawn from it.
	OnWindow func(*Window)
}

// A Window is the life of one open file description: from open to close
// (or, for events without a descriptor, to the rename or unlink of its
// name).
type Window struct {
	ID         uint64
	PID, TID   int
	Path       string
	Flags      trail.OpenFlags
	Start, End time.Time
}

// A Source yields events in time order: a *trail.Reader or *trail.Merger.
type Source interface {
	Read(*trail.Event) error
	Stats() trail.Stats
}

// A Report is the result of Run.
type Report struct {
	Findings   []*Finding
	Stats      trail.Stats
	Start, End time.Time // of the events analysed
}

// Run analyses every event of src and returns the findings, sorted by
// target and time. It stops at the first read error.
func Run(src Source, opts Options) (*Report, error) {
	a := New(opts)
	var e trail.Event
	for {
		err := src.Read(&e)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		a.Add(&e)
	}
	return &Report{Findings: a.Finish(), Stats: src.Stats(), Start: a.first, End: a.last}, nil
}

// An Analyzer consumes merged events one at a time and keeps only what
// open windows and live files need: per-process descriptor tables, the
// files named in the trail with their writers since creation, names open
// for writing, renames awaiting a directory fsync, and pending
// read-modify-write reads of rename targets. Its memory grows with the
// number of files open at once and of live files named, not with the
// length of the trail.
type Analyzer struct {
	opts     Options
	fds      map[pidfd]*window
	byPath   map[string]*node
	byIno    map[devIno]*node
	names    map[string]*nameState
	dirs     map[string]map[string]*Finding // dir → target → unsynced-dir finding
	targets  map[string]bool                // paths that have been rename destinations
	rmw      map[string]*rmwState
	grouped  map[groupKey]*Finding // warnings, one per kind and target
	findings []*Finding
	nextID   uint64
	hosts    map[string]int // host → small id, so descriptor keys hash no string
	lastHost string
	lastID   int
	first    time.Time
	last     time.Time
}

// New returns an Analyzer; feed it with Add, then call Finish.
func New(opts Options) *Analyzer {
	return &Analyzer{
		opts:    opts,
		fds:     map[pidfd]*window{},
		byPath:  map[string]*node{},
		byIno:   map[devIno]*node{},
		names:   map[string]*nameState{},
		dirs:    map[string]map[string]*Finding{},
		targets: map[string]bool{},
		rmw:     map[string]*rmwState{},
		grouped: map[groupKey]*Finding{},
		hosts:   map[string]int{"": 0},
	}
}

// hostID numbers hosts; nearly every event repeats the previous event's
// host, so the map is rarely consulted.
func (a *Analyzer) hostID(h string) int {
	if h == a.lastHost {
		return a.lastID
	}
	id, ok := a.hosts[h]
	if !ok {
		id = len(a.hosts)
		a.hosts[h] = id
	}
	a.lastHost, a.lastID = h, id
	return id
}

// Add feeds the next event. Events must come in merged order; Add keeps
// no reference to e.
func (a *Analyzer) Add(e *trail.Event) {
	if e.TS.After(a.last) {
		a.last = e.TS
	}
	if a.first.IsZero() || e.TS.Before(a.first) {
		a.first = e.TS
	}
	if e.Err != "" || e.Ret < 0 {
		return // a failed call changed nothing
	}
	switch e.Op {
	case trail.OpOpen:
		a.open(e)
	case trail.OpWrite, trail.OpTruncate:
		a.write(e)
	case trail.OpFsync, trail.OpFdatasync:
		a.sync(e)
	case trail.OpClose:
		if w := a.fds[pidfd{a.hostID(e.Host), e.PID, e.FD}]; w != nil && e.FD >= 0 {
			a.endFD(w, e)
		}
	case trail.OpRename:
		a.rename(e)
	case trail.OpLink:
		a.link(e)
	case trail.OpUnlink:
		a.unlink(e)
	}
}

// Finish ends every window still open, reports renames still waiting for
// a directory fsync, and returns the findings that pass the filters,
// sorted by target, then time.
func (a *Analyzer) Finish() []*Finding {
	ws := make([]*window, 0, len(a.fds))
	for _, w := range a.fds {
		ws = append(ws, w)
	}
	for _, ns := range a.names {
		for _, w := range ns.active {
			if w.fd < 0 {
				ws = append(ws, w)
			}
		}
	}
	slices.SortFunc(ws, func(x, y *window) int { return cmp.Compare(x.id, y.id) })
	for _, w := range ws {
		a.endFD(w, nil)
	}
	paths := make([]string, 0, len(a.byPath))
	for p, n := range a.byPath {
		if n.inPlaceCount > 0 && n.path == p {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		n := a.byPath[p]
		f := a.group(InPlaceRewrite, p)
		f.Count += n.inPlaceCount - 1
		for i := range n.inPlace {
			f.add(&n.inPlace[i])
		}
		f.Omitted += n.inPlaceCount - len(n.inPlace)
	}
	for _, pending := range a.dirs {
		for _, f := range pending {
			if !slices.Contains(a.findings, f) {
				a.findings = append(a.findings, f)
			}
		}
	}
	a.dirs = map[string]map[string]*Finding{}
	out := a.findings[:0:0]
	for _, f := range a.findings {
		f.sortEvidence()
		groupMessage(f)
		if a.keep(f) {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(x, y *Finding) int {
		return cmp.Or(strings.Compare(x.Path, y.Path), x.Start.Compare(y.Start),
			cmp.Compare(slices.Index(Kinds, x.Kind), slices.Index(Kinds, y.Kind)))
	})
	return out
}

func (a *Analyzer) keep(f *Finding) bool {
	if !a.opts.Since.IsZero() && f.End.Before(a.opts.Since) {
		return false
	}
	if !a.opts.Until.IsZero() && f.Start.After(a.opts.Until) {
		return false
	}
	if len(a.opts.Paths) == 0 {
		return true
	}
	for _, p := range a.opts.Paths {
		if pathMatches(p, f.Path) {
			return true
		}
	}
	return false
}

// dirOf returns the directory of a trail path, which the format says is
// absolute and cleaned, without filepath.Dir's allocation.
func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return p[:i]
}

func pathMatches(pattern, path string) bool {
	if path == "" {
		return false
	}
	pattern = filepath.Clean(pattern)
	if path == pattern || strings.HasPrefix(path, strings.TrimSuffix(pattern, "/")+"/") {
		return true
	}
	ok, _ := filepath.Match(pattern, path)
	return ok
}
