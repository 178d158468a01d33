//go:build linux && (amd64 || arm64)

package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/record/bpf"
	"github.com/heisen-dev/heisen/trail"
)

// A Recorder is the loaded and attached eBPF backend. It records nothing
// until processes are tracked (Track, Config.PIDs) or Config.All is set.
type Recorder struct {
	cfg        Config
	prefixes   []string
	objs       bpf.RecordObjects
	links      []link.Link
	rd         *ringbuf.Reader
	bootToWall int64

	stats     Stats
	reported  []uint64  // per CPU, the lost events already written as loss records
	bpfStats  io.Closer // kernel BPF statistics, on while held
	held      []trail.Event
	written   time.Time   // the time of the last event written: nothing is placed before it
	history   history     // the last events written, for placeRenames
	lastOfTID map[int]int // coalesce's scratch, reused
	names     interner
	writes    writes
}

// New checks that eBPF can be used here, mounts tracefs if needed, and
// loads and attaches the programs. An error matching ErrUnavailable says
// exactly what this machine lacks.
func New(cfg Config) (*Recorder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	prefixes, err := cleanPrefixes(cfg.Paths)
	if err != nil {
		return nil, err
	}
	if cfg.RingSize == 0 {
		cfg.RingSize = DefaultRingSize
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if err := checkEBPF(); err != nil {
		return nil, err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, &UnavailableError{Backend: "ebpf", Missing: "permission to raise RLIMIT_MEMLOCK", Err: err}
	}
	r := &Recorder{cfg: cfg, prefixes: prefixes, lastOfTID: map[int]int{}, names: interner{}, writes: writes{}}
	if cfg.ProbeStats {
		if r.bpfStats, err = ebpf.EnableStats(unix.BPF_STATS_RUN_TIME); err != nil {
			return nil, fmt.Errorf("record: enable BPF run-time statistics: %w", err)
		}
	}
	if err := r.load(); err != nil {
		r.Close()
		return nil, err
	}
	for _, pid := range cfg.PIDs {
		if err := r.Track(pid); err != nil {
			r.Close()
			return nil, err
		}
	}
	r.bootToWall = bootToWall()
	return r, nil
}

func (r *Recorder) load() error {
	spec, err := bpf.LoadRecord()
	if err != nil {
		return fmt.Errorf("record: load embedded eBPF object: %w", err)
	}
	spec.Maps[bpf.RecordMapEvents].MaxEntries = uint32(r.cfg.RingSize)
	vars := map[string]uint32{
		bpf.RecordVarTraceAll:    b2u(r.cfg.All),
		bpf.RecordVarSelfTgid:    uint32(os.Getpid()),
		bpf.RecordVarPrefixCount: uint32(len(r.prefixes)),
		bpf.RecordVarCloseNr:     unix.SYS_CLOSE,
		bpf.RecordVarDup2Nr:      dup2Nr,
		bpf.RecordVarDup3Nr:      unix.SYS_DUP3,
		bpf.RecordVarOpenatNr:    unix.SYS_OPENAT,
		bpf.RecordVarOpenat2Nr:   unix.SYS_OPENAT2,
		bpf.RecordVarOpenNr:      openNr,
		bpf.RecordVarCreatNr:     creatNr,
		bpf.RecordVarMunmapNr:    unix.SYS_MUNMAP,
	}
	for name, v := range vars {
		if err := spec.Variables[name].Set(v); err != nil {
			return fmt.Errorf("record: set %s: %w", name, err)
		}
	}
	if err := spec.Variables[bpf.RecordVarEnterMask].Set(enterMask()); err != nil {
		return fmt.Errorf("record: set %s: %w", bpf.RecordVarEnterMask, err)
	}
	steps, err := loadObjects(spec, &r.objs)
	if err != nil {
		return err
	}
	r.stats.Load = steps
	for i, p := range r.prefixes {
		var v bpf.RecordPrefix
		v.Len = uint32(len(p))
		for j := range len(p) {
			v.S[j] = int8(p[j])
		}
		if err := r.objs.Prefixes.Put(uint32(i), &v); err != nil {
			return fmt.Errorf("record: set path prefix %s: %w", p, err)
		}
	}
	for _, s := range append(syscalls, descSyscalls...) {
		if err := r.objs.Sysop.Put(uint32(s.nr), uint32(s.op)); err != nil {
			return fmt.Errorf("record: map syscall %s: %w", s.name, err)
		}
	}
	attach := time.Now()
	for _, p := range r.programs() {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			return fmt.Errorf("record: attach %s: %w", p, err)
		}
		r.links = append(r.links, l)
	}
	r.stats.Load = append(r.stats.Load, LoadStep{Name: "attach", Took: time.Since(attach)})
	r.rd, err = ringbuf.NewReader(r.objs.Events)
	if err != nil {
		return fmt.Errorf("record: open ring buffer: %w", err)
	}
	return nil
}

