package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/stress"
	"github.com/heisen-dev/heisen/trail"
)

const demoAbout = `Tell the story of the bug that only existed when nobody was watching, with
real processes, in seconds (2 to 8 on a 2-core machine, depending on its load):

  1. 4 writer processes replace one file the story's way, with the temp name
     target.<unix seconds>.tmp, until a reader catches a corrupt version;
  2. the trail the writers left shows two of them opening the same temp name
     in the same second;
  3. heisen analyze names the race from the trail alone;
  4. the fix (target.<pid>.<random hex>.tmp) and atomicfile replace the file
     as many times with no corruption.

It needs nothing but Go: no strace, no root.`

// The demo's workload: enough writes per run that a collision in the same
// second is all but certain, few enough that a run takes a second or two.
const (
	demoWriters = 4
	demoWrites  = 250 // per writer and run
	demoTries   = 8   // timestamp runs before giving up on a telling corruption
	demoSize    = 4096
	demoChunk   = 1024
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", "", demoAbout, stderr)
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "demo", "unexpected argument %q: demo takes no arguments", fs.Arg(0))
	}
	self, err := selfExec()
	if err != nil {
		fmt.Fprintf(stderr, "heisen demo: %v\n", err)
		return exitFail
	}
	dir, err := os.MkdirTemp("", "heisen-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "heisen demo: create run directory: %v\n", err)
		return exitFail
	}
	defer os.RemoveAll(dir)
	d := &demo{ctx: ctx, out: stdout, st: newStyle(stdout), live: newLiveLine(stderr), dir: dir, self: self}
	code := d.run()
	d.live.clear()
	return code
}

type demo struct {
	ctx  context.Context
	out  io.Writer
	st   style
	live *liveLine
	dir  string
	self stress.Exec
	runs int
}

func (d *demo) printf(format string, a ...any) { fmt.Fprintf(d.out, format, a...) }

// config is one run of strategy, with the writers leaving a trail.
func (d *demo) config(strategy string, writes int) (stress.Config, error) {
	d.runs++
	run := filepath.Join(d.dir, fmt.Sprintf("%d-%s", d.runs, strategy))
	if err := os.Mkdir(run, 0o755); err != nil {
		return stress.Config{}, err
	}
	return stress.Config{
		Strategy: strategy, Observer: "trail", Dir: run,
		Writers: demoWriters, Writes: writes, Size: demoSize, Chunk: demoChunk, Readers: 1,
		Self: d.self, Trail: filepath.Join(run, "trail.jsonl"),
		Progress: func(p stress.Progress) { d.live.show(strategy, p) },
	}, nil
}

// run tells the story in its four steps; each step prints its part and
// the first that cannot go on returns the exit code.
func (d *demo) run() int {
	d.intro()
	got, code := d.catch()
	if got == nil {
		return code
	}
	if err := d.showTrail(got); err != nil {
		return d.fail(err)
	}
	d.diagnose(got)
	return d.fix(got.sum)
}

// caught is what step 1 found: the story's runs summed, the corrupt
// version that tells the story best and the run that saw it.
type caught struct {
	sum *stress.Summary
	c   *stress.Corruption
	run *stress.Result
}

func (d *demo) intro() {
	st := d.st
	d.printf("%s\n\n", st.bold("heisen demo: the bug that only existed when nobody was watching"))
	d.printf("A service replaced a file the \"safe\" way, a temp file renamed over the target,\n")
	d.printf("and once in a few thousand runs the target came out spliced. The temp name:\n\n")
	d.printf("    tmp = f\"{target}.{int(time.time())}.tmp\"    %s\n\n", st.dim("# whole seconds, opened with O_TRUNC"))
}

// catch is step 1: the story's writer, run after run, until a reader
// catches a corrupt version that two colliding opens explain (or the
// tries run out). It returns nil and the exit code when there is nothing
// to tell.
func (d *demo) catch() (*caught, int) {
	st := d.st
	d.printf("%s %d processes × %d replaces, a reader checks each version\n",
		st.bold("1. The story's writer."), demoWriters, demoWrites)
	got := &caught{sum: &stress.Summary{}}
	for try := 1; try <= demoTries; try++ {
		res, err := d.stress("timestamp", demoWrites)
		if err != nil || res == nil {
			return nil, d.fail(err)
		}
		if _, err := stress.Explain(res); err != nil {
			return nil, d.fail(err)
		}
		got.sum.Add(res)
		if c := telling(res); c != nil {
			got.c, got.run = c, res
			if stress.CollidingOpens(c, res.PIDs) != nil {
				break
			}
		}
		if d.ctx.Err() != nil {
			break
		}
	}
	if d.ctx.Err() != nil {
		return nil, d.interrupted(got.sum)
	}
	if got.c == nil {
		d.printf("   %s in %d writes: this machine did not collide. Run it again, or try\n", st.red("no corruption"), got.sum.Writes)
		d.printf("   heisen stress --strategy timestamp --writers 8\n")
		return nil, exitFail
	}
	d.printf("   %s after %d writes: %s, %.1f per 1,000 writes\n\n",
		st.red("caught"), got.sum.Writes, plural(len(got.sum.Corrupt), "corrupt version"), got.sum.Rate())
	d.printf("   version %s (%d bytes, seen by %s) is %s:\n", got.c.Version, got.c.Size, got.c.SeenBy, st.red(got.c.Kind.String()))
	d.printBytes(got.c, got.run.PIDs)
	return got, exitOK
}

