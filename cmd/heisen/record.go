package main

import (
	"context"
	"fmt"
	"io"
)

// cmdRecord is not built yet; see the open issue for heisen record.
func cmdRecord(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "heisen record: not built yet")
	return exitUsage
}
