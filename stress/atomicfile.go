package stress

import (
	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/heisen-dev/heisen/trail/atomictrail"
)

// replaceAtomicfile replaces target with this module's library. It uses
// AtomicOnly because no other strategy syncs either: stress measures
// whether readers can see a mix of versions, and fsync does not change
// that, only how many writes fit in a run.
func replaceAtomicfile(ops *fileOps, target string, data []byte, chunk int) error {
	opts := []atomicfile.Option{atomicfile.AtomicOnly}
	if ops.tr != nil {
		opts = append(opts, atomicfile.WithTracer(atomictrail.Tracer(ops.tr)))
	}
	f, err := atomicfile.Create(target, opts...)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := writeChunks(f, data, chunk); err != nil {
		return err
	}
	return f.Commit()
}
