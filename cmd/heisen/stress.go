package main

import (
	"context"
	"fmt"
	"io"
)

// cmdStress is not built yet; see the open issue for heisen stress.
func cmdStress(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "heisen stress: not built yet")
	return exitUsage
}
