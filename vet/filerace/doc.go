// Package filerace defines an Analyzer that finds file-write races and
// replaces that are not crash-safe.
//
// # Analyzer filerace
//
// filerace: find temp files two writers can share, and renames that are not crash-safe
//
// The "safe" way to replace a file is to write a temp file and rename it
// over the target. It is safe only if no other writer can open the same temp
// file, the data is synced before the rename, and the rename stays on one
// file system. filerace reports four ways code gets this wrong, named as
// heisen analyze names them in trails (docs/findings.md):
//
// predictable-temp: a name handed to os.Create, os.OpenFile (without O_EXCL)
// or os.WriteFile that is built, through concatenation, fmt.Sprintf,
// filepath.Join, strconv or helper functions (also in other packages), only
// from time.Now, os.Getpid, counters and constants, and is then renamed (or
// is a temp name). Two writers that compute the same name truncate and
// interleave each other's writes, and the rename publishes a spliced file.
// Names with anything from crypto/rand, math/rand or a uuid package, and
// names from os.CreateTemp or os.MkdirTemp, are not predictable; nor is a
// name created, outside the shared temp directory, where the function
// holds an exclusive file lock on every path to the create (flock with
// LOCK_EX, gofrs/flock, lockfile, or a helper that returns holding one),
// which serializes the writers.
//
// unsynced-rename: a file written, then renamed over its target, with a
// path from the write to the rename that never calls Sync (os.WriteFile
// never does). After a crash the rename can reach the disk before the data.
//
// cross-device-temp: a temp file made in the system temp directory
// (os.CreateTemp("", …), os.TempDir()) and renamed elsewhere: when /tmp is
// another file system the rename fails with EXDEV. A rename whose error
// is only tested against nil, on a branch that does not fail in turn, is
// a failure the code expects (a probe that falls back), and is not
// reported.
//
// in-place-rewrite (a warning): os.WriteFile, os.Create or
// os.OpenFile(…O_TRUNC…) straight onto a path the same package also reads:
// a concurrent reader sees it empty or partial. Paths match across
// functions when they come from one constant, package variable or field
// set in one place, also when passed as an argument to the function that
// writes or reads (a save helper and a load helper both called with the
// options' file name). A path under a directory made by os.MkdirTemp or
// t.TempDir is the run's own and is not reported.
//
// Creates, whole-file writes and renames are also seen through wrapper
// functions that pass a parameter straight to os.Create, os.OpenFile,
// os.WriteFile or os.Rename (facts carry this across packages). A file
// handed to a function the analyzer does not know, or whose descriptor is
// taken, counts as possibly synced: the analyzer prefers silence to a guess.
// A file captured by a closure is followed into the closure.
//
// A finding is silenced by a comment on its line or the line above that
// names the kind and gives a reason:
//
//	//heisen:ignore predictable-temp: one writer, serialized by a lock file
//
// A heisen:ignore comment without a reason is itself reported.
package filerace
