package stress

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/heisen-dev/heisen/analyze"
)

// Exec is how Run starts a worker, the process that plays a writer or a
// reader: the program, its argv (Args[0] is the name the program sees)
// and extra environment. The worker's arguments are appended to Args. For the heisen binary that is itself with the hidden
// command "stress-worker"; for a test binary, itself with WorkerEnv=1.
type Exec struct {
	Path string
	Args []string
	Env  []string
}

// Config is one run: one strategy, one observer, W writers and R readers on
// one target.
type Config struct {
	Strategy string
	Observer string        // a label for reports; the observation itself is Wrap, Trail or Attach
	Dir      string        // the run's directory; the target is Dir/target. Must exist.
	Writers  int           // writer processes
	Writes   int           // per writer, at most MaxWrites; 0 means until Duration
	Duration time.Duration // used when Writes is 0
	Size     int           // bytes per version, at most MaxSize
	Chunk    int           // bytes per write(2); 0 writes each version at once
	Readers  int           // reader processes
	Think    Think         // pause between a writer's writes
	Self     Exec          // how to start a writer or reader process
	Wrap     []string      // a command writers run under, e.g. strace -f -o /dev/null
	Trail    string        // the run's trail: every writer appends to it, or Attach writes it; "" leaves none
	Attach   Attach        // an observer outside the writers, e.g. an eBPF recorder; nil for none

	// Progress, when set, is called about five times a second with what
	// has been measured so far.
	Progress func(Progress)
}

// Attach starts observing the writer processes pids, writing what it sees
// to the trail file, and returns a function that stops it and reports any
// error it met. Run calls it when every process is running and before any
// writes, and stops it once the writers are done.
type Attach func(ctx context.Context, pids []int, trail string) (stop func() error, err error)

// Progress is a running count for a live display.
type Progress struct {
	Writes, Corrupt int
	Elapsed         time.Duration
	Total           int           // writes expected in all, 0 when running for a duration
	Duration        time.Duration // the duration when running for one
}

// A Corruption is one write seen corrupt: the first corrupt version whose
// header claims that write, whoever saw it first. A write that a reader
// saw at several stages (1 KiB, 2 KiB, … of an in-place write) counts
// once, so corruptions never outnumber writes. A version without a
// readable header (an empty file, a zeroed header) counts once per
// distinct content.
type Corruption struct {
	Version string    // content id: the first 12 hex digits of its SHA-256
	Claims  string    // the write its header names, "w3#42"; "" without a header
	Kind    Kind      // Empty, Truncated or Spliced
	Reason  string    // Validate's one-line reason
	Explain string    // where its bytes came from, e.g. "0-2047 w1#5 | 2048-4095 zeros"
	Sources []string  // the versions whose bytes it holds, e.g. ["w1#5", "w2#5"]
	Size    int       // bytes
	At      time.Time // when it was first seen
	SeenBy  string    // "reader 1", or "writer 3 after its write"
	File    string    // the saved bytes, in Dir (gone unless the directory is kept)

	// Finding is the analyze finding that explains it, set by Explain.
	Finding *analyze.Finding
}

// Result is what one run measured.
type Result struct {
	Strategy, Observer string
	Writers            int
	Writes             int // replaces attempted, failed ones included
	// Failed counts replaces that returned an error of the system (a full
	// disk, a permission), FirstErr the first of them. A strategy that
	// works never fails; a run with failures did not measure what it says.
	Failed   int
	FirstErr string
	// Collided counts renames that found their temp gone because another
	// writer with the same temp name renamed (or, failing, removed) it
	// first: the race itself,
	// not a failure (strategies timestamp and millis).
	Collided        int
	Reads, Versions int // reads by readers, and distinct versions they saw
	Elapsed         time.Duration
	Corrupt         []Corruption
	// Predicted holds analyze's predictions from the run's trail (Explain
	// fills it): races the run could have had, though it may have had none.
	Predicted     []*analyze.Finding
	PIDs          map[int]int // writer id → pid, to match trail lines to versions
	Target, Trail string
	Interrupted   bool
}