// enterMask has a bit set for each call the entry program looks at: the
// opens that can create (stamped at entry when renamed before their
// exit), close, dup2 and dup3 (the file they drop), munmap (its mapping)
// and the renames and unlinks (their entry time).
func enterMask() [8]uint64 {
	var m [8]uint64
	for _, nr := range []uint64{unix.SYS_OPENAT, unix.SYS_OPENAT2, openNr, creatNr, unix.SYS_CLOSE, dup2Nr,
		unix.SYS_DUP3, unix.SYS_MUNMAP, renameNr, unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2,
		unlinkNr, rmdirNr, unix.SYS_UNLINKAT} {
		if nr < 64*uint64(len(m)) {
			m[nr/64] |= 1 << (nr % 64)
		}
	}
	return m
}

func (r *Recorder) programs() []*ebpf.Program {
	return []*ebpf.Program{r.objs.SysEnter, r.objs.SysExit, r.objs.OnFork, r.objs.OnExec, r.objs.OnExit}
}

// filter reports whether e passes the --path prefixes, compared exactly on
// the cleaned paths where the kernel compared a cheap superset. Events
// without a file (fork, exec, exit, a range of descriptors) pass. A dup's
// To is the file its new descriptor replaced, sent only for this check;
// filter drops it.
func filter(e *trail.Event, prefixes []string) bool {
	keep := len(prefixes) == 0 || e.Path == "" && e.To == "" ||
		e.Op == trail.OpExec || e.Op == trail.OpFork || e.Op == trail.OpExit ||
		underAny(e.Path, prefixes) || underAny(e.To, prefixes)
	if e.Op == trail.OpDup {
		e.To = ""
	}
	return keep
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// Track records process pid and every process it forks from now on. A
// thread id stands for its whole process. The process must exist.
func (r *Recorder) Track(pid int) error {
	tgid, err := tgidOf(pid)
	if err != nil {
		return fmt.Errorf("record: track pid %d: %w", pid, err)
	}
	if err := r.objs.Tracked.Put(uint32(tgid), uint8(1)); err != nil {
		return fmt.Errorf("record: track pid %d: %w", pid, err)
	}
	return nil
}

// tgidOf returns the process (thread group) id of thread id tid.
func tgidOf(tid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no Tgid in /proc/%d/status", tid)
}

// Run writes the recorded events to w, in time order, until ctx is done;
// then it drains what the kernel has already recorded, writes a loss
// record if any event was lost, and returns. Lost events are also written
// as loss records while recording, about once a second. Trail write
// errors are w's to keep and count (trail.Writer.Unwritten); when one says
// the trail's reader is gone (EPIPE), Run returns at once.
//
// The reader yields to the traced program while the ring buffer has room
// (yieldNice), on the calling goroutine's thread, locked to it until Run
// returns the thread to its own priority.
func (r *Recorder) Run(ctx context.Context, w *trail.Writer) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	y := newYielder()
	defer y.restore()
	return r.run(ctx, w, y)
}