// showTrail is step 2: the two trail lines of the writers that opened the
// same temp name, as written.
func (d *demo) showTrail(got *caught) error {
	st := d.st
	pair := stress.CollidingOpens(got.c, got.run.PIDs)
	d.printf("\n%s Every writer logged the open of its temp file and its rename.\n", st.bold("2. The trail."))
	if len(pair) != 2 {
		d.printf("   (the finding for this version has no two opens of one name; see step 3)\n")
		return nil
	}
	runDir := filepath.Dir(got.run.Target)
	d.printf("   Two writers opened the same temp name %s apart:\n\n", pair[1].TS.Sub(pair[0].TS).Round(time.Microsecond))
	for _, e := range pair {
		d.printf("     %s  pid %-6d %s %-24s inode %d  %s\n", e.TS.UTC().Format("15:04:05.000000"), e.PID, e.Op,
			filepath.Base(e.Path), e.Ino, st.dim(fmt.Sprintf("trail.jsonl:%d", e.Pos.Line)))
	}
	if sec, ok := unixSecondsIn(filepath.Base(pair[0].Path)); ok {
		d.printf("\n   %d is %s UTC in Unix seconds: every writer starting a write in\n", sec, time.Unix(sec, 0).UTC().Format("15:04:05"))
		d.printf("   that second computes the same name, and O_TRUNC lets each trample the other.\n")
	}
	lines, err := trailLines(got.run.Trail, pair[0].Pos.Line, pair[1].Pos.Line)
	if err != nil {
		return err
	}
	d.printf("\n   The two lines as written (%s):\n", st.dim("$DIR is "+runDir))
	for _, l := range lines {
		d.printf("   %s\n", strings.ReplaceAll(l, runDir, "$DIR"))
	}
	return nil
}

// diagnose is step 3: the finding analyze gives from the trail alone, and
// the HTML report.
func (d *demo) diagnose(got *caught) {
	st := d.st
	d.printf("\n%s heisen analyze, reading only the trail, says:\n", st.bold("3. The diagnosis."))
	if f := got.c.Finding; f != nil {
		d.printf("   %s %s\n", st.red(f.Severity.String()), st.bold(string(f.Kind)))
		d.printf("%s\n", wrap(shorten(f.Message, filepath.Dir(got.run.Target)), "     ", 80))
		if f.Note != "" {
			d.printf("%s\n", st.dim(wrap(f.Note, "     ", 80)))
		}
	} else {
		d.printf("   no finding explains this version (a trail line lost, or a race analyze does not know)\n")
	}
	d.printf("   %d of the %s are explained by a finding like this one.\n", got.sum.Explained,
		plural(len(got.sum.Corrupt), "corrupt version"))
	if html, err := writeDemoReport(got.run.Trail); err != nil {
		d.printf("   (no HTML report: %v)\n", err)
	} else {
		d.printf("   The picture, with a timeline of every finding: %s\n", html)
	}
}

// fix is step 4: as many writes with a name unique per process and call,
// and with atomicfile, then the table of all three. It fails when a fixed
// strategy corrupted.
func (d *demo) fix(ts *stress.Summary) int {
	st := d.st
	per := ts.Writes / demoWriters
	d.printf("\n%s The same %d writes with a name unique per process and call,\n", st.bold("4. The fix."), ts.Writes)
	d.printf("   tmp = f\"{target}.{os.getpid()}.{uuid4().hex}.tmp\", and with atomicfile:\n")
	cells := []*stress.Summary{ts}
	for _, s := range []string{"uuid", "atomicfile"} {
		res, err := d.stress(s, per)
		if err != nil || res == nil {
			return d.fail(err)
		}
		if _, err := stress.Explain(res); err != nil {
			return d.fail(err)
		}
		sum := &stress.Summary{}
		sum.Add(res)
		cells = append(cells, sum)
		verdict := st.green("no corruption")
		if len(sum.Corrupt) > 0 {
			verdict = st.red(fmt.Sprintf("%d corrupt", len(sum.Corrupt)))
		}
		d.printf("   %-10s %d writes, %d distinct versions checked by the reader: %s\n", s, sum.Writes, res.Versions, verdict)
		if d.ctx.Err() != nil {
			return d.interrupted(cells...)
		}
	}
	d.printf("\n")
	printTable(d.out, cells)
	d.printf("\n%s\n", st.dim("Rates are corrupt writes per 1,000 with a 95% Wilson interval. Measure more:\n  heisen stress --strategy timestamp,pid,millis,inplace,uuid,atomicfile --observe none,strace,trail"))
	for _, c := range cells[1:] {
		if len(c.Corrupt) > 0 {
			return exitFail
		}
	}
	return exitOK
}

