package analyze

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// TestLockFile: two running processes each read /d/c and replace it
// through a temp, one after the other, each holding fd 9 on /d/c.lock.
// A lock file is a lock when the trail shows a lock taken through it, or
// when it was created with O_EXCL under a name every updater computes
// and not random (the lock-file protocol); its name alone ("exec
// 9>c.lock" without flock) locks nothing, so the updates are unlocked.
func TestLockFile(t *testing.T) {
	for _, c := range []struct {
		name   string
		flags  trail.OpenFlags
		lock   bool
		target string // the lock file, relative to /d
		want   bool   // an unlocked-update
	}{
		{"name only", trail.O_WRONLY | trail.O_CREAT | trail.O_TRUNC, false, "c.lock", true},
		{"flock", trail.O_WRONLY | trail.O_CREAT | trail.O_TRUNC, true, "c.lock", false},
		{"O_EXCL lock file", trail.O_WRONLY | trail.O_CREAT | trail.O_EXCL, false, "c.lock", false},
		{"O_EXCL, named a lock", trail.O_WRONLY | trail.O_CREAT | trail.O_EXCL, false, "app.lock", false},
		{"O_EXCL, fixed name", trail.O_WRONLY | trail.O_CREAT | trail.O_EXCL, false, "c.new", false},
		{"O_EXCL random name", trail.O_WRONLY | trail.O_CREAT | trail.O_EXCL, false, "c.Xk3p9Q", true},
		{"O_EXCL lock file created after the read", trail.O_WRONLY | trail.O_CREAT | trail.O_EXCL, false, "c.lock", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := New(Options{})
			t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
			line := 0
			add := func(e trail.Event) {
				line++
				e.TS, e.Pos, e.TID, e.Comm = t0.Add(time.Duration(line)*time.Millisecond), trail.Pos{File: "t", Line: line}, e.PID, "upd"
				if e.Off == 0 && e.Len == 0 {
					e.Off, e.Len = -1, -1
				}
				a.Add(&e)
			}
			add(trail.Event{PID: 5, Op: trail.OpOpen, Path: "/d/c", FD: 3, Flags: trail.O_WRONLY | trail.O_CREAT | trail.O_TRUNC, Ret: 3})
			add(trail.Event{PID: 5, Op: trail.OpWrite, FD: 3, Off: 0, Len: 2, Ret: 2})
			add(trail.Event{PID: 5, Op: trail.OpClose, FD: 3})
			for _, pid := range []int{10, 11} {
				tmp, lock := fmt.Sprintf("/d/c.%d", pid), "/d/"+c.target
				late := strings.HasSuffix(c.name, "after the read")
				if !late {
					add(trail.Event{PID: pid, Op: trail.OpOpen, Path: lock, FD: 9, Flags: c.flags, Ret: 9})
				}
				if c.lock {
					add(trail.Event{PID: pid, Op: trail.OpLock, FD: 9, Lock: "flock", Mode: "exclusive", Off: 0, Len: 0})
				}
				add(trail.Event{PID: pid, Op: trail.OpOpen, Path: "/d/c", FD: 3, Flags: trail.O_RDONLY, Ret: 3})
				add(trail.Event{PID: pid, Op: trail.OpRead, FD: 3, Off: 0, Len: 2, Ret: 2})
				add(trail.Event{PID: pid, Op: trail.OpClose, FD: 3})
				if late {
					add(trail.Event{PID: pid, Op: trail.OpOpen, Path: lock, FD: 9, Flags: c.flags, Ret: 9})
				}
				add(trail.Event{PID: pid, Op: trail.OpOpen, Path: tmp, FD: 4, Flags: trail.O_WRONLY | trail.O_CREAT | trail.O_TRUNC, Ret: 4})
				add(trail.Event{PID: pid, Op: trail.OpWrite, FD: 4, Off: 0, Len: 2, Ret: 2})
				add(trail.Event{PID: pid, Op: trail.OpClose, FD: 4})
				add(trail.Event{PID: pid, Op: trail.OpRename, Path: tmp, To: "/d/c", FD: trail.NoFD})
				if c.flags&trail.O_EXCL != 0 { // the protocol's release, so that the next create succeeds
					add(trail.Event{PID: pid, Op: trail.OpClose, FD: 9})
					add(trail.Event{PID: pid, Op: trail.OpUnlink, Path: lock, FD: trail.NoFD})
				}
			}
			var kinds []Kind
			for _, f := range a.Finish() {
				kinds = append(kinds, f.Kind)
			}
			if got := slices.Contains(kinds, UnlockedUpdate); got != c.want {
				t.Errorf("findings %v: unlocked-update %v, want %v", kinds, got, c.want)
			}
		})
	}
}
