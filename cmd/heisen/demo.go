package main

import (
	"context"
	"fmt"
	"io"
)

// cmdDemo is not built yet; see the open issue for heisen demo.
func cmdDemo(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "heisen demo: not built yet")
	return exitUsage
}
