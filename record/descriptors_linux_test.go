//go:build linux && (amd64 || arm64)

package record

import (
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heisen-dev/heisen/internal/testcap"
	"github.com/heisen-dev/heisen/trail"
)

// fdState is what a process's descriptor holds, as the trail tells it.
type fdState struct {
	path    string // "" when the trail does not know the file (a pipe)
	cloexec bool
}

// fdTables replays the descriptor events of a trail: each process's table
// from its fork (or empty, for a process the trail did not see start), its
// opens, dups, closes, close-on-exec changes, execs and exit.
type fdTables struct {
	t      *testing.T
	tables map[int]map[int]fdState
	exited map[int]bool
}

func replayFDs(t *testing.T, evs []trail.Event) *fdTables {
	t.Helper()
	r := &fdTables{t: t, tables: map[int]map[int]fdState{}, exited: map[int]bool{}}
	for i := range evs {
		r.add(&evs[i])
	}
	return r
}

func (r *fdTables) table(pid int) map[int]fdState {
	tab := r.tables[pid]
	if tab == nil {
		tab = map[int]fdState{}
		r.tables[pid] = tab
	}
	return tab
}

func (r *fdTables) add(e *trail.Event) {
	r.t.Helper()
	tab := r.table(e.PID)
	switch e.Op {
	case trail.OpOpen:
		if e.Err == "" {
			tab[e.FD] = fdState{e.Path, e.Flags&trail.O_CLOEXEC != 0}
		}
	case trail.OpDup:
		tab[e.FD] = fdState{tab[e.OldFD].path, e.CloExec}
	case trail.OpClose:
		for fd := range tab {
			if fd == e.FD || e.MaxFD > e.FD && fd >= e.FD && fd <= e.MaxFD {
				delete(tab, fd)
			}
		}
	case trail.OpSetFD:
		for fd, st := range tab {
			if fd == e.FD || e.MaxFD > e.FD && fd >= e.FD && fd <= e.MaxFD {
				st.cloexec = e.CloExec
				tab[fd] = st
			}
		}
	case trail.OpFork:
		if e.Mode == "shared" {
			r.tables[e.Child] = tab
		} else {
			r.tables[e.Child] = maps.Clone(tab)
		}
	case trail.OpExec:
		maps.DeleteFunc(tab, func(_ int, st fdState) bool { return st.cloexec })
	case trail.OpExit:
		r.exited[e.PID] = true
		delete(r.tables, e.PID)
	case trail.OpWrite, trail.OpRead, trail.OpFsync, trail.OpFdatasync, trail.OpTruncate:
		if e.FD >= 0 && tab[e.FD].path != e.Path {
			r.t.Errorf("%s on fd %d of pid %d is to %s; the trail's descriptors say %q:\n%s",
				e.Op, e.FD, e.PID, e.Path, tab[e.FD].path, dump([]trail.Event{*e}))
		}
	}
}

// open lists the descriptors still open on files under dir.
func (r *fdTables) open(dir string) []string {
	var out []string
	for pid, tab := range r.tables {
		for fd, st := range tab {
			if underAny(st.path, []string{dir}) {
				out = append(out, fmt.Sprintf("pid %d fd %d %s", pid, fd, st.path))
			}
		}
	}
	return out
}

// shellRedirections is the shell loop behind analyze's false errors when
// descriptors were not recorded: a redirection is an open, a dup2 onto 1,
// a close, a write to 1 and a dup2 that puts 1 back. A child process also
// writes through a descriptor it inherited and never opened.
const shellRedirections = `cd "$1"
exec 3> inherited
python3 -I -c 'import os; os.write(3, b"child\n")'
echo parent >&3
exec 3>&-
for i in $(seq 200); do echo $i > f; done
`

// Every write of the shells' loops must be to the file the trail's own
// descriptor events say the descriptor holds, and when every process has
// exited no descriptor may be left open.
func TestShellDescriptors(t *testing.T) {
	requirePython(t)
	forBackends(t, testShellDescriptors)
}

func testShellDescriptors(t *testing.T, b backend) {
	for _, shell := range []string{"bash", "dash"} {
		t.Run(shell, func(t *testing.T) {
			path, err := exec.LookPath(shell)
			if err != nil {
				testcap.Missing(t, shell+" (Debian package of that name)", err)
			}
			dir := realTemp(t)
			cmd := exec.Command(path, "-c", shellRedirections, shell, dir)
			evs, st, code := recordWith(t, b, Config{Paths: []string{dir}}, cmd)
			if code != 0 || st.Lost != 0 {
				t.Fatalf("exit code %d, lost %d", code, st.Lost)
			}
			fds := replayFDs(t, evs)
			if open := fds.open(dir); len(open) > 0 {
				t.Errorf("descriptors left open after every process exited: %v", open)
			}
			shellPid := rootPID(t, evs)
			if !fds.exited[shellPid] {
				t.Errorf("no exit event for the shell, pid %d", shellPid)
			}
			var writes, dups, restores int
			f := filepath.Join(dir, "f")
			on1 := "" // what the shell's fd 1 holds
			for _, e := range evs {
				switch {
				case e.Op == trail.OpWrite && e.Path == f && e.FD == 1:
					writes++
				case e.Op == trail.OpDup && e.FD == 1 && e.Path == f:
					dups++
				case e.Op == trail.OpDup && e.FD == 1 && e.Path == "" && on1 == f:
					restores++
				}
				if e.Op == trail.OpDup && e.FD == 1 && e.PID == shellPid {
					on1 = e.Path
				}
			}
			if writes != 200 || dups != 200 || restores != 200 {
				t.Errorf("%d writes to f on fd 1, %d dups of f onto 1, %d dups putting 1 back; want 200 each", writes, dups, restores)
			}
			child := find(t, evs, trail.OpWrite, filepath.Join(dir, "inherited"))
			if child.PID == shellPid || child.FD != 3 || child.Comm != "python3" {
				t.Errorf("the child's write through fd 3: pid %d (shell %d) fd %d comm %q", child.PID, shellPid, child.FD, child.Comm)
			}
			fork := false
			for _, e := range evs {
				if e.Op == trail.OpFork && e.Child == child.PID && e.PID == shellPid {
					fork = true
				}
			}
			if !fork {
				t.Errorf("no fork event from the shell for its child %d", child.PID)
			}
			if e := find(t, evs, trail.OpExec, mustLook(t, "python3")); e.PID != child.PID {
				t.Errorf("exec of python3 in pid %d, it wrote as %d", e.PID, child.PID)
			}
		})
	}
}

func mustLook(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fileless reports whether e is about no file: a process's fork, exec or
// exit, or a descriptor event without a path (a range, a dup of a pipe),
// which --path does not filter.
func fileless(e *trail.Event) bool {
	return e.Op == trail.OpFork || e.Op == trail.OpExec || e.Op == trail.OpExit || e.Path == "" && e.To == ""
}

// realPython returns the python3 interpreter itself, not a wrapper such as
// pyenv's shim script, whose processes would add to what a test counts.
func realPython(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(requirePython(t), "-I", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}