// Run starts the readers and writers of one run, releases them together,
// and collects what they report until the writers finish (or ctx ends:
// then every process group is killed and Run returns what was measured,
// with Interrupted set).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if !ValidStrategy(cfg.Strategy) {
		return nil, fmt.Errorf("stress: unknown strategy %q (want one of %v)", cfg.Strategy, Strategies)
	}
	switch {
	case cfg.Writers < 1 || cfg.Readers < 0 || cfg.Writes < 0 || cfg.Writes == 0 && cfg.Duration <= 0:
		return nil, fmt.Errorf("stress: need at least one writer and a number of writes or a duration")
	case cfg.Writers > MaxWriters || cfg.Writes > MaxWrites || cfg.Size > MaxSize:
		return nil, fmt.Errorf("stress: %d writers, %d writes each, %d bytes: want at most %d, %d and %d", cfg.Writers, cfg.Writes, cfg.Size, MaxWriters, MaxWrites, MaxSize)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("stress: directory %s: %w", cfg.Dir, err)
	}
	target := filepath.Join(dir, "target")
	// The initial version is valid, so readers never see a missing file.
	if err := os.WriteFile(target, Content(0, 0, cfg.Size), 0o644); err != nil {
		return nil, fmt.Errorf("stress: create target: %w", err)
	}
	r := &run{cfg: cfg, res: &Result{
		Strategy: cfg.Strategy, Observer: cfg.Observer, Writers: cfg.Writers,
		Target: target, Trail: cfg.Trail, PIDs: map[int]int{},
	}, msgs: make(chan childMsg, 256), seen: map[string]bool{}, progress: map[*child]message{}}
	defer r.finish()
	return r.execute(ctx, target)
}

type run struct {
	cfg      Config
	res      *Result
	msgs     chan childMsg
	children []*child
	seen     map[string]bool // corruptions already counted, see Corruption
	progress map[*child]message
	// stopObserver stops Config.Attach's observer; nil without one or
	// once stopped.
	stopObserver func() error
	began        time.Time // when the processes were released; zero before
}

type child struct {
	role    string
	id      int
	cmd     *exec.Cmd
	stdin   io.WriteCloser // closing it stops a reader, or a writer running for a duration
	stderr  bytes.Buffer
	done    bool          // sent its "done" message
	exited  chan struct{} // closed once the process is reaped
	waitErr error         // set before exited is closed
	eofSeen bool          // the collector received this child's eof
}

type childMsg struct {
	c   *child
	msg message
	eof bool // stdout closed: the process has exited or is exiting
}

// execute runs the phases of a run in order: start every process, wait
// until each has said hello, attach the observer, release the writers and
// collect until they are done, stop the observer, stop and collect the
// readers, reap, and check the version left on disk. When ctx ends, in
// whichever phase, the run ends the same way (see interrupted).
func (r *run) execute(ctx context.Context, target string) (*Result, error) {
	barrierR, barrierW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stress: barrier pipe: %w", err)
	}
	defer barrierW.Close()
	err = r.startAll(target, barrierR)
	barrierR.Close()
	if err != nil {
		return nil, err
	}
	if err := r.awaitHellos(ctx); err != nil {
		return r.interrupted(err)
	}
	if err := r.attach(ctx); err != nil {
		return nil, err
	}
	r.began = time.Now()
	barrierW.Close() // releases every process at once
	if err := r.collectWriters(ctx); err != nil {
		return r.interrupted(err)
	}
	if err := r.stopObserving(); err != nil {
		return nil, err
	}
	if err := r.collectReaders(ctx); err != nil {
		return r.interrupted(err)
	}
	if err := r.reap(); err != nil {
		return nil, err
	}
	r.checkLast(target)
	r.sumProgress()
	r.report()
	return r.res, nil
}

// errInterrupted is what a phase returns when ctx ended during it.
var errInterrupted = errors.New("stress: interrupted")

// interrupted turns a phase's error into Run's result: an interruption
// returns what was measured so far, with the time since the release (none
// before it), and finish then kills every process; any other error is
// returned as is.
func (r *run) interrupted(err error) (*Result, error) {
	if !errors.Is(err, errInterrupted) {
		return nil, err
	}
	r.res.Interrupted = true
	if !r.began.IsZero() && r.res.Elapsed == 0 {
		r.res.Elapsed = time.Since(r.began)
	}
	r.sumProgress()
	return r.res, nil
}

// startAll starts the readers, then the writers, each holding the read end
// of the barrier pipe, which stays shut until execute releases them.
func (r *run) startAll(target string, barrier *os.File) error {
	cfg := r.cfg
	base := spec{Target: target, Size: cfg.Size, Chunk: cfg.Chunk, Strategy: cfg.Strategy, Think: cfg.Think.String()}
	if cfg.Attach == nil {
		base.Trail = cfg.Trail
	}
	start := func(role string, id int, wrap []string) error {
		s := base
		s.Role, s.ID = role, id
		if role == "writer" {
			s.Writes = cfg.Writes
		}
		c, err := r.start(s, wrap, barrier)
		if err != nil {
			return err
		}
		r.children = append(r.children, c)
		return nil
	}
	for i := 1; i <= cfg.Readers; i++ {
		if err := start("reader", i, nil); err != nil {
			return err
		}
	}
	for i := 1; i <= cfg.Writers; i++ {
		if err := start("writer", i, cfg.Wrap); err != nil {
			return err
		}
	}
	return nil
}

