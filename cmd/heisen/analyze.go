package main

import (
	"context"
	"fmt"
	"io"
)

// cmdAnalyze is not built yet; see the open issue for heisen analyze.
func cmdAnalyze(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "heisen analyze: not built yet")
	return exitUsage
}
