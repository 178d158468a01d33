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

	// Concurrent states that several copies of the recorded program run at
	// once: an update (a read, then a replace or rewrite of the same file
	// by the same process tree) with no lock held across it is an
	// unlocked-update even when the trail shows no other process replacing
	// the file, since another copy would. Without it, a lone updater's
	// turns give no finding.
	Concurrent bool

	// Since and Until keep findings whose time window overlaps them (zero:
	// unbounded). The whole trail is still analysed, so windows that
	// straddle the bounds are judged on all their events.
	Since, Until time.Time

	// Paths keeps findings whose target (Finding.Path) is one of these
	// paths, lies under one, or matches one as a filepath.Match pattern.
	// Empty keeps all.
	Paths []string

	// OnFinding, when set, is handed each finding that passes the filters
	// as soon as it is final, in that order, and Report.Findings stays
	// empty: memory then holds the groups, not every finding.
	OnFinding func(*Finding)

	// Transient states that OnFinding keeps neither the *Finding it is
	// handed nor anything it points to after it returns. The analyzer
	// then reuses each finding that is not one of its group's Examples
	// (those stay intact), with its evidence storage, for the findings
	// that follow, so a trail with a finding every few events allocates
	// little per finding. Every finding is still built and handed over in
	// full: the output does not change.
	Transient bool

	// Brief states that OnFinding reads, of a finding that is not one of
	// its group's Examples, only what groups count: its Kind, Severity,
	// Path, Program, Group, Count, Start, End and PIDs. Such findings are
	// then handed over without their Message, Note and Evidence, whose
	// making is most of the work on a trail with a finding every few
	// events. Examples are made in full.
	Brief bool

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
	// Untraced counts, per system call ("io_uring_setup", "ia32"), the
	// processes whose recorder said it could not see part of their I/O:
	// findings about their files may be missing.
	Untraced map[string]int

	Findings   []*Finding // sorted by target and time; empty with Options.OnFinding
	Groups     []*Group   // every finding's group, errors first
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
	fs := a.Finish()
	return &Report{Findings: fs, Groups: a.Groups(), Stats: src.Stats(), Start: a.first, End: a.last, Untraced: a.untraced}, nil
}

// An Analyzer consumes merged events one at a time and keeps only what
// open windows and live files need: per-process descriptor tables, the
// files named in the trail with their writers since creation, names open
// for writing, renames awaiting a directory fsync, and pending
// read-modify-write reads of rename targets. Its memory grows with the
// number of files open at once and of live files named, not with the
// length of the trail.
type Analyzer struct {
	opts         Options
	procs        map[uint64]*process // by procKey.id
	lastProc     *process            // the process of the previous event, most often the next one's
	nfds         int                 // descriptors in all tables
	procCap      int                 // processes kept before a sweep
	rmwCap       int                 // targets followed before a sweep
	nodeCap      int                 // files known before a sweep
	nodeSweep    sweepScratch        // sweepNodes' scratch
	cands, torn  []*window           // checkTorn's scratch
	noteParts    []namePart          // clockNote's scratch
	msg, msgList []byte              // scratch of messages built in one buffer
	lastNote     string              // the last clockText
	lastRead     nameRead            // the last temp name predictTemp read, for clockNote
	byPath       map[string]*node
	byIno        map[devIno]*node
	names        map[string]*nameState
	spareName    *nameState                       // the last name freed, for the next name taken: names are taken and freed by the replace
	dirs         map[string]map[groupKey]*Finding // dir → unsynced-dir findings waiting for its fsync
	targets      map[string]bool                  // paths that have been rename destinations
	predict      predictState                     // what predictions keep between renames
	rmw          map[string]*rmwState
	grouped      map[groupKey]*Finding // warnings gathered until Finish
	accum        map[*Finding]struct{} // findings that still gather occurrences
	out          []*Finding            // findings emitted, without OnFinding
	spare        []*Finding            // findings handed over to reuse, with Options.Transient
	groups       map[groupID]*Group
	groupKeys    map[groupID]*Group // kind, program, path → its group
	recentGroups [2]recentGroup     // the last two of groupKeys used
	seq          uint64
	nextID       uint64
	added        uint64         // events added so far
	kept         keptMark       // the event being added, once kept as a fullMark
	hosts        map[string]int // host → small id, so descriptor keys hash no string
	// lifecycle is set once the trail shows a dup, setfd, fork, exec or
	// exit: its recorder follows descriptors, so a window lasts until its
	// last descriptor closes, and no descriptor is guessed.
	lifecycle bool
	sawWrites bool // the trail records writes: a window without one wrote nothing
	untraced  map[string]int
	lastHost  string
	lastID    int
	first     time.Time
	last      time.Time
}

