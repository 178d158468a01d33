package main

import (
	"context"
	"fmt"
	"io"
)

// cmdVet is not built yet; see the open issue for heisen vet.
func cmdVet(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "heisen vet: not built yet")
	return exitUsage
}
