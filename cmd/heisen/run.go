package main

import (
	"context"
	"fmt"
	"io"
)

// cmdRun is not built yet; see the open issue for heisen run.
func cmdRun(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "heisen run: not built yet")
	return exitUsage
}
