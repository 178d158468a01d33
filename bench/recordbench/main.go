// Command recordbench measures what heisen record costs the programs it
// watches, against strace, on a file-syscall-heavy workload: several
// processes each replacing their own file in a loop (open O_CREAT|O_EXCL,
// 8 writes of 512 bytes, close, rename), timed by the workers themselves.
// Variants run interleaved, in a rotated order each round; it prints the
// median worker time of each and its ratio to the untraced run.
//
// It also measures what heisen record adds to each kind of call of a
// chunked replace (open, write, close, rename), the time from starting
// heisen record to the first recorded event, whether any event is lost at
// a sustained 200,000 events/s, with the kernel's per-run cost of each
// probe, and how each observer moves the corruption rate of heisen
// stress's timestamp strategy (the story's bug), pooled over several
// interleaved stress plans. Given
// several heisen binaries (-heisen OLD,NEW), the per-call, latency and rate parts
// run them interleaved, so that two builds are compared under the same
// machine state.
//
// Usage: see bench/record.sh.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/stats"
	"github.com/heisen-dev/heisen/record"
	"github.com/heisen-dev/heisen/record/bpf"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "worker":
			worker(os.Args[2:])
			return
		case "workload":
			workload(os.Args[2:])
			return
		case "pace":
			pace(os.Args[2:])
			return
		case "calls":
			calls(os.Args[2:])
			return
		case "touch":
			if err := os.WriteFile(os.Args[2], nil, 0o644); err != nil {
				die(err)
			}
			return
		}
	}
	heisen := flag.String("heisen", "heisen", "the heisen binary; a comma list compares them in the per-call, latency and rate parts")
	dir := flag.String("dir", os.TempDir(), "directory for the workload's files")
	rounds := flag.Int("rounds", 7, "interleaved rounds")
	procs := flag.Int("procs", 4, "worker processes")
	n := flag.Int("n", 3000, "replaces per worker")
	rate := flag.Int("rate", 200000, "events/s for the loss test")
	plans := flag.Int("plans", 8, "heisen stress plans for the corruption rate (0: skip)")
	writes := flag.Int("writes", 6000, "replaces per stress worker and observer in each plan")
	observers := flag.String("observers", "none,record,strace", "stress observers, unobserved first")
	callsDir := flag.String("calls-dir", "/dev/shm", "directory for the per-call part (tmpfs: no file-system cost to drown the probes')")
	parts := flag.String("parts", "overhead,calls,latency,load,loss,rates", "parts to run, comma list")
	flag.Parse()
	self, err := os.Executable()
	if err != nil {
		die(err)
	}
	work, err := os.MkdirTemp(*dir, "recordbench")
	if err != nil {
		die(err)
	}
	defer os.RemoveAll(work)

	heisens := strings.Split(*heisen, ",")
	run := func(part string) bool { return slices.Contains(strings.Split(*parts, ","), part) }
	if run("overhead") {
		overhead(self, heisens[0], work, *rounds, *procs, *n)
	}
	if run("calls") {
		perCall(self, heisens, *callsDir, *rounds)
	}
	if run("latency") {
		latency(self, heisens, work, *rounds)
	}
	if run("load") {
		loadTimes(*rounds)
	}
	if run("loss") {
		loss(self, heisens[0], work, *rate)
	}
	if run("rates") && *plans > 0 {
		rates(heisens, work, *plans, *writes, *observers)
	}
}

// callOps are the calls of one chunked replace, as calls times them, and
// the reads of the target after it.
var callOps = []string{"open", "write", "close", "rename", "read"}

