// Package record records the file operations of running processes into a
// trail, so that programs nobody can change (Python, shell, C, Go binaries)
// leave the evidence heisen analyze reads.
//
// The eBPF backend records each traced file syscall (open, openat, openat2,
// creat, write, pwrite64, writev, pwritev, fsync, fdatasync, close, rename,
// renameat, renameat2, link, linkat, unlink, unlinkat, truncate, ftruncate)
// from one program at its exit (close also needs its entry). It guarantees:
//
//   - Paths are absolute and resolved in the kernel at the syscall's exit,
//     from the dentry tree of the opened file, of the fd, of dirfd or of the
//     task's working directory, never from /proc after the fact, so a
//     process that has exited, closed the fd or changed directory is still
//     reported right.
//   - Only tracked processes (the started command and every process it
//     forks, or --pid trees, or all with All) and paths under the chosen
//     prefixes cost ring-buffer space; the filters run in the kernel.
//   - No event is lost silently: every event that could not be delivered is
//     counted per CPU and reported as a loss record in the trail.
//
// It does not see file operations made through io_uring or mmap, which do
// not go through these syscalls.
package record
