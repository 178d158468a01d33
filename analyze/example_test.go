package analyze_test

import (
	"fmt"
	"strings"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/trail"
)

// Two workers open the same clock-derived temp name in the same second.
func ExampleRun() {
	const t = `{"ts":"2025-11-25T12:00:00.100Z","pid":11,"tid":11,"op":"open","path":"/data/out.1764072000.tmp","fd":3,"flags":"O_WRONLY|O_CREAT|O_TRUNC","ret":3}
{"ts":"2025-11-25T12:00:00.300Z","pid":12,"tid":12,"op":"open","path":"/data/out.1764072000.tmp","fd":3,"flags":"O_WRONLY|O_CREAT|O_TRUNC","ret":3}
{"ts":"2025-11-25T12:00:00.500Z","pid":11,"tid":11,"op":"close","fd":3,"ret":0}
{"ts":"2025-11-25T12:00:00.600Z","pid":11,"tid":11,"op":"rename","path":"/data/out.1764072000.tmp","to":"/data/out","ret":0}
{"ts":"2025-11-25T12:00:00.700Z","pid":12,"tid":12,"op":"close","fd":3,"ret":0}
`
	rep, err := analyze.Run(trail.NewReader(strings.NewReader(t), "run.trail"), analyze.Options{})
	if err != nil {
		panic(err)
	}
	for _, f := range rep.Findings {
		fmt.Println(f.Severity, f.Kind, f.Path, f.PIDs)
		for _, e := range f.Evidence {
			fmt.Println("   ", e.Pos, analyze.Describe(&e))
		}
	}
	// Output:
	// error torn-rename /data/out [11 12]
	//     run.trail:1 pid 11 open /data/out.1764072000.tmp fd 3 O_WRONLY|O_CREAT|O_TRUNC
	//     run.trail:2 pid 12 open /data/out.1764072000.tmp fd 3 O_WRONLY|O_CREAT|O_TRUNC
	//     run.trail:4 pid 11 rename /data/out.1764072000.tmp -> /data/out
	// error temp-collision /data/out.1764072000.tmp [11 12]
	//     run.trail:1 pid 11 open /data/out.1764072000.tmp fd 3 O_WRONLY|O_CREAT|O_TRUNC
	//     run.trail:2 pid 12 open /data/out.1764072000.tmp fd 3 O_WRONLY|O_CREAT|O_TRUNC
	//     run.trail:3 pid 11 close fd 3
	//     run.trail:4 pid 11 rename /data/out.1764072000.tmp -> /data/out
}