// calls does n chunked replaces in DIR (open O_CREAT|O_TRUNC, 4 writes of
// 1 KiB, close, rename over the target), each followed by 4 reads of 1 KiB
// of the target (its open and close not timed), and prints each call
// kind's median latency in ns, in callOps order.
func calls(args []string) {
	dir := args[0]
	n, _ := strconv.Atoi(args[1])
	lat := make([][]float64, len(callOps))
	timed := func(op int, f func() error) {
		start := time.Now()
		if err := f(); err != nil {
			die(fmt.Errorf("%s: %w", callOps[op], err))
		}
		lat[op] = append(lat[op], float64(time.Since(start).Nanoseconds()))
	}
	buf := make([]byte, 1024)
	target := filepath.Join(dir, "target")
	for i := range n {
		tmp := fmt.Sprintf("%s.%d.tmp", target, i)
		var fd int
		timed(0, func() (err error) {
			fd, err = unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
			return err
		})
		for range 4 {
			timed(1, func() error { _, err := unix.Write(fd, buf); return err })
		}
		timed(2, func() error { return unix.Close(fd) })
		timed(3, func() error { return unix.Rename(tmp, target) })
		rd, err := unix.Open(target, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			die(err)
		}
		for range 4 {
			timed(4, func() error { _, err := unix.Read(rd, buf); return err })
		}
		unix.Close(rd)
	}
	for _, l := range lat {
		fmt.Printf("%.0f ", stats.Median(l))
	}
	fmt.Println()
}

// perCall runs calls untraced and under each heisen, interleaved, and
// prints the median over rounds of each call kind's median latency and
// what each heisen adds to it.
func perCall(self string, heisens []string, parent string, rounds int) {
	dir, err := os.MkdirTemp(parent, "recordbench-calls")
	if err != nil {
		die(err)
	}
	defer os.RemoveAll(dir)
	const n = "5000"
	variants := append([]string{"untraced"}, heisens...)
	med := make([][][]float64, len(variants)) // variant, op, round
	for i := range med {
		med[i] = make([][]float64, len(callOps))
	}
	for range rounds {
		for i, v := range variants {
			argv := []string{self, "calls", dir, n}
			if v != "untraced" {
				argv = append([]string{v, "record", "-o", "/dev/null", "--path", dir, "--"}, argv...)
			}
			out, err := exec.Command(argv[0], argv[1:]...).Output()
			if err != nil {
				die(fmt.Errorf("calls under %s: %w", v, err))
			}
			for op, f := range strings.Fields(string(out)) {
				ns, _ := strconv.ParseFloat(f, 64)
				med[i][op] = append(med[i][op], ns)
			}
		}
	}
	fmt.Printf("== per call of a chunked replace in %s (median over %d rounds of each run's median, µs; + is added by heisen record)\n", parent, rounds)
	fmt.Printf("%-8s %9s", "call", "untraced")
	for _, h := range heisens {
		fmt.Printf("  %s", h)
	}
	fmt.Println()
	for op, name := range callOps {
		base := stats.Median(med[0][op])
		fmt.Printf("%-8s %9.2f", name, base/1000)
		for i := range heisens {
			fmt.Printf("  %+.2f", (stats.Median(med[i+1][op])-base)/1000)
		}
		fmt.Println()
	}
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "recordbench:", err)
	os.Exit(1)
}

// worker does n replaces of DIR/w<id> and prints its own elapsed time in ns.
func worker(args []string) {
	dir, id := args[0], args[2]
	n, _ := strconv.Atoi(args[1])
	buf := bytes.Repeat([]byte(id[:1]), 512)
	target := filepath.Join(dir, "w"+id)
	start := time.Now()
	for i := range n {
		tmp := fmt.Sprintf("%s.%d.tmp", target, i)
		fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
		if err != nil {
			die(err)
		}
		for range 8 {
			if _, err := unix.Write(fd, buf); err != nil {
				die(err)
			}
		}
		unix.Close(fd)
		if err := unix.Rename(tmp, target); err != nil {
			die(err)
		}
	}
	fmt.Println(time.Since(start).Nanoseconds())
}

// workload starts procs workers and prints the mean of their own times.
func workload(args []string) {
	dir, n := args[0], args[1]
	procs, _ := strconv.Atoi(args[2])
	self, _ := os.Executable()
	var outs []*bytes.Buffer
	var cmds []*exec.Cmd
	for i := range procs {
		var b bytes.Buffer
		c := exec.Command(self, "worker", dir, n, strconv.Itoa(i))
		c.Stdout, c.Stderr = &b, os.Stderr
		if err := c.Start(); err != nil {
			die(err)
		}
		outs, cmds = append(outs, &b), append(cmds, c)
	}
	var sum int64
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			die(err)
		}
		v, err := strconv.ParseInt(strings.TrimSpace(outs[i].String()), 10, 64)
		if err != nil {
			die(fmt.Errorf("worker output %q: %w", outs[i], err))
		}
		sum += v
	}
	fmt.Println(sum / int64(procs))
}

