package analyze

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// Kind names what a finding is.
type Kind string

// The kinds of finding, in the order reports list them.
const (
	// TempCollision: two or more processes (or replaces of one process)
	// open one path for writing and their open→close/rename windows
	// overlap. The story's bug.
	TempCollision Kind = "temp-collision"
	// SharedInodeWrite: writes to one file from different processes whose
	// windows overlap, the file opened under different names.
	SharedInodeWrite Kind = "shared-inode-write"
	// TornRename: a rename whose source had two writers at once since it
	// was created (their windows overlapped), or is still being written by
	// another process. It explains a corrupt target. Writers one after the
	// other are not torn.
	TornRename Kind = "torn-rename"
	// WriteAfterRename: a write through a descriptor opened before its file
	// was renamed into place: readers see the target change.
	WriteAfterRename Kind = "write-after-rename"
	// LostUpdate: a process tree read a file, then replaced or rewrote it,
	// and another process replaced or wrote it between that read and that
	// replace: the other's change is overwritten.
	LostUpdate Kind = "lost-update"
	// UnsyncedRename: a rename over an existing target of a source with no
	// fsync or fdatasync after its last write.
	UnsyncedRename Kind = "unsynced-rename"
	// UnsyncedDir: a rename not followed by an fsync of its directory, in a
	// run that asked for durability.
	UnsyncedDir Kind = "unsynced-dir"
	// InPlaceRewrite: the final path itself opened with O_TRUNC and
	// rewritten.
	InPlaceRewrite Kind = "in-place-rewrite"
	// PredictableTemp: a temp file created without O_EXCL and renamed over
	// its target, whose name comes only from the clock, the pid, a
	// per-process counter or fixed words: writers computing it at once
	// share the file. A prediction from one writer; an error when two
	// writers of the trail used the same name at different times.
	PredictableTemp Kind = "predictable-temp"
	// UnlockedUpdate: a process reads a file, then replaces it with no
	// lock held, and other processes replace it too: an update of one can
	// fall between the read and the replace of another. A prediction.
	UnlockedUpdate Kind = "unlocked-update"
)

// Kinds lists every kind, races first.
var Kinds = []Kind{TempCollision, SharedInodeWrite, TornRename, WriteAfterRename, LostUpdate,
	UnsyncedRename, UnsyncedDir, InPlaceRewrite, PredictableTemp, UnlockedUpdate}

// Severity orders findings: races are errors, durability and visibility
// risks are warnings.
type Severity int

