// Package atomicfile replaces files race-free and crash-safe.
//
// [WriteFile] and [Create] write the new content to a temporary file in the
// target's directory and rename it over the target, so that a reader opening
// the target sees the complete old content or the complete new content,
// never a mix, and concurrent writers in any number of processes cannot
// trample each other's temporary files. [Update] adds lost-update protection
// for read-modify-write cycles, and [Batch] replaces many files for one round
// of syncs.
//
// # Levels and the system calls they issue
//
// Like glib's G_FILE_SET_CONTENTS_CONSISTENT and _DURABLE, each level is named
// for its guarantee. On Linux, for a target that already exists:
//
//	level       system calls, in order
//	Durable     open(dir, O_RDONLY|O_DIRECTORY)  statx(target)
//	(default)   openat(dir, O_TMPFILE|O_WRONLY)  flock  write…  fdatasync
//	            fstatfs(dir)  [is it btrfs?]
//	            linkat(fd, "", dir, ".<base>.<128 random bits>.tmp", AT_EMPTY_PATH)
//	            [btrfs only: fdatasync again]  renameat2(temp, target, 0)  fsync(dir)
//	AtomicOnly  the same without fstatfs, fdatasync and fsync
//
// fchown and fchmod are added when the target's owner or mode differs from
// what the new file would get; fsync then replaces fdatasync so that the
// mode reaches the disk with the data. Without CAP_DAC_READ_SEARCH, linkat
// goes through /proc/self/fd/N. With [NoClobber] the O_TMPFILE file is
// linked straight to the target (linkat fails if it exists) and nothing is
// renamed.
//
// Where O_TMPFILE is unavailable (overlayfs, some tmpfs and network file
// systems, no /proc and no capability), and on every other system, the temp
// is named: openat(dir, ".<base>.<128 random bits>.tmp",
// O_CREAT|O_EXCL|O_NOFOLLOW, 0600), flock, write…, fchmod(final mode), fsync,
// rename (renameat2 RENAME_NOREPLACE, or link+unlink, for NoClobber), fsync of
// the directory. The name comes from crypto/rand alone, never from the clock
// or the pid. On darwin every sync is F_FULLFSYNC (as os.File.Sync does), and
// RENAME_EXCL serves NoClobber. On Windows the temp is flushed with
// FlushFileBuffers and moved with MoveFileEx, flags MOVEFILE_REPLACE_EXISTING
// and MOVEFILE_WRITE_THROUGH, retried for about a second on sharing
// violations (virus scanners, indexers); Windows cannot sync a directory and
// WRITE_THROUGH stands in for it.
//
// # What a crash can leave
//
// With Durable, once WriteFile or Commit returns nil the new content is on
// stable storage under the target name. If the machine crashes before that,
// the target holds the old content or the new content, complete either way:
// the data is synced before the rename can reach the disk, so the empty or
// truncated files that XFS and ext4 without auto_da_alloc produce after a
// crash cannot happen. With AtomicOnly the same holds for readers and for a
// killed process, but a power loss may leave the old content or, on file
// systems that reorder the rename before the data, an empty or partial file.
//
// A process killed before Commit leaves the target untouched. An unnamed
// O_TMPFILE temp vanishes with it, except in the instant between linkat and
// renameat, when it has its temp name: a process killed exactly then leaves
// a complete temp behind (the kill tests here see that in about one kill in
// ten under heavy journal contention). A named temp is left behind by a kill
// at any moment between its creation and the rename. Every temp is locked
// by its writer while the writer lives (where the file system has locks;
// without them the replace goes on unlocked), so [RemoveStaleTemps] removes
// the leftovers of dead writers and never a live writer's temp. After a power
// loss an O_TMPFILE temp that was never linked is reclaimed by the file
// system.
//
// Every error leaves the target as it was and removes the temp, with one
// exception: an error matching [ErrNotDurable] means the rename happened but
// the directory could not be synced (EINVAL on vboxsf and CIFS), so the new
// content is visible but not known to survive a crash. A temp name is never
// unlinked after a successful rename: by then the name may be another
// writer's.
//
// # Update and Batch
//
// [Update] serializes read-modify-write cycles with an exclusive flock on a
// sidecar file ".<base>.lock", never on the target, so readers never block.
// It protects only against other Updates: a writer that replaces the file
// without Update can have its write overwritten by an Update that read the
// file before it (a lost update, never a torn file), and a writer that
// modifies the file in place can make Update read a half-written file.
//
// A [Batch] is not a transaction: each file is replaced atomically, and a
// crash during Commit can leave any mix of old and new files, none torn and
// none new without its data synced.
//
// # Permissions and owner
//
// An existing target keeps its mode (including setuid, setgid and sticky
// bits) and, where the process is allowed to change them (as root), its
// owner and group; otherwise the new file belongs to the writer. A new file gets perm &^ umask, where perm is WriteFile's argument or
// [WithPerm] (default 0o666), or exactly perm with [IgnoreUmask]. The umask
// is read once from /proc/self/status (assumed 022 where that is missing),
// never by setting it with syscall.Umask, which would race with every
// goroutine creating files. A named temp is 0600 until Commit. Extended
// attributes, ACLs and timestamps are not copied.
//
// # Symbolic links
//
// By default ([ReplaceSymlinks]) a symbolic link at the target path is
// replaced by a regular file, as rename(2) does and as renameio, glib and
// python-atomicwrites do. It is the default because it keeps every write
// inside the directory the caller named: a link planted in a shared or
// attacker-writable directory cannot redirect the write elsewhere, and the
// temp always sits on the same file system as the name being replaced. The
// new file takes the mode and owner of the file the link pointed to.
// [FollowSymlinks] instead replaces the file the link points to (resolving
// every link in the path once, when the replace starts, and creating the
// pointee of a dangling link), which is what dotfile managers and links like
// /etc/resolv.conf expect.
//
// # Tracing
//
// [WithTracer] hands every file operation of a replace to a [Tracer]
// (atomictrail.Tracer writes them to a trail), with the fd, flags, offsets, results and a
// call id grouping the events of one replace. Without a tracer no event is
// built: an untraced WriteFile allocates nothing on Linux.
//
// # Not tested on this machine
//
// The tests run on Linux/amd64 (ext4 and tmpfs, as root and as another
// user). The other Linux ports (32-bit, riscv64, loong64…), darwin and
// Windows only compile and pass go vet and staticcheck here. The btrfs
// second fdatasync and power loss itself (a process kill keeps the page
// cache) are not exercised; ErrNotDurable is checked against a procfs
// directory, which refuses fsync with EINVAL as vboxsf does.
package atomicfile