type variant struct {
	name   string
	prefix func(trail string) []string
}

func overhead(self, heisen, dir string, rounds, procs, n int) {
	trail := filepath.Join(dir, "trail.jsonl")
	shmTrail := trail
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shmTrail = filepath.Join("/dev/shm", filepath.Base(dir)+".trail.jsonl")
		defer os.Remove(shmTrail)
	}
	variants := []variant{
		{"untraced", func(string) []string { return nil }},
		{"heisen record, trail on tmpfs", func(string) []string {
			return []string{heisen, "record", "-o", shmTrail, "--path", dir, "--"}
		}},
		{"heisen record, trail on disk", func(t string) []string {
			return []string{heisen, "record", "-o", t, "--path", dir, "--"}
		}},
		{"strace -f", func(string) []string {
			return []string{"strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=%file,write,close,fsync,fdatasync"}
		}},
		{"strace -f --seccomp-bpf", func(string) []string {
			return []string{"strace", "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null", "-e", "trace=%file,write,close,fsync,fdatasync"}
		}},
	}
	times := make([][]float64, len(variants))
	events := make([]int, 0, rounds)
	calls := make([]int, 0, rounds)
	fmt.Printf("== workload: %d processes x %d replaces (open, 8 x write 512 B, close, rename), %d rounds interleaved\n", procs, n, rounds)
	for r := range rounds {
		for k := range variants {
			i := (k + r) % len(variants)
			v := variants[i]
			wdir := filepath.Join(dir, "w")
			os.RemoveAll(wdir)
			if err := os.Mkdir(wdir, 0o755); err != nil {
				die(err)
			}
			argv := append(v.prefix(trail), self, "workload", wdir, strconv.Itoa(n), strconv.Itoa(procs))
			var out, errb bytes.Buffer
			c := exec.Command(argv[0], argv[1:]...)
			c.Stdout, c.Stderr = &out, &errb
			if err := c.Run(); err != nil {
				die(fmt.Errorf("%s: %w: %s", v.name, err, errb.String()))
			}
			ns, err := strconv.ParseFloat(strings.TrimSpace(lastLine(out.String())), 64)
			if err != nil {
				die(fmt.Errorf("%s: output %q", v.name, out.String()))
			}
			times[i] = append(times[i], ns/1e6)
			if strings.HasPrefix(v.name, "heisen record") {
				events = append(events, countLines(argv[3]))
				c := events[len(events)-1] // nothing coalesced: one event per call
				if m := callsRe.FindStringSubmatch(errb.String()); m != nil {
					c, _ = strconv.Atoi(m[1])
				}
				calls = append(calls, c)
				if m := lostRe.FindStringSubmatch(errb.String()); m != nil {
					fmt.Printf("   round %d: heisen record lost %s events\n", r, m[1])
				}
			}
		}
	}
	base := stats.Median(times[0])
	fmt.Printf("%-30s %10s %7s   %s\n", "variant", "median ms", "ratio", "all rounds (ms)")
	for i, v := range variants {
		m := stats.Median(times[i])
		fmt.Printf("%-30s %10.1f %6.2fx   %s\n", v.name, m, m/base, fmtAll(times[i]))
	}
	fmt.Printf("heisen record wrote %d events per run (median) for %d calls (the workload makes %d)\n",
		int(stats.Median(ints(events))), int(stats.Median(ints(calls))), procs*n*11)
}