func (r *Recorder) run(ctx context.Context, w *trail.Writer, y *yielder) error {
	var rec ringbuf.Record
	lastLoss := time.Now()
	for {
		done := ctx.Err() != nil
		if done {
			// Make the reads below return everything already submitted,
			// then ErrFlushed.
			if err := r.rd.Flush(); err != nil {
				return fmt.Errorf("record: flush ring buffer: %w", err)
			}
		} else {
			r.rd.SetDeadline(time.Now().Add(r.cfg.Poll))
		}
		// Events older than the cutoff were submitted before the batch
		// starts, so no later read can hold an earlier one. The batch ends
		// at the first event stamped after its start: a program writing
		// faster than the reader decodes would otherwise keep one batch
		// growing, and its sort and its memory with it.
		start := r.bootNow() + r.bootToWall
		wallCutoff := start - int64(r.cfg.Poll)
		if done {
			start, wallCutoff = math.MaxInt64, math.MaxInt64
		}
		if err := r.readBatch(&rec, y, start); err != nil {
			return err
		}
		werr := r.emit(w, wallCutoff)
		if done || time.Since(lastLoss) > time.Second {
			lastLoss = time.Now()
			at := time.Unix(0, wallCutoff)
			if done {
				at = time.Now()
			}
			r.writes.forget(at.Add(-2 * time.Second))
			if err := r.reportLoss(w, at); err != nil {
				return err
			}
		}
		if errors.Is(werr, unix.EPIPE) {
			return nil
		}
		if done {
			return r.readProbes()
		}
	}
}

// readBatch decodes what the ring buffer holds into r.held, until the
// deadline, the flush, or the first event stamped at or after until (wall
// nanoseconds; math.MaxInt64 for the last batch, which is read at the
// recorder's own priority).
func (r *Recorder) readBatch(rec *ringbuf.Record, y *yielder, until int64) error {
	size := r.rd.BufferSize()
	for n := 0; ; n++ {
		if n%1024 == 0 {
			unread := r.rd.AvailableBytes()
			if until == math.MaxInt64 {
				unread = size
			}
			y.adjust(unread, size)
		}
		err := r.rd.ReadInto(rec)
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, ringbuf.ErrFlushed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("record: read ring buffer: %w", err)
		}
		var e trail.Event
		if err := decode(rec.RawSample, r.bootToWall, r.names, r.writes, &e); errors.Is(err, errNoPath) {
			r.stats.NoPath++
			continue
		} else if err != nil {
			return err
		}
		if filter(&e, r.prefixes) {
			r.held = append(r.held, e)
		}
		if e.TS.UnixNano() >= until {
			return nil
		}
	}
}

// readProbes fills Stats.Probes when Config.ProbeStats is set.
func (r *Recorder) readProbes() error {
	if r.bpfStats == nil {
		return nil
	}
	r.stats.Probes = r.stats.Probes[:0]
	for _, p := range r.programs() {
		st, err := p.Stats()
		if err != nil {
			return fmt.Errorf("record: read run-time statistics of %s: %w", p, err)
		}
		info, err := p.Info()
		if err != nil {
			return fmt.Errorf("record: read info of %s: %w", p, err)
		}
		r.stats.Probes = append(r.stats.Probes, Probe{Name: info.Name, Runs: st.RunCount, Runtime: st.Runtime})
	}
	return nil
}

