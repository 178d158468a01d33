package runner_test

import (
	"context"
	"fmt"

	"github.com/heisen-dev/heisen/runner"
)

// A command that always fails fails under every perturbation alike: the
// report says it is deterministic, not a matter of timing.
func Example() {
	ps, err := runner.ParsePerturbations("none,one-cpu,syscall-delay=1ms")
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := runner.Run(context.Background(), runner.Config{
		Command:       []string{"sh", "-c", "echo checking; exit 3"},
		Perturbations: ps,
		Runs:          5,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rep.Results {
		fmt.Printf("%s: %d of %d failed, %s\n", r.Perturbation, r.Failures, r.Runs, r.Verdict)
	}
	fmt.Println(rep.Summary)
	// Output:
	// none: 5 of 5 failed, baseline
	// one-cpu: 5 of 5 failed, no-change
	// syscall-delay=1ms: 5 of 5 failed, no-change
	// every one of 15 runs failed under every perturbation: a deterministic failure, not a timing one
}

func ExampleParsePerturbations() {
	ps, _ := runner.ParsePerturbations("syscall-delay=500us,cpu-contention=4")
	for _, p := range ps {
		fmt.Println(p.Kind, p)
	}
	// Output:
	// none none
	// syscall-delay syscall-delay=500µs
	// cpu-contention cpu-contention=4
}
