package analyze

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/heisen-dev/heisen/trail"
)

// TestMain lets the test binary act as a writer process for
// TestRealProcesses.
func TestMain(m *testing.M) {
	if mode := os.Getenv("ANALYZE_TEST_WRITER"); mode != "" {
		if err := writer(mode, os.Getenv("ANALYZE_TEST_TRAIL"), os.Getenv("ANALYZE_TEST_TARGET")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const replaces = 60

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
	for range replaces {
		if mode == "atomicfile" {
			if err := atomicfile.WriteFile(target, data, 0o644, atomicfile.WithTracer(w)); err != nil {
				return err
			}
			continue
		}
		if err := racyReplace(w, target, data); err != nil {
			return err
		}
	}
	return w.Close()
}

func racyReplace(w *trail.Writer, target string, data []byte) error {
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

// TestRealProcesses runs four real processes replacing one file while
// appending to one trail: with atomicfile the analysis must give no error
// (precision), the story's shared temp name must give collisions and torn
// renames.
func TestRealProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"atomicfile", "racy"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			trailPath := filepath.Join(dir, "run.trail")
			var cmds []*exec.Cmd
			for range 4 {
				c := exec.Command(exe, "-test.run=^$")
				c.Env = append(os.Environ(), "ANALYZE_TEST_WRITER="+mode, "ANALYZE_TEST_TRAIL="+trailPath,
					"ANALYZE_TEST_TARGET="+filepath.Join(dir, "target"))
				c.Stderr = os.Stderr
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
