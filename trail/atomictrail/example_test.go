package atomictrail_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/heisen-dev/heisen/trail"
	"github.com/heisen-dev/heisen/trail/atomictrail"
)

// Every replace leaves its operations in the trail, grouped by a call id.
func ExampleTracer() {
	dir, _ := os.MkdirTemp("", "trail-example")
	defer os.RemoveAll(dir)
	w, _ := trail.Create(filepath.Join(dir, "app.trail"), trail.Buffered())
	atomicfile.WriteFile(filepath.Join(dir, "config"), []byte("v1"), 0o644, atomicfile.WithTracer(atomictrail.Tracer(w)))
	w.Close()

	f, _ := os.Open(filepath.Join(dir, "app.trail"))
	defer f.Close()
	r := trail.NewReader(f, "app.trail")
	var e trail.Event
	calls := map[string]bool{}
	for r.Read(&e) != io.EOF {
		calls[e.Call] = true
		if e.Op == trail.OpRename {
			fmt.Println("rename into", filepath.Base(e.To), "by", e.Src)
		}
	}
	fmt.Println("call ids:", len(calls))
	// Output:
	// rename into config by atomicfile
	// call ids: 1
}
