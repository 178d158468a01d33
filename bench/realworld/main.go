// Command realworld is the Go side of bench/realworld.sh: it makes and
// checks the self-identifying payloads the workloads write, runs the Go
// io.Copy workload, and scores a recorded workload against the findings
// heisen analyze made of its trail.
//
//	realworld gen DIR LOOPS N          write DIR/L.I, the payload of loop L, iteration I
//	realworld reader TARGET OUT        read TARGET until SIGTERM; write its corrupt versions to OUT
//	realworld gocopy NAMING LOOP TARGET SRCDIR SECONDS META
//	                                   the story's loop with io.Copy between two files
//	realworld score FLAGS              print "observed explained errors warnings predictions"
//	realworld predicted FINDINGS       print what the findings predict, or "none"
//
// The definitions of a corrupt version and of "explained" are in
// bench/realworld.sh's header and in score.go.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		die(fmt.Errorf("usage: realworld gen|reader|gocopy|score|predicted ARGS"))
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(args)
	case "reader":
		err = reader(args)
	case "gocopy":
		err = gocopy(args)
	case "score":
		err = score(args, os.Stdout)
	case "predicted":
		err = predicted(args, os.Stdout)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		die(err)
	}
}

func die(err error) {
	fmt.Fprintf(os.Stderr, "realworld: %v\n", err)
	os.Exit(1)
}