// rates measures how each observer moves the corruption rate of the
// timestamp strategy. Every plan runs, for each heisen binary and each
// observer in turn, one heisen stress plan of that observer against the
// unobserved baseline (which stress interleaves in rounds), so that an
// observer is compared only with runs next to it and not with the
// aftermath of another, and two builds under the same machine state. It
// reports each observer's pooled rate against its pooled baseline, and the
// median and range of the per-plan ratios: the rate of a race drifts
// between runs on a loaded machine far more than one plan's interval says.
// With several builds, each after the first is also compared plan by plan
// with the first (the mean difference of their ratios and its standard
// error), and every plan's ratio is printed as it ends.
func rates(heisens []string, dir string, plans, writes int, observers string) {
	type cell struct {
		Observer string  `json:"observer"`
		Writes   int     `json:"writes"`
		Corrupt  int     `json:"corrupt"`
		Rate     float64 `json:"rate_per_1000"`
		Speed    float64 `json:"writes_per_s"`
	}
	type tally struct {
		corrupt, writes, baseCorrupt, baseWrites int
		ratios, speeds                           []float64
		byPlan                                   []float64 // each plan's ratio, NaN without corruption unobserved
	}
	names := strings.Split(observers, ",")
	base, names := names[0], names[1:]
	tallies := make([][]tally, len(heisens))
	for h := range tallies {
		tallies[h] = make([]tally, len(names))
	}
	fmt.Printf("== corruption rate: per plan, for each of %s: heisen stress --strategy timestamp --observe %s,OBSERVER --writers 4 --writes %d; %d plans\n",
		strings.Join(names, ", "), base, writes, plans)
	for plan := range plans {
		for h, heisen := range heisens {
			for i, n := range names {
				c := exec.Command(heisen, "stress", "--strategy", "timestamp", "--observe", base+","+n,
					"--writers", "4", "--writes", strconv.Itoa(writes), "--json", "--dir", filepath.Join(dir, "stress"))
				out, err := c.Output()
				if err != nil {
					die(fmt.Errorf("stress: %w", err))
				}
				os.RemoveAll(filepath.Join(dir, "stress"))
				cells := map[string]cell{}
				for line := range strings.Lines(string(out)) {
					var x cell
					if json.Unmarshal([]byte(line), &x) == nil && x.Observer != "" {
						cells[x.Observer] = x
					}
				}
				b, x := cells[base], cells[n]
				if b.Writes == 0 || x.Writes == 0 {
					die(fmt.Errorf("stress printed no %s or %s cell: %s", base, n, out))
				}
				t := &tallies[h][i]
				t.corrupt += x.Corrupt
				t.writes += x.Writes
				t.baseCorrupt += b.Corrupt
				t.baseWrites += b.Writes
				ratio := math.NaN()
				if b.Rate > 0 {
					ratio = x.Rate / b.Rate
					t.ratios = append(t.ratios, ratio)
				}
				t.byPlan = append(t.byPlan, ratio)
				fmt.Printf("plan %d, %s, %s: %.2fx\n", plan+1, heisen, n, ratio)
				if b.Speed > 0 {
					t.speeds = append(t.speeds, x.Speed/b.Speed)
				}
			}
		}
	}
	per1000 := func(c, w int) float64 { return 1000 * float64(c) / float64(w) }
	fmt.Printf("%-10s %18s %18s %8s %22s %7s\n", "observer", base+" per 1000", "observed per 1000", "pooled", "per-plan ratio", "speed")
	for h, heisen := range heisens {
		if len(heisens) > 1 {
			fmt.Printf("%s:\n", heisen)
		}
		for i, n := range names {
			t := tallies[h][i]
			if t.baseCorrupt == 0 || len(t.ratios) == 0 {
				fmt.Printf("%-10s no corruption unobserved: no ratio\n", n)
				continue
			}
			b, x := per1000(t.baseCorrupt, t.baseWrites), per1000(t.corrupt, t.writes)
			fmt.Printf("%-10s %8.2f (%6d) %8.2f (%6d) %7.2fx %7.2fx [%.2f, %.2f] %6.2fx\n", n, b, t.baseCorrupt, x, t.corrupt,
				x/b, stats.Median(t.ratios), slices.Min(t.ratios), slices.Max(t.ratios), stats.Median(t.speeds))
			if h > 0 {
				mean, se, k := paired(t.byPlan, tallies[0][i].byPlan)
				fmt.Printf("%-10s per-plan ratio minus %s's in the same plan: %+.2f ± %.2f (standard error, %d plans)\n", "", heisens[0], mean, se, k)
			}
		}
	}
}