// awaitHellos releases nobody until every process said hello: a process
// still starting up (or being set up by strace) would start late. It
// records each writer's pid.
func (r *run) awaitHellos(ctx context.Context) error {
	for hellos := 0; hellos < len(r.children); {
		select {
		case m := <-r.msgs:
			if m.eof {
				m.c.eofSeen = true
				return r.childFailed(m.c)
			}
			if m.msg.T == "hello" {
				hellos++
				if m.c.role == "writer" {
					r.res.PIDs[m.c.id] = m.msg.PID
				}
			}
		case <-ctx.Done():
			return errInterrupted
		}
	}
	return nil
}

// attach starts Config.Attach's observer on the writers' pids.
func (r *run) attach(ctx context.Context) error {
	if r.cfg.Attach == nil {
		return nil
	}
	var pids []int
	for _, pid := range r.res.PIDs {
		pids = append(pids, pid)
	}
	var err error
	if r.stopObserver, err = r.cfg.Attach(ctx, pids, r.cfg.Trail); err != nil {
		return fmt.Errorf("stress: observer %s: %w", r.cfg.Observer, err)
	}
	return nil
}

// collectWriters takes messages until every writer is done, stopping the
// writers when a run for a duration ends, and reports progress.
func (r *run) collectWriters(ctx context.Context) error {
	var deadline <-chan time.Time
	if r.cfg.Writes == 0 {
		t := time.NewTimer(r.cfg.Duration)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for writersLeft := r.cfg.Writers; writersLeft > 0; {
		select {
		case m := <-r.msgs:
			ended, err := r.take(m)
			if err != nil {
				return err
			}
			if ended && m.c.role == "writer" {
				writersLeft--
			}
		case <-deadline:
			deadline = nil
			r.stop("writer")
		case <-tick.C:
			r.report()
		case <-ctx.Done():
			return errInterrupted
		}
	}
	r.res.Elapsed = time.Since(r.began)
	return nil
}

// stopObserving stops the observer once the writers are done, so that its
// error is the run's.
func (r *run) stopObserving() error {
	stop := r.stopObserver
	if stop == nil {
		return nil
	}
	r.stopObserver = nil
	if err := stop(); err != nil {
		return fmt.Errorf("stress: observer %s: %w", r.cfg.Observer, err)
	}
	return nil
}

// collectReaders stops the readers and takes their last reports.
func (r *run) collectReaders(ctx context.Context) error {
	r.stop("reader")
	for readersLeft := r.cfg.Readers; readersLeft > 0; {
		select {
		case m := <-r.msgs:
			ended, err := r.take(m)
			if err != nil {
				return err
			}
			if ended {
				readersLeft--
			}
		case <-ctx.Done():
			return errInterrupted
		}
	}
	return nil
}

// reap waits for every process to exit and fails on any that failed.
func (r *run) reap() error {
	for _, c := range r.children {
		<-c.exited
		if c.waitErr != nil {
			return r.childFailed(c)
		}
	}
	return nil
}

// checkLast validates the version left on disk, which no reader may have
// seen.
func (r *run) checkLast(target string) {
	b, err := os.ReadFile(target)
	if err != nil {
		return
	}
	if v := Validate(b); v.Kind != Valid {
		r.addCorrupt(message{Version: versionID(b), Claims: v.claims(), Kind: v.Kind.String(), Reason: v.Reason, Explain: v.Explain(),
			Sources: v.Sources(), Size: len(b), At: time.Now().UnixNano()}, "heisen at the end")
	}
}

// start launches one child. Each child leads its own process group so
// that killing the group also kills what a wrapper like strace started.
func (r *run) start(s spec, wrap []string, barrier *os.File) (*child, error) {
	arg, _ := json.Marshal(s)
	self := r.cfg.Self
	argv := append(append([]string{}, self.Args...), string(arg))
	cmd := &exec.Cmd{Path: self.Path, Args: argv}
	if len(wrap) > 0 {
		path, err := exec.LookPath(wrap[0])
		if err != nil {
			return nil, fmt.Errorf("stress: observer %s: %w", wrap[0], err)
		}
		cmd = &exec.Cmd{Path: path, Args: append(append(append([]string{}, wrap...), self.Path), argv[1:]...)}
	}
	cmd.Env = append(os.Environ(), self.Env...)
	cmd.ExtraFiles = []*os.File{barrier}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &child{role: s.Role, id: s.ID, cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = &limitedBuffer{b: &c.stderr, max: 8 << 10}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stress: %s %d: stdout pipe: %w", s.Role, s.ID, err)
	}
	if s.Role == "reader" || s.Writes == 0 {
		if c.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, fmt.Errorf("stress: %s %d: stdin pipe: %w", s.Role, s.ID, err)
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("stress: start %s %d (%s): %w", s.Role, s.ID, cmd.Path, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var m message
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				if m.T == "done" {
					c.done = true // read by the collector only after eof below
				}
				r.msgs <- childMsg{c: c, msg: m}
			}
		}
		c.waitErr = cmd.Wait()
		close(c.exited)
		r.msgs <- childMsg{c: c, eof: true}
	}()
	return c, nil
}