// Severities, lowest first.
const (
	Warning Severity = iota + 1
	Error
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// ParseSeverity parses "warning" or "error".
func ParseSeverity(s string) (Severity, bool) {
	switch s {
	case "warning":
		return Warning, true
	case "error":
		return Error, true
	}
	return 0, false
}

// Severity returns the severity of findings of kind k.
func (k Kind) Severity() Severity {
	switch k {
	case UnsyncedRename, UnsyncedDir, InPlaceRewrite, PredictableTemp, UnlockedUpdate:
		return Warning
	}
	return Error
}

// maxEvidence bounds the evidence lines kept per finding, so that a
// finding repeated over a long trail stays small; Omitted counts the rest.
const maxEvidence = 16

// A Finding is one race or risk, with the trail lines that prove it.
type Finding struct {
	Kind     Kind
	Severity Severity
	Path     string    // the target file (for a collision, the colliding name)
	PIDs     []int     // the processes involved, ascending
	Hosts    []string  // their hosts, when the trail names them
	Start    time.Time // the time window the evidence spans
	End      time.Time
	Message  string
	Note     string // optional, e.g. why a name looks clock-derived
	Count    int    // occurrences gathered into this finding (a warning gathers a program's in one directory)
	Program  string // the comm of the process it is about, when the trail names it
	Group    string // the ID of its Group
	// MorePIDs reports that more processes took part than PIDs lists
	// (its first 64): a warning gathered over a long run can involve
	// thousands.
	MorePIDs bool

	// Evidence holds the events that prove the finding, each with its
	// trail file:line in Pos and the fields Describe shows, in time
	// order; at most 16 of them, Omitted counting the others.
	Evidence []trail.Event
	Omitted  int

	cited  []cite // the evidence as cited; emit makes Evidence of it
	seq    uint64 // creation order
	done   bool   // emitted
	others bool   // a gathered warning holds targets other than Path
}

// maxPIDs bounds the pids a finding or group lists.
const maxPIDs = 64

func newFinding(k Kind, path string) *Finding {
	return &Finding{Kind: k, Severity: k.Severity(), Path: path, Count: 1}
}

// A cite is an evidence line of a finding until emit makes Evidence of
// it: a mark that does not change once made (a window's open and first
// write, the event that ended a window's name, a file's last rename), or
// a copy the finding owns. Citing a window's marks copies nothing.
type cite struct {
	m    *mark
	full *fullMark // m's fullMark, when it is one
}

func (c cite) value() trail.Event {
	if c.full != nil {
		return c.full.value()
	}
	return c.m.value()
}

// add records a copy of e as evidence, once per trail line.
func (f *Finding) add(e *trail.Event) {
	if e == nil || e.TS.IsZero() {
		return
	}
	if f.cite(e.TS, e.PID, e.Host, e.Pos) {
		m := fullMarkOf(e)
		f.cited = append(f.cited, cite{&m.mark, &m})
	}
}

// cite counts an evidence event by its time, process and line into the
// finding's window, pids and hosts, and reports whether it is still to be
// added to cited: not there yet, and room left (else Omitted counts it).
func (f *Finding) cite(ts time.Time, pid int, host string, pos trail.Pos) bool {
	if f.Start.IsZero() || ts.Before(f.Start) {
		f.Start = ts
	}
	if ts.After(f.End) {
		f.End = ts
	}
	f.addPID(pid)
	if host != "" && !slices.Contains(f.Hosts, host) {
		f.Hosts = append(f.Hosts, host)
		slices.Sort(f.Hosts)
	}
	for _, c := range f.cited {
		if p := &c.m.pos; p.Line == pos.Line && p.File == pos.File {
			return false
		}
	}
	if len(f.cited) >= maxEvidence {
		f.Omitted++
		return false
	}
	if f.cited == nil {
		f.expect(8) // most findings cite 2 to 8 lines: one allocation
	}
	return true
}

// expect makes room for n evidence lines (at most maxEvidence) before the
// first is added: a finding that knows how many it cites allocates no
// more.
func (f *Finding) expect(n int) {
	if f.cited == nil {
		f.cited = make([]cite, 0, min(max(n, 1), maxEvidence))
	}
}

// addMark records the event m was made from, keeping m itself: m must
// not change (a window's open or first write). A zero mark adds nothing.
func (f *Finding) addMark(m *mark) {
	if !m.ts.IsZero() && f.cite(m.ts, m.pid, m.host, m.pos) {
		f.cited = append(f.cited, cite{m: m})
	}
}

// addCopy records the event m was made from, keeping a copy of m, which
// may change. A zero mark adds nothing.
func (f *Finding) addCopy(m *mark) {
	if !m.ts.IsZero() && f.cite(m.ts, m.pid, m.host, m.pos) {
		c := *m
		f.cited = append(f.cited, cite{m: &c})
	}
}

// addEnd records the event m was made from, keeping m itself (fullMarks
// do not change); nil adds nothing.
func (f *Finding) addEnd(m *fullMark) {
	if m != nil && !m.ts.IsZero() && f.cite(m.ts, m.pid, m.host, m.pos) {
		f.cited = append(f.cited, cite{&m.mark, m})
	}
}

// fillEvidence makes Evidence of the evidence cited.
func (f *Finding) fillEvidence() {
	f.Evidence = f.Evidence[:0]
	if len(f.cited) > cap(f.Evidence) {
		f.Evidence = make([]trail.Event, 0, len(f.cited))
	}
	for _, c := range f.cited {
		f.Evidence = append(f.Evidence, c.value())
	}
}

func (f *Finding) addPID(pid int) {
	if i, ok := slices.BinarySearch(f.PIDs, pid); !ok {
		if len(f.PIDs) == maxPIDs {
			f.MorePIDs = true
			return
		}
		if f.PIDs == nil {
			f.PIDs = make([]int, 0, 4) // most findings involve 1 to 4 processes: one allocation
		}
		f.PIDs = slices.Insert(f.PIDs, i, pid)
	}
}

// program returns the comm of the first evidence event that names one.
func (f *Finding) program() string {
	for _, c := range f.cited {
		if c.m.comm != "" {
			return c.m.comm
		}
	}
	return ""
}

// sortEvidence puts the evidence cited in time order, then trail order.
func (f *Finding) sortEvidence() {
	ev := f.cited
	for i := 1; i < len(ev); i++ { // insertion sort: stable, and at most maxEvidence lines, most often in order
		for j := i; j > 0 && evidenceOrder(ev[j-1].m, ev[j].m) > 0; j-- {
			ev[j-1], ev[j] = ev[j], ev[j-1]
		}
	}
}

func evidenceOrder(a, b *mark) int {
	if c := a.ts.Compare(b.ts); c != 0 {
		return c
	}
	if c := strings.Compare(a.pos.File, b.pos.File); c != 0 {
		return c
	}
	return a.pos.Line - b.pos.Line
}

// Describe renders an evidence event in one short line for reports:
// "pid 4242 open /data/out.tmp fd 3 O_WRONLY|O_CREAT|O_TRUNC" ("pid 7@host"
// when the event names its host).
func Describe(e *trail.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d", e.PID)
	if e.Host != "" {
		b.WriteString("@" + e.Host)
	}
	b.WriteString(" " + e.Op.String())
	if e.Path != "" {
		b.WriteString(" " + e.Path)
	}
	if e.To != "" {
		b.WriteString(" -> " + e.To)
	}
	if e.Op == trail.OpDup {
		fmt.Fprintf(&b, " fd %d to", e.OldFD)
	}
	if e.FD >= 0 {
		fmt.Fprintf(&b, " fd %d", e.FD)
	}
	switch e.Op {
	case trail.OpFork:
		fmt.Fprintf(&b, " child %d", e.Child)
	case trail.OpLock:
		b.WriteString(" " + strings.TrimSpace(e.Lock+" "+e.Mode))
	}
	if e.Sys != "" {
		b.WriteString(" (" + e.Sys + ")")
	}
	if e.Op == trail.OpOpen {
		b.WriteString(" " + e.Flags.String())
	}
	if e.Off >= 0 && (e.Op == trail.OpWrite || e.Op == trail.OpRead) {
		fmt.Fprintf(&b, " off %d len %d", e.Off, e.Len)
	}
	if e.Err != "" {
		b.WriteString(" " + e.Err)
	}
	if e.Call != "" {
		b.WriteString(" call " + e.Call)
	}
	return b.String()
}
