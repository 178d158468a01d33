package stress_test

import (
	"context"
	"fmt"
	"os"

	"github.com/heisen-dev/heisen/stress"
)

// A version spliced from two writes is caught from its bytes alone, with
// where each part came from.
func ExampleValidate() {
	a, b := stress.Content(1, 5, 256), stress.Content(2, 9, 256)
	torn := append(a[:128:128], b[128:]...)
	v := stress.Validate(torn)
	fmt.Println(v.Kind, "-", v.Reason)
	fmt.Println(v.Explain())
	fmt.Println(stress.Validate(a).Kind)
	// Output:
	// spliced - w2#9 from offset 128 in a version of w1#5
	// 0-63 header w1#5 | 64-127 w1#5 | 128-255 w2#9
	// valid
}

// Run needs a binary that becomes a worker when asked: here the program
// itself, re-executed with stress.WorkerEnv set.
func ExampleRun() {
	if os.Getenv(stress.WorkerEnv) == "1" {
		os.Exit(stress.WorkerMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	exe, _ := os.Executable()
	dir, _ := os.MkdirTemp("", "stress")
	defer os.RemoveAll(dir)
	res, err := stress.Run(context.Background(), stress.Config{
		Strategy: "timestamp", Dir: dir, Writers: 4, Writes: 250, Size: 4096, Chunk: 1024, Readers: 1,
		Self: stress.Exec{Path: exe, Args: []string{exe}, Env: []string{stress.WorkerEnv + "=1"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d writes, %d seen corrupt\n", res.Writes, len(res.Corrupt))
}