// paired returns the mean of a[i]-b[i] over the plans where both are
// ratios, its standard error and how many plans that is: two builds
// compared plan by plan, each plan under the same machine state.
func paired(a, b []float64) (mean, se float64, n int) {
	var d []float64
	for i := range min(len(a), len(b)) {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			d = append(d, a[i]-b[i])
		}
	}
	if len(d) < 2 {
		return math.NaN(), math.NaN(), len(d)
	}
	for _, x := range d {
		mean += x
	}
	mean /= float64(len(d))
	var ss float64
	for _, x := range d {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(d)-1) / float64(len(d))), len(d)
}

var (
	lostRe  = regexp.MustCompile(`lost (\d+)`)
	callsRe = regexp.MustCompile(`events for (\d+) calls`)
)

// latency times, for each heisen in turn in a rotated order each round,
// the time from starting heisen record to the first event's time.
func latency(self string, heisens []string, dir string, rounds int) {
	trail := filepath.Join(dir, "lat.jsonl")
	target := filepath.Join(dir, "first")
	lat := make([][]float64, len(heisens))
	for r := range rounds {
		for k := range heisens {
			i := (k + r) % len(heisens)
			os.Remove(target)
			start := time.Now()
			c := exec.Command(heisens[i], "record", "-o", trail, "--path", dir, "--", self, "touch", target)
			if out, err := c.CombinedOutput(); err != nil {
				die(fmt.Errorf("latency run: %w: %s", err, out))
			}
			ts := firstTS(trail)
			lat[i] = append(lat[i], float64(ts.Sub(start).Microseconds())/1000)
		}
	}
	fmt.Printf("== start latency (heisen record started -> first event's time), %d rounds interleaved\n", rounds)
	for i, h := range heisens {
		fmt.Printf("%-40s median %6.1f ms  %5.2fx   all %s\n", h, stats.Median(lat[i]), stats.Median(lat[i])/stats.Median(lat[0]), fmtAll(lat[i]))
	}
}