// take handles one message once every process runs. It reports whether
// the message is a child's end of output, which is an error unless the
// child said it was done.
func (r *run) take(m childMsg) (ended bool, err error) {
	if !m.eof {
		r.handle(m)
		return false, nil
	}
	m.c.eofSeen = true
	if !m.c.done {
		return false, r.childFailed(m.c)
	}
	return true, nil
}

func (r *run) handle(m childMsg) {
	switch m.msg.T {
	case "progress", "done":
		r.progress[m.c] = m.msg
	case "corrupt":
		who := fmt.Sprintf("%s %d", m.c.role, m.c.id)
		if m.c.role == "writer" {
			who += " after its write"
		}
		r.addCorrupt(m.msg, who)
	}
}

func (r *run) addCorrupt(m message, who string) {
	key := m.Claims
	if key == "" {
		key = m.Version
	}
	if r.seen[key] {
		return
	}
	r.seen[key] = true
	kind := Spliced
	for k := Empty; k <= Spliced; k++ {
		if k.String() == m.Kind {
			kind = k
		}
	}
	r.res.Corrupt = append(r.res.Corrupt, Corruption{
		Version: m.Version, Claims: m.Claims, Kind: kind, Reason: m.Reason, Explain: m.Explain, Sources: m.Sources,
		Size: m.Size, At: time.Unix(0, m.At), SeenBy: who, File: m.File,
	})
}

// sumProgress totals the latest counts of every child into the result.
func (r *run) sumProgress() {
	r.res.Writes, r.res.Failed, r.res.Collided, r.res.Reads, r.res.Versions = 0, 0, 0, 0, 0
	for c, m := range r.progress {
		if c.role == "writer" {
			r.res.Writes += m.N
			r.res.Failed += m.Failed
			r.res.Collided += m.Collided
			if r.res.FirstErr == "" {
				r.res.FirstErr = m.FirstErr
			}
		} else {
			r.res.Reads += m.N
			r.res.Versions += m.Seen
		}
	}
}

func (r *run) report() {
	if r.cfg.Progress == nil {
		return
	}
	r.sumProgress()
	p := Progress{Writes: r.res.Writes, Corrupt: len(r.res.Corrupt), Elapsed: time.Since(r.began)}
	if r.cfg.Writes > 0 {
		p.Total = r.cfg.Writes * r.cfg.Writers
	} else {
		p.Duration = r.cfg.Duration
	}
	r.cfg.Progress(p)
}

// stop asks every child of role to finish by closing its stdin; it then
// sends its last counts and exits.
func (r *run) stop(role string) {
	for _, c := range r.children {
		if c.role == role && c.stdin != nil {
			c.stdin.Close()
		}
	}
}

func (r *run) childFailed(c *child) error {
	<-c.exited
	err := c.waitErr
	if err == nil {
		err = errors.New("exited before reporting its counts")
	}
	// The child's own message names it already ("stress writer 1: …").
	msg := bytes.TrimPrefix(bytes.TrimSpace(c.stderr.Bytes()), fmt.Appendf(nil, "stress %s %d: ", c.role, c.id))
	return fmt.Errorf("stress: %s %d: %w: %s", c.role, c.id, err, msg)
}

// finish kills the process group of every child still running and waits
// until each is reaped and its output drained, so that no process or
// goroutine outlives Run.
func (r *run) finish() {
	if r.stopObserver != nil {
		r.stopObserver() // an interrupted run: keep what the observer saw
	}
	left := 0
	for _, c := range r.children {
		select {
		case <-c.exited:
		default:
			syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		}
		if !c.eofSeen {
			left++
		}
	}
	for ; left > 0; left-- {
		for m := <-r.msgs; !m.eof; m = <-r.msgs {
		}
	}
}

// limitedBuffer keeps the first max bytes of a child's stderr.
type limitedBuffer struct {
	mu  sync.Mutex
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
