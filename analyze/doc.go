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
// Findings and what each needs in the trail:
//
//	temp-collision      error    overlapping write-opens of one path (open with flags; close or rename ends a window)
//	shared-inode-write  error    writes through two names of one file, windows overlapping (write events)
//	torn-rename         error    rename of a file two writers wrote at once since its creation, or another still writes
//	write-after-rename  error    a write through a descriptor opened before the file was renamed into place
//	lost-update         error    two read → replace windows on one target overlapping, each read tied to its
//	                             replace by a call id or held open across it (a closed read may be a verification)
//	unsynced-rename     warning  rename over an existing file of data written with no fsync/fdatasync since
//	unsynced-dir        warning  rename with no later fsync of its directory, when durability was asked
//	in-place-rewrite    warning  O_TRUNC open of a final path (a rename target, or a file with earlier content)
//
// Durability is asked either with Options.Durability, or by the writer
// itself: a rename whose source was fsynced or fdatasynced after its last
// write shows that the writer wanted the data on disk, so it must also be
// followed by an fsync of the directory.
//
// Recorders see syscalls, not a program's intent, so the model fills two
// gaps. A write through a descriptor the trail never opened continues the
// window the same process closed last on that file: the shell's "> file"
// opens on one descriptor, dup2s it to stdout, closes the original and
// execs the command, and dup2 is not recorded. A link from
// /proc/<pid>/fd/N names the file open on descriptor N (how an O_TMPFILE
// gets a name). Writes through descriptors inherited from another process
// stay unattributed, so a log shared by a process tree is no collision.
// Events naming a host keep its processes apart from other hosts' (pids
// repeat across machines); paths are shared, as on a network file system.
//
// A window lasts from its open to its close. Recorders see no process
// exit, and the kernel closes an exiting process's files without close(2),
// so a window never closed lasts until its last activity (open, write,
// truncate): otherwise a process that exited would hold its files for the
// rest of the trail and collide with every later writer. Collisions and
// torn renames need windows that really overlapped; writers in turn (a
// linker writes a binary, the go command stamps its build ID, then renames
// it) are not a race.
//
// Near-misses give no finding: the same temp name used in turn (at
// different seconds, or by one process again and again), renames of files
// with one writer or with writers in turn, an O_TRUNC reopen after the
// previous writer closed, appends to a shared log.
// Failed calls (err set or ret < 0) change nothing.
package analyze