// emit writes the held events older than cutoff (wall-clock ns) in time
// order, with consecutive writes coalesced. Timestamps are taken on
// different CPUs just before each event is submitted, so the ring buffer is
// only nearly sorted. Renames are placed among the events of their call's
// time first (placeRenames).
func (r *Recorder) emit(w *trail.Writer, cutoff int64) error {
	byTime := func(a, b trail.Event) int { return a.TS.Compare(b.TS) }
	slices.SortStableFunc(r.held, byTime)
	placeRenames(r.held, r.written, &r.history)
	n := 0
	for n < len(r.held) && r.held[n].TS.UnixNano() < cutoff {
		n++
	}
	if n > 0 {
		r.written = r.held[n-1].TS
	}
	out := coalesce(r.held[:n], r.lastOfTID)
	slices.SortStableFunc(out, byTime)
	for i := range out {
		w.Write(&out[i]) // errors: see Run
		if e := &out[i]; e.Op == trail.OpUntraced {
			r.stats.Untraced = append(r.stats.Untraced, Untraced{PID: e.PID, Comm: e.Comm, Sys: e.Sys})
		}
	}
	r.history.add(out)
	r.stats.Events += uint64(len(out))
	r.stats.Calls += uint64(n)
	r.held = r.held[:copy(r.held, r.held[n:])]
	return w.Flush()
}

// reportLoss writes a loss record for the events lost since the last one:
// lost is their number and lost_per_cpu splits it per CPU; pid and tid
// are 0 (no process of the trail lost them). at is no later than the
// events written after the record, which the reader holds back until
// their time has passed at. It also reads the count of 32-bit calls.
func (r *Recorder) reportLoss(w *trail.Writer, at time.Time) error {
	var ia32 []uint64
	if err := r.objs.Ia32.Lookup(uint32(0), &ia32); err != nil {
		return fmt.Errorf("record: read 32-bit call counters: %w", err)
	}
	r.stats.Compat = sum(ia32)
	var perCPU []uint64
	if err := r.objs.Lost.Lookup(uint32(0), &perCPU); err != nil {
		return fmt.Errorf("record: read lost-event counters: %w", err)
	}
	r.stats.Lost, r.stats.LostPerCPU = sum(perCPU), perCPU
	if len(r.reported) < len(perCPU) {
		r.reported = append(r.reported, make([]uint64, len(perCPU)-len(r.reported))...)
	}
	e := trail.Event{TS: at, FD: trail.NoFD, Off: -1, Src: "ebpf", LostPerCPU: make([]uint64, len(perCPU))}
	for i, n := range perCPU {
		e.LostPerCPU[i] = n - r.reported[i]
		e.Lost += e.LostPerCPU[i]
		r.reported[i] = n
	}
	if e.Lost == 0 {
		return nil
	}
	w.Write(&e) // errors: see Run
	return nil
}

func sum(v []uint64) uint64 {
	var t uint64
	for _, n := range v {
		t += n
	}
	return t
}

// Stats returns the counts so far; they are final after Run returns.
func (r *Recorder) Stats() Stats { return r.stats }

// Close detaches every program and frees the kernel objects.
func (r *Recorder) Close() error {
	var errs []error
	if r.rd != nil {
		errs = append(errs, r.rd.Close())
	}
	for _, l := range r.links {
		errs = append(errs, l.Close())
	}
	r.links = nil
	errs = append(errs, r.objs.Close())
	if r.bpfStats != nil {
		errs = append(errs, r.bpfStats.Close())
		r.bpfStats = nil
	}
	return errors.Join(errs...)
}

func (r *Recorder) bootNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return ts.Nano()
}

// bootToWall returns wall-clock minus boot-time, in ns, taking the
// tightest of a few samples.
func bootToWall() int64 {
	var best, off int64 = 1<<63 - 1, 0
	for range 5 {
		var a, b, c unix.Timespec
		unix.ClockGettime(unix.CLOCK_REALTIME, &a)
		unix.ClockGettime(unix.CLOCK_BOOTTIME, &b)
		unix.ClockGettime(unix.CLOCK_REALTIME, &c)
		if d := c.Nano() - a.Nano(); d < best {
			best, off = d, (a.Nano()+c.Nano())/2-b.Nano()
		}
	}
	return off
}
