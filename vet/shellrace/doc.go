// Package shellrace finds file-write races and replaces that are not
// crash-safe in shell scripts (sh, bash, dash), parsed with
// mvdan.cc/sh/v3/syntax. It is the shell front end of heisen vet, beside
// the Go analyzer vet/filerace, and reports the same kinds of finding:
//
// predictable-temp: a file written through a redirect (>, >>, &>), tee, cp,
// dd of=, install, sort -o or rsync --inplace, under a name built from $(date …), $$, $RANDOM, $BASHPID or
// a fixed suffix or name, and then mv'd over another path. Two runs that
// compute the same name (runs in the same second, subshells and background
// jobs that share $$, containers and hosts that reuse pids, two of the
// 32768 values of $RANDOM) truncate and interleave each other's writes, and
// the mv publishes a spliced file. Names from mktemp (or tempfile), and
// names inside a mktemp -d directory, are not predictable; nor is a plain >
// while "set -C" (noclobber) is in effect, which opens with O_EXCL, nor a
// write after "flock FD" in the same subshell, brace group, function or
// script, which the lock serializes.
//
// sed -i and plain rsync are not writes of a name the script chose: each
// writes a temp file of its own, named at random and created with O_EXCL,
// and renames it over the file. Their rename leaves the file's data
// unsynced, though (sed never syncs, rsync only with --fsync), so a temp
// the script synced before sed -i is unsynced again.
//
// unsynced-rename (a warning): a written file mv'd over its target
// with no sync in between (sync FILE, from coreutils 8.24, or a bare sync;
// dd conv=fsync and oflag=sync count too). After a crash the rename can
// reach the disk before the data.
//
// cross-device-temp: a file made in the system temp directory (plain
// mktemp, a /tmp or $TMPDIR path) and mv'd elsewhere. When /tmp is another
// file system mv cannot rename: it copies into the target in place, which a
// reader or a crash sees partial.
//
// The analysis reads a script in source order, as straight-line code:
// variable assignments (also local, export, declare) carry what a name is
// built from, and a write is matched to a later mv by the text of its file
// name with quoting removed ("$out.tmp" and $out.tmp are one name). A name
// it cannot follow (a parameter, an unknown command's output) is not
// predictable: the analysis prefers silence to a guess.
//
// A finding is silenced by a comment on its line or the line above that
// names the kind and gives a reason:
//
//	# heisen:ignore predictable-temp: run by cron alone, under flock
//
// A heisen:ignore comment without a reason is itself reported.
package shellrace