// pace writes 1-byte records to a file at rate events/s (each write is one
// full event) from two processes for dur.
func pace(args []string) {
	file := args[0]
	rate, _ := strconv.Atoi(args[1])
	dur, _ := time.ParseDuration(args[2])
	if len(args) == 3 {
		self, _ := os.Executable()
		var cmds []*exec.Cmd
		for i := range 2 {
			c := exec.Command(self, "pace", file+strconv.Itoa(i), strconv.Itoa(rate/2), args[2], "child")
			c.Stdout, c.Stderr = os.Stdout, os.Stderr
			if err := c.Start(); err != nil {
				die(err)
			}
			cmds = append(cmds, c)
		}
		for _, c := range cmds {
			if err := c.Wait(); err != nil {
				die(err)
			}
		}
		return
	}
	fd, err := unix.Open(file, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
	if err != nil {
		die(err)
	}
	b := []byte{'x'}
	start := time.Now()
	total := int(float64(rate) * dur.Seconds())
	const batch = 500
	for done := 0; done < total; done += batch {
		for range batch {
			// Always at offset 0: every call is a full event, where
			// contiguous writes would be sent as 48-byte continuations.
			unix.Pwrite(fd, b, 0)
		}
		// Keep to the schedule: sleep until the next batch is due.
		due := start.Add(time.Duration(float64(done+batch) / float64(rate) * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
	}
	unix.Close(fd)
	fmt.Printf("%d writes in %v (%.0f/s)\n", total, time.Since(start).Round(time.Millisecond), float64(total)/time.Since(start).Seconds())
}

func loss(self, heisen, dir string, rate int) {
	trail := filepath.Join(dir, "rate.jsonl")
	var errb bytes.Buffer
	c := exec.Command(heisen, "record", "--probe-stats", "-o", trail, "--path", dir, "--", self, "pace", filepath.Join(dir, "pace"), strconv.Itoa(rate), "5s")
	c.Stdout, c.Stderr = os.Stdout, &errb
	fmt.Printf("== loss at %d events/s for 5 s (2 processes, 1-byte pwrites at offset 0)\n", rate)
	if err := c.Run(); err != nil {
		die(fmt.Errorf("rate run: %w: %s", err, errb.String()))
	}
	fmt.Print(errb.String())
	fmt.Printf("trail lines: %d\n", countLines(trail))
}

func firstTS(path string) time.Time {
	f, err := os.Open(path)
	if err != nil {
		die(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct{ TS time.Time }
		if json.Unmarshal(sc.Bytes(), &e) == nil && !e.TS.IsZero() {
			return e.TS
		}
	}
	die(fmt.Errorf("%s: no event", path))
	return time.Time{}
}

func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		die(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func ints(v []int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func fmtAll(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(parts, " ")
}

// loadTimes prints where loading heisen record's eBPF programs goes: the
// kernel's BTF read and parsed for CO-RE, then each program loaded alone
// (with its maps) and verified, with the instructions the verifier
// processed, then all of them together one after the other, then each
// step of record.New, which loads them at the same time.
func loadTimes(rounds int) {
	start := time.Now()
	if _, err := btf.LoadKernelSpec(); err != nil {
		die(err)
	}
	fmt.Printf("== load: kernel BTF read and parsed in %.1f ms (once per process)\n", ms(time.Since(start)))
	spec, err := bpf.LoadRecord()
	if err != nil {
		die(err)
	}
	vars := map[string]uint32{bpf.RecordVarPrefixCount: 1, bpf.RecordVarCloseNr: unix.SYS_CLOSE,
		bpf.RecordVarDup3Nr: unix.SYS_DUP3, bpf.RecordVarOpenatNr: unix.SYS_OPENAT}
	for name, v := range vars {
		if err := spec.Variables[name].Set(v); err != nil {
			die(err)
		}
	}
	names := slices.Sorted(maps.Keys(spec.Programs))
	for _, name := range append(names, "all") {
		var times []float64
		var insns uint32
		for range rounds {
			s := spec.Copy()
			if name != "all" {
				maps.DeleteFunc(s.Programs, func(n string, _ *ebpf.ProgramSpec) bool { return n != name })
			}
			start := time.Now()
			coll, err := ebpf.NewCollection(s)
			if err != nil {
				die(fmt.Errorf("load %s: %w", name, err))
			}
			times = append(times, ms(time.Since(start)))
			insns = 0
			for _, p := range coll.Programs {
				if info, err := p.Info(); err == nil {
					n, _ := info.VerifiedInstructions()
					insns += n
				}
			}
			coll.Close()
		}
		fmt.Printf("%-12s median %6.1f ms over %d loads, verifier processed %d instructions\n", name, stats.Median(times), rounds, insns)
	}
	recorderSteps(rounds)
}

// recorderSteps prints the median of each step of record.New, which
// loads the programs at the same time, as heisen record does; steps done
// at the same time overlap.
func recorderSteps(rounds int) {
	var names []string
	took := map[string][]float64{}
	insns := map[string]uint32{}
	var total []float64
	for range rounds {
		start := time.Now()
		r, err := record.New(record.Config{Paths: []string{"/nonexistent"}})
		if err != nil {
			die(err)
		}
		total = append(total, ms(time.Since(start)))
		for _, st := range r.Stats().Load {
			if _, ok := took[st.Name]; !ok {
				names = append(names, st.Name)
			}
			took[st.Name] = append(took[st.Name], ms(st.Took))
			insns[st.Name] = st.Insns
		}
		if err := r.Close(); err != nil {
			die(err)
		}
	}
	fmt.Printf("record.New (programs loaded at the same time): median %.1f ms over %d\n", stats.Median(total), rounds)
	for _, n := range names {
		fmt.Printf("  %-12s median %6.1f ms", n, stats.Median(took[n]))
		if insns[n] > 0 {
			fmt.Printf(", %d instructions", insns[n])
		}
		fmt.Println()
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
