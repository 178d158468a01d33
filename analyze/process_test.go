package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/heisen-dev/heisen/internal/reexec"
	"github.com/heisen-dev/heisen/trail"
	"github.com/heisen-dev/heisen/trail/atomictrail"
)

// TestMain lets the test binary act as a writer process for
// TestRealProcesses.
func TestMain(m *testing.M) {
	// The writer's arguments: its mode, the trail, the target.
	reexec.Main(m, map[string]func() error{
		"writer": func() error { return writer(os.Args[1], os.Args[2], os.Args[3]) },
	})
}

const (
	replaces = 60
	writers  = 4 // processes TestRealProcesses starts
)

// writer replaces target again and again, leaving a trail: with atomicfile
// and its tracer, or the story's way through one shared temp name, logging
// each operation as the stress workers do.
func writer(mode, trailPath, target string) error {
	w, err := trail.Open(trailPath)
	if err != nil {
		return err
	}
	defer w.Close()
	data := bytes.Repeat([]byte(strconv.Itoa(os.Getpid())), 8192)
	for i := range replaces {
		if mode == "atomicfile" {
			if err := atomicfile.WriteFile(target, data, 0o644, atomicfile.WithTracer(atomictrail.Tracer(w))); err != nil {
				return err
			}
			continue
		}
		if err := racyReplace(w, target, data, i == 0); err != nil {
			return err
		}
	}
	return w.Close()
}

// racyReplace replaces target through the shared temp name. With meet,
// its windows overlap the others' however busy the machine is (see
// meetWriters).
func racyReplace(w *trail.Writer, target string, data []byte, meet bool) error {
	pid := os.Getpid()
	ev := func(op trail.Op, path string, fd int) trail.Event {
		return trail.Event{TS: time.Now(), PID: pid, TID: pid, Op: op, Path: path, FD: fd, Off: -1, Len: -1, Src: "test"}
	}
	tmp := target + ".tmp" // the fixed name of chef/automate#2566
	//heisen:ignore predictable-temp: racy on purpose, the test needs the collision it reproduces
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	fd := int(f.Fd())
	e := ev(trail.OpOpen, tmp, fd)
	e.Flags, e.Ret = trail.HostOpenFlags(os.O_WRONLY|os.O_CREATE|os.O_TRUNC), int64(fd)
	w.Write(&e)
	for off := 0; off < len(data); off += 4096 {
		n, err := f.Write(data[off : off+4096])
		if err != nil {
			return err
		}
		e = ev(trail.OpWrite, "", fd)
		e.Off, e.Len, e.Ret = int64(off), 4096, int64(n)
		w.Write(&e)
		if meet && off == 0 {
			if err := meetWriters(filepath.Dir(target), f, tmp); err != nil {
				return err
			}
		}
	}
	f.Close()
	e = ev(trail.OpClose, "", fd)
	w.Write(&e)
	e = ev(trail.OpRename, tmp, trail.NoFD)
	e.To = target
	if err := os.Rename(tmp, target); err != nil {
		e.Ret, e.Err = -1, "ENOENT"
	}
	w.Write(&e)
	return nil
}

// meetWriters marks this writer as arrived in dir and waits until all
// the writers have, each holding f, its write of the shared temp tmp.
// Then the writer with the lowest pid goes on to rename the temp, and
// the others wait for that rename before they close f: the trail shows
// the windows overlap and a rename while others still write the file.
func meetWriters(dir string, f *os.File, tmp string) error {
	if err := os.WriteFile(filepath.Join(dir, "arrived."+strconv.Itoa(os.Getpid())), nil, 0o644); err != nil {
		return err
	}
	arrived, err := poll(func() ([]string, bool, error) {
		arrived, err := filepath.Glob(filepath.Join(dir, "arrived.*"))
		return arrived, len(arrived) >= writers, err
	})
	if err != nil {
		return fmt.Errorf("meet writers in %s: %w", dir, err)
	}
	for _, a := range arrived {
		if pid, _ := strconv.Atoi(filepath.Ext(a)[1:]); pid < os.Getpid() {
			_, err := poll(func() ([]string, bool, error) {
				held, err1 := f.Stat()
				named, err2 := os.Stat(tmp)
				return nil, err1 == nil && (err2 != nil || !os.SameFile(held, named)), err1
			})
			if err != nil {
				return fmt.Errorf("wait for the rename of %s: %w", tmp, err)
			}
			break
		}
	}
	return nil
}

// poll calls check until it reports done or fails, for at most a minute.
func poll(check func() ([]string, bool, error)) ([]string, error) {
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		v, done, err := check()
		if done || err != nil {
			return v, err
		}
		if time.Now().After(deadline) {
			return nil, errors.New("not done in a minute")
		}
	}
}

// TestRealProcesses runs four real processes replacing one file while
// appending to one trail: with atomicfile the analysis must give no error
// (precision), the story's shared temp name must give collisions and torn
// renames.
func TestRealProcesses(t *testing.T) {
	for _, mode := range []string{"atomicfile", "racy"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			trailPath := filepath.Join(dir, "run.trail")
			var cmds []*exec.Cmd
			for range writers {
				c := reexec.Command(t, "writer", mode, trailPath, filepath.Join(dir, "target"))
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				cmds = append(cmds, c)
			}
			for _, c := range cmds {
				if err := c.Wait(); err != nil {
					t.Fatal(err)
				}
			}
			f, err := os.Open(trailPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, err := Run(trail.NewReader(f, trailPath), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Stats.Malformed != 0 || rep.Stats.Events == 0 {
				t.Fatalf("trail stats %+v", rep.Stats)
			}
			found := map[Kind]int{}
			for _, f := range rep.Findings {
				found[f.Kind]++
			}
			t.Logf("%d events: %v", rep.Stats.Events, found)
			switch mode {
			case "atomicfile":
				for _, f := range rep.Findings {
					if f.Severity == Error {
						t.Errorf("atomicfile: %s %s: %s (evidence %v)", f.Kind, f.Path, f.Message, f.Evidence[0].Pos)
					}
				}
			case "racy":
				if found[TempCollision] == 0 || found[TornRename] == 0 {
					t.Errorf("shared temp name from 4 processes: findings %v, want temp-collision and torn-rename", found)
				}
			}
		})
	}
}
