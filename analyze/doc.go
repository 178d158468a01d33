// Package analyze reads trails afterwards and names the file-write races in
// them, each finding with the trail lines (file:line) that prove it.
//
// The analysis is one pass over events merged in time order (trail.Merge).
// It models what the kernel would know: per-process descriptor tables
// ((pid, fd) → open window), files followed through renames and links by
// path and, when the trail has them, by (dev, ino), the writers of each
// file since it was created, and the names open for writing. Memory is
// bounded by the windows open at once and the files alive, not by the
// trail's length.
//
// Findings and what each needs in the trail (heisen vet names the same
// mistakes in code with the same names: docs/findings.md):
//
//	temp-collision      error    overlapping write-opens of one path (open with flags; close or rename ends a window)
//	shared-inode-write  error    writes through two names of one file, windows overlapping (write events)
//	torn-rename         error    rename of a file two writers wrote at once since its creation, or another still writes
//	write-after-rename  error    a write through a descriptor opened before the file was renamed into place
//	lost-update         error    a read, then a replace or O_TRUNC rewrite built on it (the read is the
//	                             new content's writer's, a descendant's whose output it takes, or an
//	                             ancestor's own; a sibling's is not), with another tree's replace or
//	                             write of the file between them
//	unsynced-rename     warning  rename over an existing file of data written with no fsync/fdatasync since
//	unsynced-dir        warning  rename with no later fsync of its directory, when durability was asked
//	in-place-rewrite    warning  O_TRUNC open of a final path (a rename target, or a file with earlier content)
//	predictable-temp    warning  a prediction: a file created without O_EXCL (or with it, by another process
//	                             than the renamer: cp then mv), written and renamed over a target, its name
//	                             made only of the clock, the pid, a per-process counter or fixed words (an
//	                             error when a second running writer used the same name)
//	unlocked-update     warning  a prediction: a read, then a replace of the file by the same process tree,
//	                             no lock held, while another running process replaces it too (with
//	                             Options.Concurrent, any such update, or a read then an O_TRUNC rewrite)
//
// Predictions name races a run shows could happen, though they did not.
// A name is read part by part (readName): a Unix time in seconds to
// nanoseconds, in decimal or hex, or a date and time, near the open; the
// pid of the process that made or renamed the file or of an ancestor; a
// number one more than the same writer's last in the same pattern; the
// target's own words and temp words ("tmp", "new"). One part it cannot
// explain (mkstemp's letters, a UUID, a random number) makes the name
// unpredictable; a pid with a counter is unique per process and call.
// A lock held by the writer silences a prediction: a lock the trail
// shows (flock, fcntl), or a lock file of the lock-file protocol, created
// with O_EXCL under a name every writer computes ("x.lock", "LOCK", the
// target's words) before the read or create it guards, and held open or
// renamed over the target (git's index.lock). A lock file's name alone is no lock
// (Cargo.lock is data; "exec 9>x.lock" without flock locks nothing); a race
// that did happen on the target (a collision or torn rename, a lost
// update) replaces it. Writers are processes that could have run at
// once: subshells of one loop, each gone before the next, are one.
//
// Durability is asked either with Options.Durability, or by the writer
// itself: a rename whose source was fsynced or fdatasynced after its last
// write shows that the writer wanted the data on disk, so it must also be
// followed by an fsync of the directory.
//
// Descriptors follow the trail's dup, setfd, fork, exec and exit events:
// a window (one open file description) lasts until the last descriptor
// referring to it closes, in whichever process inherited it. A trail
// without those events (written before they existed) gets two guesses
// instead. A write through a descriptor the trail never opened continues
// the window the same process closed last on that file (the shell's
// "> file": open, dup2 onto stdout, close, exec), and a window never
// closed lasts until its last activity (open, write, truncate), since a
// process that exits without close(2) would otherwise hold its files for
// the rest of the trail. A write whose dev/ino name another file than its
// descriptor's window is the truth: the window ended unseen. A link from
// /proc/<pid>/fd/N names the file open on descriptor N (how an O_TMPFILE
// gets a name). Events naming a host keep its processes apart from other
// hosts' (pids repeat across machines); paths are shared, as on a network
// file system.
//
// Precision: a temp collision needs an O_TRUNC open among the overlapping
// writers or a rename of their file (writers that open without O_TRUNC and
// never rename, as a database, its journal or a log, write their own
// ranges); writers that took a lock through their descriptors are
// coordinated; an in-place rewrite needs a file that held data. Collisions
// and torn renames need windows that really overlapped; writers in turn
// (a linker writes a binary, the go command stamps its build ID, then
// renames it) are not a race.
//
// Near-misses give no finding: the same temp name used in turn (at
// different seconds, or by one process again and again), renames of files
// with one writer or with writers in turn, an O_TRUNC reopen after the
// previous writer closed, appends to a shared log.
// Failed calls (err set or ret < 0) change nothing.
package analyze
