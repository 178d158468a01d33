package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/internal/testcap"
	"github.com/heisen-dev/heisen/record"
)

// build compiles a test program from testdata.
func build(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, "./testdata/"+name)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, b)
	}
	return out
}

func perturbations(t *testing.T, list string) []Perturbation {
	t.Helper()
	ps, err := ParsePerturbations(list)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func mustRun(t *testing.T, cfg Config) *Report {
	t.Helper()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

func logReport(t *testing.T, rep *Report) {
	t.Helper()
	for _, r := range rep.Results {
		p := -1.0
		if r.P != nil {
			p = *r.P
		}
		t.Logf("%-18s %d/%d  median %.3fs  p %.2g  %s", r.Perturbation, r.Failures, r.Runs, r.MedianS, p, r.Verdict)
	}
	t.Log(rep.Summary)
}

// The story's bug: two processes replacing one file through a temp named
// after the clock in seconds. Its failures depend on timing, and heisen run
// must say so.
func TestProofTimingSensitiveRace(t *testing.T) {
	racer := build(t, "racer")
	rep := mustRun(t, Config{
		Command:       []string{racer},
		Perturbations: perturbations(t, "none,syscall-delay=1ms,one-cpu"),
		Runs:          30,
		Timeout:       30 * time.Second,
	})
	logReport(t, rep)
	changed := false
	for _, r := range rep.Results[1:] {
		changed = changed || r.Verdict != NoChange
		if r.Verdict != NoChange && r.Reading == "" {
			t.Errorf("%s: verdict %s without a reading", r.Perturbation, r.Verdict)
		}
	}
	if !changed {
		t.Fatalf("no significant change under syscall-delay or one-cpu for a timing-dependent race")
	}
	if !strings.HasPrefix(rep.Summary, "timing-sensitive") {
		t.Errorf("summary %q", rep.Summary)
	}

	// The story's fix, a temp name unique per process and call, never fails
	// under the same perturbations.
	fixed := mustRun(t, Config{
		Command:       []string{racer, "-fixed"},
		Perturbations: perturbations(t, "none,syscall-delay=1ms,one-cpu"),
		Runs:          10,
		Timeout:       30 * time.Second,
	})
	for _, r := range fixed.Results {
		if r.Failures != 0 {
			t.Errorf("fixed racer under %s: %d failures in %d runs", r.Perturbation, r.Failures, r.Runs)
		}
	}
}

// A program that fails with a fixed probability, independent of timing,
// must get no verdict of timing sensitivity under any perturbation. coin's
// failures follow a fixed pseudo-random sequence (see its doc), and the runs
// happen in a fixed order, so this test has the same outcome every time.
func TestProofRandomFailureIsNoChange(t *testing.T) {
	coin := build(t, "coin")
	counter := filepath.Join(t.TempDir(), "counter")
	rep := mustRun(t, Config{
		Command:       []string{coin},
		Env:           append(os.Environ(), "COIN_COUNTER="+counter, "COIN_PERCENT=30"),
		Perturbations: perturbations(t, "none,syscall-delay=1ms,one-cpu,cpu-contention=2,chaos,unbuffered"),
		Runs:          25,
		Timeout:       30 * time.Second,
	})
	logReport(t, rep)
	failures := 0
	for _, r := range rep.Results {
		failures += r.Failures
		if r.Runs != 25 {
			t.Errorf("%s: %d runs, want 25", r.Perturbation, r.Runs)
		}
		if r.Perturbation != "none" && r.Verdict != NoChange {
			t.Errorf("%s: verdict %s for a failure that does not depend on timing", r.Perturbation, r.Verdict)
		}
	}
	// Every run drew from the sequence: 150 draws at 30%.
	if failures < 25 || failures > 65 {
		t.Errorf("%d failures in 150 runs at 30%%", failures)
	}
	if !strings.Contains(rep.Summary, "does not depend on any perturbation") {
		t.Errorf("summary %q", rep.Summary)
	}
}

func TestProofAlwaysAndNeverFail(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		rate float64
		sum  string
	}{
		{"false", 1, "every one of"},
		{"true", 0, "no failures"},
	} {
		rep := mustRun(t, Config{
			Command:       []string{c.cmd},
			Perturbations: perturbations(t, DefaultPerturbations()),
			Runs:          4,
			Timeout:       10 * time.Second,
		})
		for _, r := range rep.Results {
			if r.Runs != 4 || r.Rate != c.rate {
				t.Errorf("%s under %s: rate %v in %d runs, want %v in 4", c.cmd, r.Perturbation, r.Rate, r.Runs, c.rate)
			}
			if want := (r.Perturbation == "none"); want != (r.Verdict == Baseline) || (!want && r.Verdict != NoChange) {
				t.Errorf("%s under %s: verdict %s", c.cmd, r.Perturbation, r.Verdict)
			}
			if r.CILow > r.Rate || r.CIHigh < r.Rate {
				t.Errorf("%s under %s: rate %v outside [%v, %v]", c.cmd, r.Perturbation, r.Rate, r.CILow, r.CIHigh)
			}
		}
		if !strings.HasPrefix(rep.Summary, c.sum) {
			t.Errorf("%s: summary %q", c.cmd, rep.Summary)
		}
	}
}

func TestTimeoutKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	// Each run starts a background child, writes its pid down and waits
	// far longer than the timeout.
	script := `sleep 60 & echo $! >> "$1"; sleep 60`
	pids := filepath.Join(dir, "pids")
	start := time.Now()
	rep := mustRun(t, Config{
		Command:       []string{"sh", "-c", script, "sh", pids},
		Perturbations: perturbations(t, "none,syscall-delay=1ms"),
		Runs:          1,
		Timeout:       time.Second,
	})
	// Waiting for either sleep would take a minute per run.
	if el := time.Since(start); el > 45*time.Second {
		t.Errorf("took %v", el)
	}
	for _, r := range rep.Results {
		if r.Failures != 1 || r.Timeouts != 1 {
			t.Errorf("%s: %d failures, %d timeouts; want 1 and 1", r.Perturbation, r.Failures, r.Timeouts)
		}
	}
	b, err := os.ReadFile(pids)
	if err != nil || len(strings.Fields(string(b))) == 0 {
		// A shell that did not get as far as its child in a second
		// leaves nothing that could survive: the test would prove nothing.
		t.Fatalf("no run started its background child before the timeout (%v): machine too slow for this test", err)
	}
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		// Killed with its group; once its parent is gone too, init reaps it.
		waitFor(t, 10*time.Second, "the background child of a timed-out run to die", func() (bool, string) {
			s := procField(pid, "State:")
			return s == "" || strings.HasPrefix(s, "Z"), fmt.Sprintf("pid %d in state %q", pid, s)
		})
	}
}

