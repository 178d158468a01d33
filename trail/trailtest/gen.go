// Package trailtest generates realistic synthetic trails for tests and
// benchmarks: worker processes replacing shared targets through temp files
// (some with clock-derived names, so some of them collide), and reader
// processes reading the targets, with the event mix and the interleaving of
// a real run.
package trailtest

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
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
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 1<<16)
	procs := make([]*proc, 0, cfg.Workers+cfg.Readers)
	for i := range cfg.Workers + cfg.Readers {
		procs = append(procs, &proc{pid: 1000 + i, reader: i >= cfg.Workers})
	}
	targets := make([]string, cfg.Targets)
	for i := range targets {
		targets[i] = cfg.Dir + "/target-" + strconv.Itoa(i)
	}
	names := map[string]uint64{} // name → inode while it exists
	var nextIno uint64 = 1000
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var st Stats
	var buf []byte
	seq := 0
	for st.Events < cfg.Events {
		p := procs[rng.IntN(len(procs))]
		now = now.Add(time.Duration(1+rng.IntN(20)) * time.Microsecond)
		e := trail.Event{TS: now, PID: p.pid, TID: p.pid, FD: 3, Off: -1, Len: -1, Src: "ebpf"}
		if p.reader {
			switch p.step {
			case 0:
				p.target = targets[rng.IntN(len(targets))]
				e.Op, e.Path, e.Flags, e.Ret = trail.OpOpen, p.target, trail.O_RDONLY, 3
				e.Dev, e.Ino = 2049, names[p.target]
			case 1:
				e.Op, e.Off, e.Len, e.Ret = trail.OpRead, 0, 65536, 65536
			case 2:
				e.Op = trail.OpClose
			}
			p.step = (p.step + 1) % 3
		} else {
			switch {
			case p.step == 0:
				p.target = targets[rng.IntN(len(targets))]
				seq++
				p.clock = cfg.Clock > 0 && rng.IntN(cfg.Clock) == 0
				if p.clock {
					p.temp = p.target + "." + strconv.FormatInt(now.Unix(), 10) + ".tmp"
					st.Clocked++
				} else {
					p.temp = p.target + "." + strconv.Itoa(p.pid) + "." + strconv.Itoa(seq) + ".tmp"
				}
				ino, ok := names[p.temp]
				if !ok {
					nextIno++
					ino = nextIno
					names[p.temp] = ino
				}
				p.ino, p.writes = ino, 1+rng.IntN(4)
				e.Op, e.Path, e.Flags, e.Ret = trail.OpOpen, p.temp, trail.O_WRONLY|trail.O_CREAT|trail.O_TRUNC, 3
				e.Dev, e.Ino = 2049, ino
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
				if _, ok := names[p.temp]; ok {
					delete(names, p.temp)
					names[p.target] = p.ino
					st.Replaces++
				} else {
					e.Ret, e.Err = -1, "ENOENT" // another worker renamed the shared name first
				}
				p.step = 0
			}
		}
		buf = trail.AppendJSON(buf[:0], &e)
		if _, err := bw.Write(buf); err != nil {
			return st, err
		}
		st.Events++
	}
	return st, bw.Flush()
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
