// Command trailwriter measures the cost per event of writing a trail, in
// process CPU time (user+sys, GC included: the machine is shared, and CPU
// time is what a traced program pays), with contenders interleaved round
// by round:
//
//	trail/buffered     trail.Writer with trail.Buffered(): 4 KiB batches
//	trail/unbuffered   trail.Writer: one write(2) per event
//	trail/Trace        atomictrail.Tracer(w).Trace, buffered: the atomicfile hook
//	json/bufio         encoding/json.Marshal of the same event into a bufio.Writer
//	json/unbuffered    json.Marshal and one write(2) per event
//	fmt/bufio          the story's log line, fmt.Fprintf(w, "%s pid=%d tmp=%s\n", …)
//
// It prints the median ns and allocations per event and the ratio to
// json/bufio.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/heisen-dev/heisen/internal/stats"
	"github.com/heisen-dev/heisen/trail"
	"github.com/heisen-dev/heisen/trail/atomictrail"
)

type jsonEvent struct {
	TS   string `json:"ts"`
	PID  int    `json:"pid"`
	TID  int    `json:"tid"`
	Op   string `json:"op"`
	Path string `json:"path,omitempty"`
	FD   int    `json:"fd"`
	Off  int64  `json:"off"`
	Len  int64  `json:"len"`
	Ret  int64  `json:"ret"`
	Src  string `json:"src,omitempty"`
	Call string `json:"call,omitempty"`
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	dir := flag.String("dir", os.TempDir(), "directory for the trail files")
	n := flag.Int("events", 200_000, "events per contender per round")
	rounds := flag.Int("rounds", 7, "rounds")
	flag.Parse()

	cs := contenders()
	ns, allocs := measure(cs, *dir, *n, *rounds)
	base := stats.Median(ns["json/bufio"])
	fmt.Printf("%-18s %12s %14s %12s\n", "contender", "CPU ns/event", "allocs/event", "vs json/bufio")
	for _, c := range cs {
		m := stats.Median(ns[c.name])
		fmt.Printf("%-18s %12.0f %14.2f %11.2fx\n", c.name, m, stats.Median(allocs[c.name]), base/m)
	}
	fmt.Printf("(%d rounds of %d events, interleaved; medians of process CPU time; ratio > 1: cheaper than json/bufio)\n", *rounds, *n)
}

// A contender writes n events to f its way.
type contender struct {
	name string
	run  func(f *os.File, n int)
}

// contenders are the ways of writing the same event compared: trail's
// writer buffered and not, the atomicfile hook, encoding/json, and the
// story's fmt log line. Every one stamps the time per event.
func contenders() []contender {
	ev := trail.Event{TS: time.Now(), PID: 4242, TID: 4243, Op: trail.OpWrite, FD: 3, Path: "/data/out.1764072000.tmp",
		Off: 0, Len: 4096, Ret: 4096, Src: "atomicfile", Call: "4242-17"}
	te := atomicfile.TraceEvent{Op: "write", Path: ev.Path, FD: 3, Len: 4096, Ret: 4096, Call: 17}
	je := jsonEvent{TS: ev.TS.Format(time.RFC3339Nano), PID: 4242, TID: 4243, Op: "write", Path: ev.Path, FD: 3, Len: 4096, Ret: 4096, Src: "atomicfile", Call: "4242-17"}
	return []contender{
		{"trail/buffered", func(f *os.File, n int) {
			w := trail.NewWriter(f, trail.Buffered())
			for i := range n {
				ev.Off, ev.TS = int64(i), time.Now() // every contender stamps the time
				w.Write(&ev)
			}
			w.Close()
		}},
		{"trail/unbuffered", func(f *os.File, n int) {
			w := trail.NewWriter(f)
			for i := range n {
				ev.Off, ev.TS = int64(i), time.Now() // every contender stamps the time
				w.Write(&ev)
			}
			w.Close()
		}},
		{"trail/Trace", func(f *os.File, n int) {
			w := trail.NewWriter(f, trail.Buffered())
			tr := atomictrail.Tracer(w)
			for i := range n {
				te.Off = int64(i)
				tr.Trace(&te)
			}
			w.Close()
		}},
		{"json/bufio", func(f *os.File, n int) {
			bw := bufio.NewWriter(f)
			for i := range n {
				je.Off = int64(i)
				je.TS = time.Now().UTC().Format(time.RFC3339Nano)
				b, _ := json.Marshal(&je)
				bw.Write(append(b, '\n'))
			}
			bw.Flush()
		}},
		{"json/unbuffered", func(f *os.File, n int) {
			for i := range n {
				je.Off = int64(i)
				je.TS = time.Now().UTC().Format(time.RFC3339Nano)
				b, _ := json.Marshal(&je)
				f.Write(append(b, '\n'))
			}
		}},
		{"fmt/bufio", func(f *os.File, n int) {
			bw := bufio.NewWriter(f)
			for i := range n {
				fmt.Fprintf(bw, "%s pid=%d tmp=%s off=%d\n", time.Now().UTC().Format(time.RFC3339Nano), 4242, ev.Path, i)
			}
			bw.Flush()
		}},
	}
}

// measure runs every contender once per round, interleaved, and returns
// the CPU time and the allocations per event of each run.
func measure(cs []contender, dir string, n, rounds int) (ns, allocs map[string][]float64) {
	ns, allocs = map[string][]float64{}, map[string][]float64{}
	for range rounds {
		for _, c := range cs {
			path := filepath.Join(dir, "trailwriter.trail")
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
			if err != nil {
				fmt.Fprintln(os.Stderr, "trailwriter:", err)
				os.Exit(1)
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			m0, t0 := ms.Mallocs, cpuNow()
			c.run(f, n)
			t1 := cpuNow()
			runtime.ReadMemStats(&ms)
			f.Close()
			os.Remove(path)
			ns[c.name] = append(ns[c.name], float64(t1-t0)/float64(n))
			allocs[c.name] = append(allocs[c.name], float64(ms.Mallocs-m0)/float64(n))
		}
	}
	return ns, allocs
}
