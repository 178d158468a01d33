// Package trailtest generates realistic synthetic trails for tests and
// benchmarks: worker processes replacing shared targets through temp files
// (some with clock-derived names, so some of them collide), and reader
// processes reading the targets, with the event mix and the interleaving of
// a real run.
package trailtest

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// Config shapes a generated trail. Zero fields take the defaults.
type Config struct {
	Events  int    // events to write (default 100,000)
	Workers int    // writer processes (default 8)
	Readers int    // reader processes (default 2)
	Targets int    // target files (default 4)
	Clock   int    // one replace in Clock (at random) uses the clock-derived temp name "<target>.<unix seconds>.tmp" (default 50; 0 keeps the default, -1 never)
	Seed    uint64 // random seed
	Dir     string // directory of the targets (default "/data")
}

// Stats says what a generated trail holds.
type Stats struct {
	Events   int
	Replaces int // completed renames
	Clocked  int // replaces that used a clock-derived name
}

type proc struct {
	pid    int
	reader bool
	step   int // position in the current cycle
	writes int // writes left in this cycle
	target string
	temp   string
	ino    uint64
	clock  bool
}

// Generate writes a trail to w and reports what it holds.
func Generate(w io.Writer, cfg Config) (Stats, error) {
	g := newGenerator(cfg)
	bw := bufio.NewWriterSize(w, 1<<16)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var buf []byte
	for g.st.Events < g.cfg.Events {
		p := g.procs[g.rng.IntN(len(g.procs))]
		now = now.Add(time.Duration(1+g.rng.IntN(20)) * time.Microsecond)
		e := trail.Event{TS: now, PID: p.pid, TID: p.pid, FD: 3, Off: -1, Len: -1, Src: "ebpf"}
		if p.reader {
			g.readerStep(p, &e)
		} else {
			g.writerStep(p, &e)
		}
		buf = trail.AppendJSON(buf[:0], &e)
		if _, err := bw.Write(buf); err != nil {
			return g.st, err
		}
		g.st.Events++
	}
	return g.st, bw.Flush()
}

// generator is the state of one Generate: the processes, the targets and
// which names exist with which inode.
type generator struct {
	cfg     Config
	rng     *rand.Rand
	procs   []*proc
	targets []string
	names   map[string]uint64 // name → inode while it exists
	nextIno uint64
	seq     int // replaces started, for unique temp names
	st      Stats
}

func newGenerator(cfg Config) *generator {
	if cfg.Events <= 0 {
		cfg.Events = 100_000
	}
	cfg.Workers = cmpOr(cfg.Workers, 8)
	cfg.Readers = cmpOr(cfg.Readers, 2)
	cfg.Targets = cmpOr(cfg.Targets, 4)
	cfg.Clock = cmpOr(cfg.Clock, 50)
	if cfg.Dir == "" {
		cfg.Dir = "/data"
	}
	g := &generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
		targets: make([]string, cfg.Targets), names: map[string]uint64{}, nextIno: 1000}
	for i := range cfg.Workers + cfg.Readers {
		g.procs = append(g.procs, &proc{pid: 1000 + i, reader: i >= cfg.Workers})
	}
	for i := range g.targets {
		g.targets[i] = cfg.Dir + "/target-" + strconv.Itoa(i)
	}
	return g
}

// readerStep fills e with a reader's next operation: open a target, read
// it, close it.
func (g *generator) readerStep(p *proc, e *trail.Event) {
	switch p.step {
	case 0:
		p.target = g.targets[g.rng.IntN(len(g.targets))]
		e.Op, e.Path, e.Flags, e.Ret = trail.OpOpen, p.target, trail.O_RDONLY, 3
		e.Dev, e.Ino = 2049, g.names[p.target]
	case 1:
		e.Op, e.Off, e.Len, e.Ret = trail.OpRead, 0, 65536, 65536
	case 2:
		e.Op = trail.OpClose
	}
	p.step = (p.step + 1) % 3
}

// writerStep fills e with a writer's next operation of a replace: open a
// temp, write it in pieces, fdatasync, close, rename it over its target.
func (g *generator) writerStep(p *proc, e *trail.Event) {
	switch {
	case p.step == 0:
		g.openTemp(p, e)
		p.step++
	case p.step == 1 && p.writes > 0:
		e.Op, e.Dev, e.Ino, e.Len, e.Ret = trail.OpWrite, 2049, p.ino, 4096, 4096
		p.writes--
		e.Off = int64(4096 * p.writes)
	case p.step == 1:
		e.Op, e.Dev, e.Ino = trail.OpFdatasync, 2049, p.ino
		p.step++
	case p.step == 2:
		e.Op = trail.OpClose
		p.step++
	default:
		e.Op, e.Path, e.To, e.FD = trail.OpRename, p.temp, p.target, trail.NoFD
		if _, ok := g.names[p.temp]; ok {
			delete(g.names, p.temp)
			g.names[p.target] = p.ino
			g.st.Replaces++
		} else {
			e.Ret, e.Err = -1, "ENOENT" // another worker renamed the shared name first
		}
		p.step = 0
	}
}

// openTemp starts a replace: a temp name unique to the process, or one
// in Clock derived from the time, which other writers can share.
func (g *generator) openTemp(p *proc, e *trail.Event) {
	p.target = g.targets[g.rng.IntN(len(g.targets))]
	g.seq++
	p.clock = g.cfg.Clock > 0 && g.rng.IntN(g.cfg.Clock) == 0
	if p.clock {
		p.temp = p.target + "." + strconv.FormatInt(e.TS.Unix(), 10) + ".tmp"
		g.st.Clocked++
	} else {
		p.temp = p.target + "." + strconv.Itoa(p.pid) + "." + strconv.Itoa(g.seq) + ".tmp"
	}
	ino, ok := g.names[p.temp]
	if !ok {
		g.nextIno++
		ino = g.nextIno
		g.names[p.temp] = ino
	}
	p.ino, p.writes = ino, 1+g.rng.IntN(4)
	e.Op, e.Path, e.Flags, e.Ret = trail.OpOpen, p.temp, trail.O_WRONLY|trail.O_CREAT|trail.O_TRUNC, 3
	e.Dev, e.Ino = 2049, ino
}

// Benchmark is the fixture of the benchmarks that read trails: the
// 200,000-event trail of Config{Events: 200_000, Seed: 1}, generated once
// in memory, handed to read on every iteration of b. read returns how many
// events it took in, which must be all of them; Benchmark reports bytes
// and events per second.
func Benchmark(b *testing.B, read func(trail io.Reader) (events int64, err error)) {
	var buf bytes.Buffer
	st, err := Generate(&buf, Config{Events: 200_000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	benchmark(b, buf.Bytes(), st.Events, read)
}

// BenchmarkShape is Benchmark on the 200,000-event trail of one of Shapes.
func BenchmarkShape(b *testing.B, shape string, read func(trail io.Reader) (events int64, err error)) {
	var buf bytes.Buffer
	events, err := GenerateShape(&buf, shape, 200_000, 1)
	if err != nil {
		b.Fatal(err)
	}
	benchmark(b, buf.Bytes(), events, read)
}

func benchmark(b *testing.B, data []byte, events int, read func(io.Reader) (int64, error)) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := read(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if n != int64(events) {
			b.Fatalf("took in %d events, want %d", n, events)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