func TestFailIfAndKeepFailures(t *testing.T) {
	keep := t.TempDir()
	rep := mustRun(t, Config{
		Command:       []string{"sh", "-c", `echo "ERROR: boom"; echo detail >&2`},
		Perturbations: perturbations(t, "none,syscall-delay=1ms"),
		Runs:          2,
		FailIf:        regexp.MustCompile(`^ERROR:`),
		KeepFailures:  keep,
	})
	for _, r := range rep.Results {
		if r.Failures != 2 {
			t.Errorf("%s: %d failures, want 2 (exit 0 but --fail-if matched)", r.Perturbation, r.Failures)
		}
	}
	for _, name := range []string{"none-1", "none-2", "syscall-delay_1ms-1", "syscall-delay_1ms-2"} {
		out, err := os.ReadFile(filepath.Join(keep, name+".stdout"))
		if err != nil || string(out) != "ERROR: boom\n" {
			t.Errorf("%s.stdout = %q, %v", name, out, err)
		}
		if errOut, err := os.ReadFile(filepath.Join(keep, name+".stderr")); err != nil || string(errOut) != "detail\n" {
			t.Errorf("%s.stderr = %q, %v", name, errOut, err)
		}
	}
}

// keptOutput runs a failing script once under p and returns its stdout.
func keptOutput(t *testing.T, p, script string) string {
	t.Helper()
	keep := t.TempDir()
	mustRun(t, Config{
		Command:       []string{"sh", "-c", script + "; exit 1"},
		Perturbations: perturbations(t, p),
		Runs:          1,
		KeepFailures:  keep,
	})
	out, err := os.ReadFile(filepath.Join(keep, fileSafe(perturbations(t, p)[len(perturbations(t, p))-1].String())+"-1.stdout"))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestOneCPUPinsTheWholeTree(t *testing.T) {
	cpus, err := allowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) < 2 {
		testcap.Missing(t, "a second allowed CPU (pinned and unpinned runs cannot be told apart on one)", fmt.Errorf("%d allowed", len(cpus)))
	}
	out := keptOutput(t, "one-cpu", `grep Cpus_allowed_list /proc/self/status; sh -c 'grep Cpus_allowed_list /proc/self/status'`)
	want := "Cpus_allowed_list:\t" + strconv.Itoa(cpus[len(cpus)-1]) + "\n"
	if out != want+want {
		t.Errorf("one-cpu: process and child report\n%q\nwant twice %q", out, want)
	}
	if out := keptOutput(t, "none", `grep Cpus_allowed_list /proc/self/status`); out == want {
		t.Errorf("baseline is pinned too: %q", out)
	}
}

