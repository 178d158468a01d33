// Command gentrail writes a large realistic trail for benchmarks: writer
// processes replacing shared targets through temp files (one replace in
// -clock through a clock-derived name, so some collide and tear), reader
// processes reading the targets.
//
//	go run ./gentrail -events 2000000 -o /tmp/big.trail
package main

import (
	"flag"
	"fmt"
	"os"

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
	flag.Parse()
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
	st, err := trailtest.Generate(w, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentrail:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gentrail: %d events, %d replaces, %d through clock-derived names\n", st.Events, st.Replaces, st.Clocked)
}
