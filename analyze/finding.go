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
	// LostUpdate: two read-modify-write windows on one target overlap and
	// both replace it.
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
)

// Kinds lists every kind, races first.
var Kinds = []Kind{TempCollision, SharedInodeWrite, TornRename, WriteAfterRename, LostUpdate,
	UnsyncedRename, UnsyncedDir, InPlaceRewrite}

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
	case UnsyncedRename, UnsyncedDir, InPlaceRewrite:
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
	Count    int    // occurrences grouped into this finding (warnings group per target)

	// Evidence holds the events that prove the finding, each with its
	// trail file:line in Pos, in time order; at most 16 of them, Omitted
	// counting the others.
	Evidence []trail.Event
	Omitted  int
}

func newFinding(k Kind, path string) *Finding {
	return &Finding{Kind: k, Severity: k.Severity(), Path: path, Count: 1}
}

// add records e as evidence, once per trail line.
func (f *Finding) add(e *trail.Event) {
	if e == nil || e.TS.IsZero() {
		return
	}
	if f.Start.IsZero() || e.TS.Before(f.Start) {
		f.Start = e.TS
	}
	if e.TS.After(f.End) {
		f.End = e.TS
	}
	f.addPID(e.PID)
	if e.Host != "" && !slices.Contains(f.Hosts, e.Host) {
		f.Hosts = append(f.Hosts, e.Host)
		slices.Sort(f.Hosts)
	}
	for i := range f.Evidence {
		if f.Evidence[i].Pos == e.Pos {
			return
		}
	}
	if len(f.Evidence) >= maxEvidence {
		f.Omitted++
		return
	}
	f.Evidence = append(f.Evidence, *e)
}

func (f *Finding) addPID(pid int) {
	if i, ok := slices.BinarySearch(f.PIDs, pid); !ok {
		f.PIDs = slices.Insert(f.PIDs, i, pid)
	}
}

// sortEvidence puts evidence in time order, then trail order.
func (f *Finding) sortEvidence() {
	slices.SortStableFunc(f.Evidence, func(a, b trail.Event) int {
		if c := a.TS.Compare(b.TS); c != 0 {
			return c
		}
		if c := strings.Compare(a.Pos.File, b.Pos.File); c != 0 {
			return c
		}
		return a.Pos.Line - b.Pos.Line
	})
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
	if e.FD >= 0 {
		fmt.Fprintf(&b, " fd %d", e.FD)
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