func TestUnbufferedEnvironment(t *testing.T) {
	if out := keptOutput(t, "unbuffered", `echo "$PYTHONUNBUFFERED"`); out != "1\n" {
		t.Errorf("PYTHONUNBUFFERED = %q, want 1", out)
	}
	if _, err := exec.LookPath("stdbuf"); err == nil {
		if out := keptOutput(t, "unbuffered", `echo "$_STDBUF_O"`); out != "0\n" {
			t.Errorf("stdbuf not applied: _STDBUF_O = %q", out)
		}
	}
}

func TestCPUContentionPinsBusyProcesses(t *testing.T) {
	cpus, err := allowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{cpus: cpus}
	stop, err := r.contend(2)
	if err != nil {
		t.Fatal(err)
	}
	// A spinner shows its environment once it has exec'd, and spins
	// (state R, running or runnable) once it has started up.
	var spinners []int
	waitFor(t, 10*time.Second, "two busy processes running", func() (bool, string) {
		spinners = spinners[:0]
		for _, pid := range processTree(os.Getpid())[1:] {
			env, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
			if strings.Contains(string(env), spinEnv+"=") && strings.HasPrefix(procField(pid, "State:"), "R") {
				spinners = append(spinners, pid)
			}
		}
		return len(spinners) == 2, fmt.Sprintf("%d running", len(spinners))
	})
	for _, pid := range spinners {
		if s := procField(pid, "Cpus_allowed_list:"); strings.ContainsAny(s, ",-") {
			t.Errorf("spinner %d allowed on %q, want one CPU", pid, s)
		}
	}
	stop()
	for _, pid := range spinners {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			t.Errorf("spinner %d still exists after stop", pid)
		}
	}
}

func TestChaosStopsWithinItsShare(t *testing.T) {
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	// The kernel measures the stops; sampling the process state overstated
	// them on a loaded machine (a late sample that saw "T" counted the
	// whole gap as stopped) and could miss every one of them. A process
	// that never sleeps is, at every instant, running, waiting for a CPU
	// (both counted in /proc/<pid>/schedstat) or stopped, and each stop is
	// its only voluntary context switch.
	before := readSched(t, pid)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		chaos(done, pid, newRand(1))
		close(finished)
	}()
	// chaos can only continue a process as soon as it is scheduled itself:
	// on a loaded machine each stop can last that much longer than chaos
	// meant. Measure that lateness here, where chaos suffers it too.
	var late time.Duration
	for {
		at := time.Now()
		time.Sleep(time.Millisecond)
		late = max(late, time.Since(at)-time.Millisecond)
		// A stop sent while the process waits for a CPU can be cancelled
		// by its SIGCONT before it takes effect: on a loaded machine wait
		// for a stop that happened.
		elapsed := time.Since(before.at)
		if elapsed >= 10*time.Second || elapsed >= 800*time.Millisecond && switches(t, pid) > before.switches {
			break
		}
	}
	close(done)
	<-finished
	after := readSched(t, pid)
	total := after.at.Sub(before.at)
	stopped := total - (after.busy - before.busy)
	share := float64(stopped) / float64(total)
	// Twice the lateness: chaos's late SIGCONT, and the wait for a CPU
	// after it, which schedstat counts only once the process runs.
	bound := chaosShare + 0.1 + float64(2*late)/float64(total)
	t.Logf("stopped %d times, %v of %v; scheduling lateness up to %v", after.switches-before.switches, stopped, total, late)
	if after.switches == before.switches {
		t.Error("chaos never stopped the process")
	}
	if share > bound {
		t.Errorf("stopped %.0f%% of the time, bound is %.0f%% (+10%% and twice the lateness %v)", 100*share, 100*chaosShare, late)
	}
	waitFor(t, 5*time.Second, "the process to run again after chaos ended", func() (bool, string) {
		s := procField(pid, "State:")
		return !strings.HasPrefix(s, "T"), fmt.Sprintf("state %q", s)
	})
}

// schedSample is what the scheduler says of a process at one instant.
type schedSample struct {
	at       time.Time
	busy     time.Duration // running or waiting for a CPU, since it started
	switches int           // voluntary context switches
}