// stress runs one strategy with the live line, clearing it afterwards.
func (d *demo) stress(strategy string, writes int) (*stress.Result, error) {
	cfg, err := d.config(strategy, writes)
	if err != nil {
		return nil, err
	}
	res, err := stress.Run(d.ctx, cfg)
	d.live.clear()
	return res, err
}

// telling picks the corruption that tells the story best: spliced from
// two writers and explained, then any explained one, then any.
func telling(r *stress.Result) *stress.Corruption {
	var best *stress.Corruption
	score := func(c *stress.Corruption) int {
		s := 0
		if c.Finding != nil {
			s += 2
		}
		if len(c.Sources) >= 2 && c.Kind == stress.Spliced {
			s += 3
		}
		if stress.CollidingOpens(c, r.PIDs) != nil {
			s++
		}
		return s
	}
	for i := range r.Corrupt {
		if c := &r.Corrupt[i]; best == nil || score(c) > score(best) {
			best = c
		}
	}
	return best
}

// printBytes shows where the bytes of a corrupt version came from.
func (d *demo) printBytes(c *stress.Corruption, pids map[int]int) {
	if c.Kind == stress.Empty {
		d.printf("     0 bytes: a writer's O_TRUNC emptied the file another had just renamed in\n")
		return
	}
	for _, seg := range strings.Split(c.Explain, " | ") {
		rng, src, _ := strings.Cut(seg, " ")
		who := src
		name := strings.TrimPrefix(src, "header ")
		var w, n int
		if _, err := fmt.Sscanf(name, "w%d#%d", &w, &n); err == nil && pids[w] != 0 {
			who = fmt.Sprintf("%s: writer %d (pid %d), its write %d", src, w, pids[w], n)
		}
		d.printf("     bytes %-10s %s\n", rng, who)
	}
	d.printf("     %s\n", d.st.dim(c.Reason))
}

func (d *demo) fail(err error) int {
	d.live.clear()
	if err == nil {
		err = d.ctx.Err()
	}
	if d.ctx.Err() != nil {
		return exitInterrupted
	}
	fmt.Fprintf(os.Stderr, "heisen demo: %v\n", err)
	return exitFail
}

func (d *demo) interrupted(cells ...*stress.Summary) int {
	d.printf("\ninterrupted; measured so far:\n")
	printTable(d.out, cells)
	return exitInterrupted
}

// trailLines returns the given lines (1-based, ascending) of a trail file
// exactly as written.
func trailLines(path string, lines ...int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read trail: %w", err)
	}
	defer f.Close()
	want := map[int]int{}
	for i, l := range lines {
		want[l] = i
	}
	out := make([]string, len(lines))
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, trail.MaxLine), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if i, ok := want[n]; ok {
			out[i] = sc.Text()
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read trail: %w", err) // it names the file
	}
	return out, nil
}

// wrap breaks text into lines of at most width columns (longer words stay
// whole), each starting with indent.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	b.WriteString(line)
	return b.String()
}

// unixSecondsIn finds the Unix time in seconds in a temp name like
// target.1795612526.tmp.
func unixSecondsIn(name string) (int64, bool) {
	for _, part := range strings.Split(name, ".") {
		if n, err := strconv.ParseInt(part, 10, 64); err == nil && len(part) == 10 {
			return n, true
		}
	}
	return 0, false
}

func shorten(s, dir string) string { return strings.ReplaceAll(s, dir, "$DIR") }

// style adds emphasis on a terminal that wants colour (NO_COLOR unset).
type style struct{ on bool }

func newStyle(w io.Writer) style {
	return style{on: colorful(w)}
}

func (s style) wrap(code, t string) string {
	if !s.on {
		return t
	}
	return "\033[" + code + "m" + t + "\033[0m"
}

func (s style) bold(t string) string  { return s.wrap("1", t) }
func (s style) dim(t string) string   { return s.wrap("2", t) }
func (s style) red(t string) string   { return s.wrap("31", t) }
func (s style) green(t string) string { return s.wrap("32", t) }
