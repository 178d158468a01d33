package trailtest

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// Shapes names the generated trails that each stress one part of
// analyze: distinct (every replace a new file), hotfile (64 appenders on
// one log), longlived (1,000 processes holding 10 descriptors each, with
// forks), findings (about one finding per 4 events).
var Shapes = []string{"distinct", "hotfile", "longlived", "findings"}

// GenerateShape writes a trail of the named shape (one of Shapes) with at
// least events events (a shape's last cycle completes) to w and returns
// how many it wrote.
func GenerateShape(w io.Writer, name string, events int, seed uint64) (int, error) {
	gen, ok := shapes[name]
	if !ok {
		return 0, fmt.Errorf("trailtest: unknown shape %q", name)
	}
	g := newGen(w, seed)
	gen(g, events)
	if err := cmp.Or(g.err, g.w.Flush()); err != nil {
		return g.events, err
	}
	return g.events, nil
}

// A shape writes a trail of n events that stresses one part of analyze.
type shape func(g *gen, n int)

var shapes = map[string]shape{
	"distinct":  distinct,
	"hotfile":   hotfile,
	"longlived": longlived,
	"findings":  findings,
}

// gen writes events with increasing times, one buffered line each.
type gen struct {
	w      *bufio.Writer
	rng    *rand.Rand
	now    time.Time
	events int
	buf    []byte
	err    error
}

func newGen(w io.Writer, seed uint64) *gen {
	return &gen{w: bufio.NewWriterSize(w, 1<<16), rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
}

func (g *gen) emit(e trail.Event) {
	g.now = g.now.Add(time.Duration(1+g.rng.IntN(20)) * time.Microsecond)
	e.TS, e.TID, e.Src = g.now, e.PID, "ebpf"
	if e.Op != trail.OpWrite && e.Op != trail.OpRead {
		e.Off, e.Len = -1, -1
	}
	g.buf = trail.AppendJSON(g.buf[:0], &e)
	if _, err := g.w.Write(g.buf); err != nil && g.err == nil {
		g.err = err
	}
	g.events++
}

func (g *gen) open(pid, fd int, path string, flags trail.OpenFlags, ino uint64) {
	g.emit(trail.Event{PID: pid, Comm: "worker", Op: trail.OpOpen, Path: path, FD: fd, Flags: flags, Dev: 2049, Ino: ino, Ret: int64(fd)})
}

func (g *gen) write(pid, fd int, off, n int64) {
	g.emit(trail.Event{PID: pid, Comm: "worker", Op: trail.OpWrite, FD: fd, Off: off, Len: n, Ret: n})
}

func (g *gen) op(pid, fd int, op trail.Op) {
	g.emit(trail.Event{PID: pid, Comm: "worker", Op: op, FD: fd})
}

func (g *gen) rename(pid int, from, to string) {
	g.emit(trail.Event{PID: pid, Comm: "worker", Op: trail.OpRename, Path: from, To: to, FD: trail.NoFD})
}

const wronly = trail.O_WRONLY | trail.O_CREAT

// distinct: 8 writers each replace ever new files (f-<n>.tmp renamed onto
// f-<n>), fdatasyncing them and never the directory: every file is
// distinct, so the trail names as many files as it has replaces, and
// every rename is one more unsynced-dir occurrence of the same group.
func distinct(g *gen, n int) {
	for i := 0; g.events < n; i++ {
		pid := 1000 + i%8
		tmp, dst := "/data/f-"+strconv.Itoa(i)+".tmp", "/data/f-"+strconv.Itoa(i)
		ino := uint64(1_000_000 + i)
		g.open(pid, 3, tmp, wronly|trail.O_EXCL, ino)
		g.write(pid, 3, 0, 4096)
		g.op(pid, 3, trail.OpFdatasync)
		g.op(pid, 3, trail.OpClose)
		g.rename(pid, tmp, dst)
	}
}

// hotfile: 64 processes hold one log open with O_APPEND at once and
// append to it in random order, while 16 readers open and close it.
func hotfile(g *gen, n int) {
	const writers, readers = 64, 16
	for p := range writers {
		g.open(2000+p, 3, "/data/app.log", wronly|trail.O_APPEND, 77)
	}
	var off int64
	for g.events < n {
		if g.rng.IntN(10) == 0 {
			pid := 3000 + g.rng.IntN(readers)
			g.open(pid, 4, "/data/app.log", trail.O_RDONLY, 77)
			g.op(pid, 4, trail.OpClose)
			continue
		}
		g.write(2000+g.rng.IntN(writers), 3, off, 100)
		off += 100
	}
}

// longlived: 1,000 processes each hold 10 files open for the whole trail
// (their own logs) and write through them at random; every so often a
// process forks a child that writes through an inherited descriptor and
// exits.
func longlived(g *gen, n int) {
	const procs, files = 1000, 10
	for p := range procs {
		for f := range files {
			path := "/data/p" + strconv.Itoa(p) + "/log-" + strconv.Itoa(f)
			g.open(4000+p, 3+f, path, wronly|trail.O_TRUNC, uint64(10_000+p*files+f))
		}
	}
	offs := make([]int64, procs*files)
	child := 100_000
	for g.events < n {
		p, f := g.rng.IntN(procs), g.rng.IntN(files)
		pid := 4000 + p
		if g.rng.IntN(100) == 0 {
			child++
			g.emit(trail.Event{PID: pid, Comm: "worker", Op: trail.OpFork, Child: child, FD: trail.NoFD})
			g.write(child, 3+f, offs[p*files+f], 64)
			offs[p*files+f] += 64
			g.emit(trail.Event{PID: child, Comm: "worker", Op: trail.OpExit, FD: trail.NoFD})
			continue
		}
		g.write(pid, 3+f, offs[p*files+f], 64)
		offs[p*files+f] += 64
	}
}

// findings: pairs of processes write one clock-derived temp name at once
// and rename it, again and again: every replace is a temp collision and a
// torn rename, about one finding per 4 events.
func findings(g *gen, n int) {
	for i := 0; g.events < n; i++ {
		a, b := 10_000+2*(i%500), 10_001+2*(i%500)
		tmp := "/data/out." + strconv.FormatInt(g.now.Unix(), 10) + ".tmp"
		ino := uint64(2_000_000 + i)
		g.open(a, 3, tmp, wronly|trail.O_TRUNC, ino)
		g.open(b, 3, tmp, wronly|trail.O_TRUNC, ino)
		g.write(a, 3, 0, 4096)
		g.write(b, 3, 0, 4096)
		g.op(a, 3, trail.OpClose)
		g.rename(a, tmp, "/data/out")
		g.op(b, 3, trail.OpClose)
	}
}