// readSched reads /proc/<pid>/schedstat and the voluntary context switches,
// retrying until the reading took under a millisecond so that at is the
// instant busy was read, even on a loaded machine.
func readSched(t *testing.T, pid int) schedSample {
	t.Helper()
	for {
		start := time.Now()
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
		if err != nil {
			testcap.Missing(t, "scheduler statistics to measure stops with (CONFIG_SCHED_INFO)", err)
		}
		end := time.Now()
		if end.Sub(start) >= time.Millisecond {
			continue
		}
		var run, wait int64
		if _, err := fmt.Sscan(string(b), &run, &wait); err != nil {
			t.Fatalf("parse /proc/%d/schedstat %q: %v", pid, b, err)
		}
		return schedSample{at: start.Add(end.Sub(start) / 2), busy: time.Duration(run + wait), switches: switches(t, pid)}
	}
}

// switches returns the voluntary context switches of pid.
func switches(t *testing.T, pid int) int {
	t.Helper()
	n, err := strconv.Atoi(procField(pid, "voluntary_ctxt_switches:"))
	if err != nil {
		t.Fatalf("/proc/%d/status: voluntary_ctxt_switches: %v", pid, err)
	}
	return n
}

func TestInterruptKeepsWhatWasMeasured(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Interrupted after the third run, however long runs take here.
	progress := func(done, _ int, _ Report) {
		if done == 3 {
			cancel()
		}
	}
	rep, err := Run(ctx, Config{Command: []string{"sleep", "0.05"}, Perturbations: perturbations(t, "none,one-cpu"), Runs: 1000, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted {
		t.Error("not marked interrupted")
	}
	n := rep.Results[0].Runs + rep.Results[1].Runs
	if n < 3 || n >= 2000 {
		t.Errorf("%d runs measured before the interrupt", n)
	}
	if rep.Results[0].Failures != 0 {
		t.Errorf("interrupted runs counted as failures: %+v", rep.Results[0])
	}
}

func TestDurationRunsWholeRounds(t *testing.T) {
	rep := mustRun(t, Config{Command: []string{"true"}, Perturbations: perturbations(t, "none,unbuffered,one-cpu"), Duration: 200 * time.Millisecond, Parallel: 2})
	n := rep.Results[0].Runs
	if n < 2 {
		t.Fatalf("%d runs in 200ms", n)
	}
	for _, r := range rep.Results {
		if r.Runs != n || r.Runs%2 != 0 {
			t.Errorf("%s: %d runs; want %d, whole rounds of 2 copies", r.Perturbation, r.Runs, n)
		}
	}
}

func TestRecordKeepsTrailsOfFailingRuns(t *testing.T) {
	rec, err := record.New(record.Config{})
	if errors.Is(err, record.ErrUnavailable) {
		testcap.Missing(t, "eBPF (root, kernel BTF, Linux 6.2 or later, no lockdown)", err)
	}
	if err != nil {
		t.Fatalf("eBPF recorder: %v", err)
	}
	defer rec.Close()
	dir, keep := t.TempDir(), t.TempDir()
	// Every second run fails (a counter shared by all): in the order
	// none, syscall-delay, one-cpu, none, … that is syscall-delay's first
	// run and the second of the others.
	script := `n=$(cat "$1/n" 2>/dev/null || echo 0); echo $((n+1)) > "$1/n"; echo v > "$1/f.tmp"; mv "$1/f.tmp" "$1/f"; [ $((n % 2)) -eq 0 ]`
	rep := mustRun(t, Config{
		Command:       []string{"sh", "-c", script, "sh", dir},
		Perturbations: perturbations(t, "none,syscall-delay=1ms,one-cpu"),
		Runs:          2,
		KeepFailures:  keep,
		Record:        rec,
	})
	for _, r := range rep.Results {
		if r.Failures != 1 {
			t.Fatalf("%s: %d failures, want 1", r.Perturbation, r.Failures)
		}
	}
	ents, _ := os.ReadDir(keep)
	var trails []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".trail") {
			trails = append(trails, e.Name())
		}
	}
	if strings.Join(trails, " ") != "none-2.trail one-cpu-2.trail syscall-delay_1ms-1.trail" {
		t.Fatalf("trails kept: %v; want one per failing run", trails)
	}
	for _, name := range trails {
		b, err := os.ReadFile(filepath.Join(keep, name))
		if err != nil {
			t.Fatal(err)
		}
		want := `"op":"rename","path":"` + filepath.Join(dir, "f.tmp") + `"`
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks the run's rename (%s):\n%s", name, want, b)
		}
		// mv tries renameat2(RENAME_NOREPLACE) first, then renames: count
		// the successful ones.
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, `"op":"rename"`) && strings.Contains(line, `"ret":0,`) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s has %d successful renames, want only the failing run's one:\n%s", name, n, b)
		}
	}
}
