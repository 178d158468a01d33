// Command gentrail writes a large trail for benchmarks. The default shape,
// mixed, is realistic: writer processes replacing shared targets through
// temp files (one replace in -clock through a clock-derived name, so some
// collide and tear), reader processes reading the targets. The others
// stress one part of analyze each: distinct (every replace a new file),
// hotfile (64 appenders hold one log open at once), longlived (1,000
// processes hold 10 descriptors each for the whole trail, with forks),
// findings (about one finding per 4 events).
//
//	go run ./gentrail -events 2000000 -o /tmp/big.trail
//	go run ./gentrail -shape distinct -events 10000000 | heisen analyze -
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"

	"github.com/heisen-dev/heisen/trail/trailtest"
)

func main() {
	var cfg trailtest.Config
	out := flag.String("o", "", "output `file` (default stdout)")
	flag.IntVar(&cfg.Events, "events", 2_000_000, "events to write")
	flag.IntVar(&cfg.Workers, "workers", 16, "writer processes")
	flag.IntVar(&cfg.Readers, "readers", 4, "reader processes")
	flag.IntVar(&cfg.Targets, "targets", 8, "target files")
	flag.IntVar(&cfg.Clock, "clock", 50, "one replace in `N` uses a clock-derived temp name (-1: never)")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	shapeName := flag.String("shape", "mixed", "`shape`: mixed, distinct, hotfile, longlived or findings")
	flag.Parse()
	if *shapeName != "mixed" && !slices.Contains(trailtest.Shapes, *shapeName) {
		fmt.Fprintf(os.Stderr, "gentrail: unknown shape %q\n", *shapeName)
		os.Exit(2)
	}
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gentrail:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	if *shapeName != "mixed" {
		n, err := trailtest.GenerateShape(w, *shapeName, cfg.Events, cfg.Seed)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gentrail:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "gentrail: %s: %d events\n", *shapeName, n)
		return
	}
	st, err := trailtest.Generate(w, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentrail:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gentrail: %d events, %d replaces, %d through clock-derived names\n", st.Events, st.Replaces, st.Clocked)
}
