// Command crashbench measures heisen crash: what its FUSE layer costs a
// workload against the same workload on the backing file system directly,
// and how many states per second it checks with a trivial checker on a
// workload of 100 small replaces. Rounds are interleaved; medians and
// ratios are printed.
//
//	crashbench -heisen BIN [-rounds N] [-dir DIR]
//
// With -workload it is the workload itself (run by heisen crash or
// directly): -replaces N small replaces of one file (write a temp, rename,
// print the version) without any sync, the same with an fsync of the temp
// and of the directory, then -bulk MiB written to one file in 64 KiB
// writes and fsynced; it writes its three loop times, in seconds, to the
// file named by -times. With -bulk 0 only the synced replaces run.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/heisen-dev/heisen/internal/stats"
)

func main() {
	heisen := flag.String("heisen", "heisen", "the heisen binary")
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	dir := flag.String("dir", os.TempDir(), "where the direct runs write (the backing directory's file system)")
	workload := flag.Bool("workload", false, "be the workload")
	replaces := flag.Int("replaces", 100, "workload: small replaces")
	bulk := flag.Int("bulk", 0, "workload: MiB written in 64 KiB writes")
	times := flag.String("times", "", "workload: file for the loop times")
	flag.Parse()
	if *workload {
		if err := runWorkload(*replaces, *bulk, *times); err != nil {
			fmt.Fprintln(os.Stderr, "crashbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := bench(*heisen, *dir, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "crashbench:", err)
		os.Exit(1)
	}
}

func runWorkload(replaces, bulkMiB int, times string) error {
	d := os.Getenv("HEISEN_CRASH_DIR")
	var t [loops]time.Duration
	for i, sync := range []bool{false, true} {
		if i == 0 && bulkMiB == 0 {
			continue // the rate workload: only the synced replaces
		}
		start := time.Now()
		for v := 1; v <= replaces; v++ {
			if err := replace(d, v, sync); err != nil {
				return err
			}
			fmt.Println(v)
		}
		t[i] = time.Since(start)
	}
	start := time.Now()
	if bulkMiB > 0 {
		if err := bulkWrite(filepath.Join(d, "bulk"), bulkMiB); err != nil {
			return err
		}
	}
	t[2] = time.Since(start)
	return os.WriteFile(times, fmt.Appendf(nil, "%f %f %f\n", t[0].Seconds(), t[1].Seconds(), t[2].Seconds()), 0o644)
}

// loops is how many timed loops the workload has.
const loops = 3

var loopNames = [loops]string{"1000 small replaces, no fsync", "1000 small replaces, fsync+dir", "64 MiB in 64 KiB writes + fsync"}

func replace(d string, v int, sync bool) error {
	tmp := filepath.Join(d, "data.tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "version %d %s\n", v, strings.Repeat("x", 64)); err != nil {
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(d, "data")); err != nil {
		return err
	}
	if !sync {
		return nil
	}
	df, err := os.Open(d)
	if err != nil {
		return err
	}
	defer df.Close()
	return df.Sync()
}

func bulkWrite(path string, mib int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for range mib * 16 {
		if _, err := f.Write(buf); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// bench interleaves, per round: the workload direct, the workload under
// heisen crash (its loop times), and heisen crash's check phase on the 100
// replaces with "true" as the checker.
func bench(heisen, dir string, rounds int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var direct, fused [loops][]float64
	var rates []float64
	var states int
	for r := range rounds {
		for _, viaFuse := range []bool{r%2 == 0, r%2 != 0} {
			t, err := loopTimes(heisen, self, dir, viaFuse)
			if err != nil {
				return err
			}
			for i := range t {
				if viaFuse {
					fused[i] = append(fused[i], t[i])
				} else {
					direct[i] = append(direct[i], t[i])
				}
			}
		}
		n, secs, err := checkRate(heisen, self)
		if err != nil {
			return err
		}
		states = n
		rates = append(rates, float64(n)/secs)
	}
	fmt.Printf("%-34s %12s %12s %8s\n", "workload (median of "+fmt.Sprint(rounds)+")", "direct", "heisen crash", "ratio")
	for i, name := range loopNames {
		d, f := stats.Median(direct[i]), stats.Median(fused[i])
		fmt.Printf("%-34s %10.1fms %10.1fms %7.2fx\n", name, d*1000, f*1000, f/d)
	}
	fmt.Printf("states checked per second, 100 small replaces, check \"true\": median %.0f (%d states per run; runs %s)\n",
		stats.Median(rates), states, fmtAll(rates))
	return nil
}

// loopTimes runs the timing workload once, directly in a fresh directory
// under dir or under heisen crash, and returns its two loop times.
func loopTimes(heisen, self, dir string, viaFuse bool) ([loops]float64, error) {
	var t [loops]float64
	work, err := os.MkdirTemp(dir, "crashbench-")
	if err != nil {
		return t, err
	}
	defer os.RemoveAll(work)
	times := filepath.Join(work, "times")
	argv := []string{self, "-workload", "-replaces", "1000", "-bulk", "64", "-times", times}
	var cmd *exec.Cmd
	if viaFuse {
		cmd = exec.Command(heisen, append([]string{"crash", "--points", "1", "--check", "true", "--"}, argv...)...)
	} else {
		data := filepath.Join(work, "data")
		if err := os.Mkdir(data, 0o755); err != nil {
			return t, err
		}
		cmd = exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "HEISEN_CRASH_DIR="+data)
	}
	cmd.Stderr = os.Stderr
	if out, err := cmd.Output(); err != nil {
		return t, fmt.Errorf("%v: %w\n%s", cmd.Args, err, out)
	}
	b, err := os.ReadFile(times)
	if err != nil {
		return t, err
	}
	_, err = fmt.Sscan(string(b), &t[0], &t[1], &t[2])
	return t, err
}

// checkRate runs heisen crash on 100 small replaces with the checker
// "true" and returns the states checked and the seconds the checks took.
func checkRate(heisen, self string) (int, float64, error) {
	times := filepath.Join(os.TempDir(), fmt.Sprintf("crashbench-times-%d", os.Getpid()))
	defer os.Remove(times)
	cmd := exec.Command(heisen, "crash", "--json", "--check", "true", "--", self, "-workload", "-replaces", "100", "-times", times)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("heisen crash: %w\n%s", err, out)
	}
	var rep struct {
		Checked      int     `json:"checked"`
		CheckSeconds float64 `json:"check_seconds"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return 0, 0, err
	}
	return rep.Checked, rep.CheckSeconds, nil
}

func fmtAll(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, fmt.Sprintf("%.0f", x))
	}
	return strings.Join(parts, " ")
}
