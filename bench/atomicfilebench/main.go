// Command atomicfilebench compares durable file replacement in Go:
// atomicfile.WriteFile against google/renameio/v2, natefinch/atomic and the
// raw system-call floor, at 4 KiB and 1 MiB, plus a batch of 100 × 4 KiB
// files (atomicfile.Batch) against 100 renameio writes and a raw
// system-call batch (floorBatch). The contenders run interleaved in every
// round on the same directory, so that a machine whose load changes during
// the run slows them alike; it prints the median over rounds of each round's
// median latency, and the median per-round ratio to the floor.
//
//	go run ./atomicfilebench -dir /var/tmp -rounds 15
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/stats"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "directory to write in (the file system under test)")
	rounds := flag.Int("rounds", 15, "rounds; each runs every contender")
	ops := flag.Int("ops", 20, "replaces per contender per round at 4 KiB (a quarter of that at 1 MiB)")
	flag.Parse()
	if err := run(*dir, *rounds, *ops); err != nil {
		fmt.Fprintln(os.Stderr, "atomicfilebench:", err)
		os.Exit(1)
	}
}

func run(parent string, rounds, ops int) error {
	dir, err := os.MkdirTemp(parent, "atomicfilebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return err
	}
	fmt.Printf("dir %s (statfs type %#x), %d rounds, GOMAXPROCS %d, %s/%s, %s\n\n",
		dir, st.Type, rounds, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())

	sizes := []struct {
		name string
		n    int
		ops  int
	}{{"4KiB", 4 << 10, ops}, {"1MiB", 1 << 20, max(ops/4, 2)}}
	// perRound[size][contender] holds each round's median latency.
	perRound := map[string]map[string][]time.Duration{}
	batch := map[string][]time.Duration{}
	small := make([]byte, 4<<10)
	for r := range rounds {
		for _, s := range sizes {
			if perRound[s.name] == nil {
				perRound[s.name] = map[string][]time.Duration{}
			}
			data := make([]byte, s.n)
			lat := map[string][]time.Duration{}
			// Interleave single replaces, rotating the order, so that load
			// changes on the machine hit every contender alike.
			for i := range s.ops {
				for j := range contenders {
					c := contenders[(i+j+r)%len(contenders)]
					path := dir + "/" + c.name + "-" + s.name
					start := time.Now()
					if err := c.write(path, data); err != nil {
						return fmt.Errorf("%s: %w", c.name, err)
					}
					lat[c.name] = append(lat[c.name], time.Since(start))
				}
			}
			for name, l := range lat {
				perRound[s.name][name] = append(perRound[s.name][name], stats.Median(l))
			}
		}
		// Rotate which batch contender goes first.
		batches := []struct {
			name string
			f    func(string, []byte, int) error
		}{{"atomicfile.Batch", batchAtomicfile}, {"floor batch", floorBatch}, {"renameio loop", loopRenameio}}
		for i := range batches {
			b := batches[(i+r)%len(batches)]
			start := time.Now()
			if err := b.f(dir, small, 100); err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			batch[b.name] = append(batch[b.name], time.Since(start))
		}
	}

	fmt.Println("median over rounds of each round's median latency; ratio = median over rounds of the per-round ratio")
	for _, s := range sizes {
		floor := perRound[s.name]["floor"]
		fmt.Printf("%-6s %-12s %12s %10s\n", s.name, "contender", "median/op", "vs floor")
		for _, c := range contenders {
			m := perRound[s.name][c.name]
			fmt.Printf("%-6s %-12s %12s %9.2fx\n", "", c.name, stats.Median(m).Round(time.Microsecond), ratio(m, floor))
		}
		fmt.Println()
	}
	b, f, l := batch["atomicfile.Batch"], batch["floor batch"], batch["renameio loop"]
	fmt.Printf("100 × 4KiB  atomicfile.Batch %s, floor batch %s, renameio loop %s\n",
		stats.Median(b).Round(time.Microsecond), stats.Median(f).Round(time.Microsecond), stats.Median(l).Round(time.Microsecond))
	fmt.Printf("            loop/Batch %.1fx, loop/floor batch %.1fx, Batch/floor batch %.2fx\n",
		ratio(l, b), ratio(l, f), ratio(b, f))
	fmt.Println(strings.Repeat("-", 60))
	return nil
}

// ratio returns the median over rounds of a[i]/b[i].
func ratio(a, b []time.Duration) float64 {
	rs := make([]float64, len(a))
	for i := range a {
		rs[i] = float64(a[i]) / float64(b[i])
	}
	return stats.Median(rs)
}
