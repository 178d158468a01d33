package stress

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"time"
)

// Strategies lists the ways a writer can replace the target, in the order
// reports show them: the story's bug first, then other predictable names,
// writing in place, the story's fix, and this module's library.
//
//	timestamp   temp "target.<unix seconds>.tmp", O_CREAT|O_TRUNC: the story's bug
//	pid         temp "target.<pid>.tmp": unique per process, not per call
//	millis      temp "target.<unix milliseconds>.tmp"
//	inplace     the target itself, O_TRUNC, no temp
//	uuid        temp "target.<pid>.<random hex>.tmp": the story's fix
//	atomicfile  github.com/heisen-dev/heisen/atomicfile
var Strategies = []string{"timestamp", "pid", "millis", "inplace", "uuid", "atomicfile"}

// ValidStrategy reports whether name is one of Strategies.
func ValidStrategy(name string) bool { return slices.Contains(Strategies, name) }

// replacer writes data as the new content of target, in chunks of chunk
// bytes, reporting each file operation to ops.
type replacer func(ops *fileOps, target string, data []byte, chunk int) error

func replacerFor(strategy string, rnd *rand.Rand) (replacer, error) {
	temp := func(name func(target string) string) replacer {
		return func(ops *fileOps, target string, data []byte, chunk int) error {
			return ops.writeAndRename(name(target), target, data, chunk)
		}
	}
	switch strategy {
	case "timestamp":
		return temp(func(t string) string { return t + "." + strconv.FormatInt(time.Now().Unix(), 10) + ".tmp" }), nil
	case "millis":
		return temp(func(t string) string { return t + "." + strconv.FormatInt(time.Now().UnixMilli(), 10) + ".tmp" }), nil
	case "pid":
		return temp(func(t string) string { return t + "." + strconv.Itoa(os.Getpid()) + ".tmp" }), nil
	case "uuid":
		return temp(func(t string) string {
			var b [16]byte
			for i := range b {
				b[i] = byte(rnd.Uint32())
			}
			return t + "." + strconv.Itoa(os.Getpid()) + "." + hex.EncodeToString(b[:]) + ".tmp"
		}), nil
	case "inplace":
		return func(ops *fileOps, target string, data []byte, chunk int) error {
			f, err := ops.create(target)
			if err != nil {
				return err
			}
			return ops.writeClose(f, data, chunk)
		}, nil
	case "atomicfile":
		return replaceAtomicfile, nil
	}
	return nil, fmt.Errorf("unknown strategy %q (want one of %v)", strategy, Strategies)
}

// writeAndRename is the temp-then-rename pattern every predictable-name
// strategy shares; only the name differs. A replace that fails removes its
// temp file, as a careful program does, so a full disk does not fill up
// with them; a temp already gone (renamed by a colliding writer) is not
// removed twice.
func (ops *fileOps) writeAndRename(tmp, target string, data []byte, chunk int) error {
	f, err := ops.create(tmp)
	if err != nil {
		return err
	}
	if err = ops.writeClose(f, data, chunk); err == nil {
		err = ops.rename(tmp, target)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		ops.remove(tmp)
	}
	return err
}

// sharesTempNames reports whether two writers of strategy can pick the
// same temp name at once: the names built from the clock.
func sharesTempNames(strategy string) bool {
	return strategy == "timestamp" || strategy == "millis"
}

// lostToCollision reports whether a failed replace of strategy is the race
// itself rather than a failure of the system: a rename that finds its temp
// gone because another writer with the same temp name renamed it first.
func lostToCollision(strategy string, err error) bool {
	var le *os.LinkError
	return sharesTempNames(strategy) && errors.As(err, &le) && le.Op == "rename" && errors.Is(err, fs.ErrNotExist)
}

// writeClose writes data to f in chunks and closes f.
func (ops *fileOps) writeClose(f *os.File, data []byte, chunk int) error {
	if err := writeChunks(f, data, chunk); err != nil {
		f.Close()
		return err
	}
	return ops.close(f)
}

// writeChunks writes data to w in writes of chunk bytes, as the story's
// writer did (all at once when chunk is 0): the smaller the writes, the
// longer a file is half-written.
func writeChunks(w io.Writer, data []byte, chunk int) error {
	if chunk <= 0 {
		chunk = len(data)
	}
	for off := 0; off < len(data); off += chunk {
		if _, err := w.Write(data[off:min(off+chunk, len(data))]); err != nil {
			return err
		}
	}
	return nil
}