// New returns an Analyzer; feed it with Add, then call Finish.
func New(opts Options) *Analyzer {
	return &Analyzer{
		opts:      opts,
		procs:     map[uint64]*process{},
		procCap:   minProcCap,
		rmwCap:    minRMWCap,
		nodeCap:   minNodeCap,
		byPath:    map[string]*node{},
		byIno:     map[devIno]*node{},
		names:     map[string]*nameState{},
		dirs:      map[string]map[groupKey]*Finding{},
		accum:     map[*Finding]struct{}{},
		groups:    map[groupID]*Group{},
		groupKeys: map[groupID]*Group{},
		targets:   map[string]bool{},
		rmw:       map[string]*rmwState{},
		grouped:   map[groupKey]*Finding{},
		hosts:     map[string]int{"": 0},
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
	a.added++
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
		a.sawWrites = true
		a.write(e)
	case trail.OpFsync, trail.OpFdatasync:
		a.sync(e)
	case trail.OpClose:
		a.closeEvent(e)
	case trail.OpDup, trail.OpSetFD, trail.OpFork, trail.OpExec, trail.OpExit:
		a.lifecycle = true
		a.descriptors(e)
	case trail.OpLock, trail.OpUnlock:
		a.lock(e)
	case trail.OpUntraced:
		if a.untraced == nil {
			a.untraced = map[string]int{}
		}
		a.untraced[cmp.Or(e.Sys, "unknown")]++
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
	ws := a.allWindows()
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
	a.procs, a.lastProc, a.nfds = map[uint64]*process{}, nil, 0
	paths := make([]string, 0, len(a.byPath))
	for p, n := range a.byPath {
		if n.inPlaceCount > 0 && n.path == p {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		n := a.byPath[p]
		f := a.group(InPlaceRewrite, p, n.inPlace[0].Comm)
		f.Count += n.inPlaceCount - 1
		for i := range n.inPlace {
			f.add(&n.inPlace[i])
		}
		f.Omitted += n.inPlaceCount - len(n.inPlace)
	}
	a.settlePredictions()
	var rest []*Finding
	for f := range a.accum {
		rest = append(rest, f)
	}
	for _, f := range a.grouped {
		rest = append(rest, f)
	}
	for _, pending := range a.dirs {
		for _, f := range pending {
			rest = append(rest, f) // emit skips one pending in two directories
		}
	}
	slices.SortFunc(rest, func(x, y *Finding) int { return cmp.Compare(x.seq, y.seq) })
	for _, f := range rest {
		a.emit(f)
	}
	a.accum, a.grouped, a.dirs = map[*Finding]struct{}{}, map[groupKey]*Finding{}, map[string]map[groupKey]*Finding{}
	out := a.out
	a.out = nil
	slices.SortStableFunc(out, func(x, y *Finding) int {
		return cmp.Or(strings.Compare(x.Path, y.Path), x.Start.Compare(y.Start),
			cmp.Compare(slices.Index(Kinds, x.Kind), slices.Index(Kinds, y.Kind)))
	})
	return out
}

// Groups returns the groups of the findings emitted so far (all of them
// after Finish), errors first.
func (a *Analyzer) Groups() []*Group { return a.sortedGroups() }

// emit hands over a finding that gathers nothing more: it gets its
// message, program and group, and goes to OnFinding or the report.
func (a *Analyzer) emit(f *Finding) {
	if f.done {
		return
	}
	f.done = true
	delete(a.accum, f)
	a.predict.sawRace(f)
	a.settle(f)
	groupMessage(f)
	if !a.keep(f) {
		return
	}
	example := a.addToGroup(f)
	if a.opts.OnFinding == nil {
		f.fillEvidence()
		a.out = append(a.out, f)
		return
	}
	if example || !a.opts.Brief {
		f.fillEvidence()
	}
	a.opts.OnFinding(f)
	if a.opts.Transient && !example {
		a.reuse(f)
	}
}

// settle puts f's evidence in order and names its program, which its
// group depends on.
func (a *Analyzer) settle(f *Finding) {
	f.sortEvidence()
	if f.Program == "" {
		f.Program = f.program()
	}
}

// detailed reports whether f, with its evidence all cited, is to get its
// message and note: with Options.Brief, not when the filters drop it or
// its group has all its examples already.
func (a *Analyzer) detailed(f *Finding) bool {
	if !a.opts.Brief || a.opts.OnFinding == nil {
		return true
	}
	a.settle(f)
	return a.keep(f) && len(a.groupFor(f).Examples) < MaxExamples
}

// maxSpare bounds the findings kept for reuse.
const maxSpare = 16

// reuse keeps f, handed over and no group example, for a next finding.
func (a *Analyzer) reuse(f *Finding) {
	if len(a.spare) < maxSpare {
		a.spare = append(a.spare, f)
	}
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
