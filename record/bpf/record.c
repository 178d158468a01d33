//go:build ignore

// record.c: the kernel half of heisen record. A program on the raw
// sys_exit tracepoint emits one event per call, reading the arguments from
// the registers the call left and resolving the path in the kernel from the
// dentry tree, so that a process that has already exited, closed the fd or
// changed directory cannot make user space guess wrong. It sends a
// continued write or close itself and fills a full event in one of four
// functions, one per group of calls. A program on
// sys_enter remembers only what close destroys before its exit: the file
// behind the fd. Regenerate with `go generate ./record/bpf`.

#include "uapi.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

// Only the kernel fields we read, relocated by CO-RE against the running
// kernel's BTF.
struct qstr {
	union {
		struct {
			__u32 hash;
			__u32 len;
		};
		__u64 hash_len;
	};
	const unsigned char *name;
} __attribute__((preserve_access_index));

struct super_block {
	__u32 s_dev;
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
	long long i_size;
	unsigned long i_ino;
	struct super_block *i_sb;
} __attribute__((preserve_access_index));

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
} __attribute__((preserve_access_index));

struct vfsmount {
	struct dentry *mnt_root;
} __attribute__((preserve_access_index));

struct mount {
	void *mnt_ns; // MNT_NS_INTERNAL for the kernel's own (shared anonymous memory)
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} __attribute__((preserve_access_index));
#define MNT_NS_INTERNAL -22 // ERR_PTR(-EINVAL), the kernel's mark (fs/mount.h)

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} __attribute__((preserve_access_index));

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_flags;
	long long f_pos;
} __attribute__((preserve_access_index));

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_flags;
	unsigned long vm_pgoff; // the mapping's offset in the file, in pages
	struct file *vm_file;
} __attribute__((preserve_access_index));

struct llist_node {
	struct llist_node *next;
} __attribute__((preserve_access_index));

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} __attribute__((preserve_access_index));

struct files_struct {
	struct fdtable *fdt;
} __attribute__((preserve_access_index));

struct fs_struct {
	struct path pwd;
} __attribute__((preserve_access_index));

#if defined(__TARGET_ARCH_x86)
struct thread_info {
	__u32 status;
} __attribute__((preserve_access_index));
#define TS_COMPAT 0x0002 // a 32-bit syscall, numbered from another table
#endif

struct signal_struct {
	struct {
		int counter;
	} live; // threads not yet exiting
} __attribute__((preserve_access_index));

struct task_struct {
#if defined(__TARGET_ARCH_x86)
	struct thread_info thread_info;
#endif
	int pid;
	int tgid;
	struct fs_struct *fs;
	struct files_struct *files;
	struct signal_struct *signal;
} __attribute__((preserve_access_index));

struct linux_binprm {
	const char *filename; // the program as execve was given it
} __attribute__((preserve_access_index));

// Syscall arguments in the registers of the system call ABI, as saved at
// entry. The call leaves them there for the exit tracepoint too; only the
// return value register changes (arm64's first argument register is also
// its return register, hence orig_x0).
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long di, si, dx, r10, r8, r9, orig_ax;
} __attribute__((preserve_access_index));
#define SYSCALL_NR(r) r->orig_ax
// tp_btf hands a trusted pointer: plain loads, no helper calls.
#define SYSCALL_ARGS(r, a) do { \
	a[0] = r->di; a[1] = r->si; a[2] = r->dx; a[3] = r->r10; a[4] = r->r8; a[5] = r->r9; \
} while (0)
#define IS_COMPAT(task) (task->thread_info.status & TS_COMPAT)
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs {
	unsigned long regs[31];
	unsigned long orig_x0;
	int syscallno;
} __attribute__((preserve_access_index));
#define SYSCALL_NR(r) r->syscallno
#define IS_COMPAT(task) 0 // AArch32 tasks are not told apart
#define SYSCALL_ARGS(r, a) do { \
	a[0] = r->orig_x0; a[1] = r->regs[1]; a[2] = r->regs[2]; \
	a[3] = r->regs[3]; a[4] = r->regs[4]; a[5] = r->regs[5]; \
} while (0)
#else
#error "heisen record supports x86-64 and arm64"
#endif

// Operations; the Go side maps syscall numbers to them (arch-specific).
enum op {
	OP_NONE,
	OP_OPEN,      // open(path, flags, mode)
	OP_OPENAT,    // openat(dirfd, path, flags, mode)
	OP_OPENAT2,   // openat2(dirfd, path, how, size)
	OP_CREAT,     // creat(path, mode)
	OP_WRITE,     // write(fd, buf, count)
	OP_PWRITE64,  // pwrite64(fd, buf, count, pos)
	OP_WRITEV,    // writev(fd, iov, vlen)
	OP_PWRITEV,   // pwritev(fd, iov, vlen, pos_l, pos_h)
	OP_FSYNC,     // fsync(fd)
	OP_FDATASYNC, // fdatasync(fd)
	OP_CLOSE,     // close(fd)
	OP_RENAME,    // rename(old, new)
	OP_RENAMEAT,  // renameat(olddirfd, old, newdirfd, new)
	OP_RENAMEAT2, // renameat2(olddirfd, old, newdirfd, new, flags)
	OP_LINK,      // link(old, new)
	OP_LINKAT,    // linkat(olddirfd, old, newdirfd, new, flags)
	OP_UNLINK,    // unlink(path)
	OP_UNLINKAT,  // unlinkat(dirfd, path, flags)
	OP_TRUNCATE,  // truncate(path, length)
	OP_FTRUNCATE, // ftruncate(fd, length)
	OP_DUP,       // dup(oldfd); also fcntl(F_DUPFD, F_DUPFD_CLOEXEC)
	OP_DUP2,      // dup2(oldfd, newfd)
	OP_DUP3,      // dup3(oldfd, newfd, flags)
	OP_FCNTL,     // fcntl(fd, cmd, arg): sent as OP_DUP or OP_SETFD
	OP_IOCTL,     // ioctl(fd, FIOCLEX or FIONCLEX): sent as OP_SETFD
	OP_SETFD,     // close-on-exec set (cloexec 1) or cleared on fd
	OP_CLOSE_RANGE, // close_range(first, last, flags): a close, or a setfd with cloexec
	OP_FORK,      // from sched_process_fork: fd2 is the child
	OP_EXEC,      // from sched_process_exec: the path is the program
	OP_EXIT,      // from sched_process_exit, for the process's last thread
	OP_COPY_FILE_RANGE, // copy_file_range(fd_in, off_in *, fd_out, off_out *, len, flags)
	OP_SENDFILE,  // sendfile(out_fd, in_fd, off_t *offset, count)
	OP_SPLICE,    // splice(fd_in, off_in *, fd_out, off_out *, len, flags)
	OP_PWRITEV2,  // pwritev2(fd, iov, vlen, pos_l, pos_h, flags)
	OP_FALLOCATE, // fallocate(fd, mode, offset, len)
	OP_MMAP,      // mmap(addr, len, prot, flags, fd, off): shared writable file mappings
	OP_MSYNC,     // msync(addr, len, MS_SYNC)
	OP_READ,      // read(fd, buf, count)
	OP_PREAD64,   // pread64(fd, buf, count, pos)
	OP_READV,     // readv(fd, iov, vlen)
	OP_PREADV,    // preadv(fd, iov, vlen, pos_l, pos_h)
	OP_PREADV2,   // preadv2(fd, iov, vlen, pos_l, pos_h, flags)
	OP_FLOCK,     // flock(fd, operation): sent as OP_LOCK or OP_UNLOCK
	OP_LOCK,      // a lock granted or refused; fcntl's lock commands come as this
	OP_UNLOCK,
	OP_IO_URING_SETUP, // io_uring_setup(entries, params): sent as OP_UNTRACED
	OP_UNTRACED,  // the process set up file I/O no probe sees (sys says which)
	OP_MUNMAP,    // munmap(addr, len) of a shared writable file mapping: sent as OP_WRITE
	OP_FICLONE,   // ioctl(dest, FICLONE, src): sent as OP_READ of src and OP_WRITE of dest
	OP_FICLONERANGE, // ioctl(dest, FICLONERANGE, struct file_clone_range *): the same
	OP_OPEN_BY_HANDLE, // open_by_handle_at(mount_fd, handle, flags)
	OP_IO_SETUP,  // io_setup(nr, ctx): sent as OP_UNTRACED (Linux AIO)
	OP_MAX,
};

#define AT_FDCWD -100
#define F_DUPFD 0
#define F_SETFD 2
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC 1
#define FIONCLEX 0x5450
#define FIOCLEX 0x5451
#define FICLONE 0x40049409
#define FICLONERANGE 0x4020940d
#define O_CLOEXEC 02000000
#define CLOSE_RANGE_CLOEXEC 4
#define F_SETLK 6
#define F_SETLKW 7
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#define LOCK_EX 2
#define LOCK_UN 8
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_APPEND 02000
#define SEEK_CUR 1
#define SEEK_END 2
#define S_IFMT 0170000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define S_IFLNK 0120000
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_SHARED_VALIDATE 3
#define MAP_TYPE 0xf
#define MAP_ANONYMOUS 0x20
#define MS_SYNC 4
#define VM_WRITE 0x2
#define VM_SHARED 0x8
#define AT_EMPTY_PATH 0x1000
#define NAME_MASK 0xff   // NAME_MAX is 255
#define PATH_CAP 4096    // longest path piece an event carries
#define PATH_MASK (PATH_CAP - 1)
#define WALK_DEPTH 64    // deepest directory chain followed
#define N_PREFIX 8
#define PREFIX_CAP 256

// Filled in by user space before loading.
volatile const __u32 trace_all = 0;      // 1: every process (except self_tgid)
volatile const __u32 self_tgid = 0;      // the recorder, never traced
volatile const __u32 prefix_count = 0;     // number of --path prefixes in prefixes
volatile const __u32 close_nr = 0;         // this architecture's close syscall number
volatile const __u32 dup2_nr = ~0U;        // and dup2's (none on arm64)
volatile const __u32 dup3_nr = 0;          // and dup3's
volatile const __u32 openat_nr = 0;        // the opens, stamped at entry when they can create
volatile const __u32 openat2_nr = 0;
volatile const __u32 open_nr = ~0U;        // (none on arm64)
volatile const __u32 creat_nr = ~0U;       // (none on arm64)
volatile const __u32 munmap_nr = 0;        // its mapping is gone by the exit
// The calls sys_enter looks at, one bit per syscall number (the ones
// above and the renames, whose entry time their event carries): every
// other call of every process leaves after this one test.
#define ENTER_WORDS 8
volatile const __u64 enter_mask[ENTER_WORDS] = {};

// more continues the sending thread's last event (an open or a write):
// a write (op OP_WRITE) through the same descriptor and file at off, or
// its close (OP_CLOSE). decode.go reads it; bpf2go generates
// RecordMore, whose size a test checks.
struct more {
	__u64 ts;
	__s64 off;
	__s64 len;
	__s64 ret;
	__u32 pid;
	__u32 tid;
	__u32 op;
	__u32 pad;
};

// thread is what a thread's recorded calls leave for its next one.
struct thread {
	__u64 closing; // the struct file * close or dup2/dup3 replaces, from entry to exit
	__u64 opened;  // when an open that can create entered (boot ns), until its exit
	__u64 renamed; // when a rename or unlink entered, until its exit
	__u64 unmapping; // the struct file * of the shared writable mapping munmap removes,
	__s64 unmap_off; // the file offset at its address
	__s64 unmap_len; // and the length of it that munmap covers
	// The thread's last recorded call, when it was a successful open or a
	// complete write whose event was delivered: a complete write through
	// the same fd and file where that left the position, or the close of
	// that fd, under the same name, is sent as a short continuation
	// (struct more). A writer's open, chunks and close are the calls
	// inside its race window; this keeps the probes' time there small.
	__u64 wfile;   // struct file *, or 0
	__u64 wend;    // the file position after it
	__u64 wname;   // the dentry's hash_len and parent then: a rename ends
	__u64 wparent; // the sequence, so the new name gets a full event;
	__u64 wpname;  // so does a rename or move of its directory (the
	__u64 wgparent; // parent's hash_len and parent)
	__u64 wts;     // when it was made
	__s64 wfd;
	struct more more; // the continuation being sent
};

// A write continues a sequence only this soon after the last one, so that
// the reader can forget a thread's last write a little later.
#define MORE_WINDOW_NS 1000000000ULL

// An open that can create is stamped at its entry if it took less than this.
#define OPEN_STAMP_MAX_NS 10000000ULL


// start_seq makes f, just recorded through fd at ts, the thread's last
// call for the next one to continue.
static __always_inline void start_seq(struct thread *t, struct file *f, long fd, __u64 ts)
{
	struct dentry *d = f->f_path.dentry;
	t->wfile = (__u64)f;
	t->wfd = fd;
	t->wend = f->f_pos;
	struct dentry *p = d->d_parent;
	t->wname = d->d_name.hash_len;
	t->wparent = (__u64)p;
	t->wpname = p->d_name.hash_len;
	t->wgparent = (__u64)p->d_parent;
	t->wts = ts;
}

// The event as the ring buffer carries it; four strings follow the header:
// path then to, each split into a directory part resolved from the dentry
// tree and the raw part the process passed. Keep in sync with rawEvent.
struct event {
	__u64 ts;       // boot time at exit, ns
	__u64 dev;      // kernel dev_t (major<<20|minor)
	__u64 ino;
	__s64 off;
	__s64 len;
	__s64 ret;
	__u64 flags;
	__u32 pid;
	__u32 tid;
	__s32 fd;
	__u32 op;
	__u16 path_dir_len;
	__u16 path_len;
	__u16 to_dir_len;
	__u16 to_len;
	char comm[16];
	__u32 fd2;     // dup: the old fd; close and setfd: the range's last fd; fork: the child
	__u8 cloexec;  // dup and setfd: the fd closes on exec
	__u8 mode;     // fork: MODE_SHARED when the child shares the descriptor table
	__u8 sys;      // enum sys: the call, when it is not the op's own
	__u8 lock;     // enum lock: the kind of a lock or unlock
	__u64 entered; // rename, unlink: when the call entered (boot ns), 0 if unknown
};

#define MODE_SHARED 1
#define MODE_EXCLUSIVE 2

// What sys names: the call that made an event, when it is not the op's own.
enum sys {
	SYS_NONE,
	SYS_COPY_FILE_RANGE,
	SYS_SENDFILE,
	SYS_SPLICE,
	SYS_PWRITEV2,
	SYS_FALLOCATE,
	SYS_MMAP,
	SYS_MSYNC,
	SYS_IO_URING_SETUP,
	SYS_IA32,
	SYS_MUNMAP,
	SYS_FICLONE,
	SYS_FICLONERANGE,
	SYS_IO_SETUP,
};

// The kinds of lock.
enum lock {
	LOCK_NONE,
	LOCK_FLOCK,
	LOCK_POSIX, // fcntl F_SETLK, F_SETLKW
	LOCK_OFD,   // fcntl F_OFD_SETLK, F_OFD_SETLKW
};

// dcache remembers a directory's path and the steps of the walk that
// found it (see dir_valid), so that a file's path costs a check of the
// steps instead of a copy of every name on the way: a writer's open of a
// new file sits inside the race window being recorded.
#define DCHAIN 16 // deepest walk cached, counting mount crossings
#define DCACHE_PATH 256
struct dkey {
	__u64 mnt; // struct vfsmount *
	__u64 d;   // struct dentry * of the directory
};
struct dcache {
	__u64 d[DCHAIN];    // the walk's dentry at each step, the directory first
	__u64 mnt[DCHAIN];  // and its struct mount *
	__u64 name[DCHAIN]; // and its name's hash and length (0: a mount crossing)
	__u32 steps;        // 0: not cacheable (too deep, or truncated)
	__u32 len;
	__u32 under;        // the path is under a --path prefix
	__u32 pad;
	char path[DCACHE_PATH];
};

#define DATA_CAP (4 * PATH_CAP) // four pieces of at most PATH_CAP - 1 bytes
#define DATA_MASK (DATA_CAP - 1)
struct scratch {
	struct event ev;
	char data[DATA_CAP + PATH_CAP]; // slack so masked offsets stay in bounds
	char walk[PATH_CAP + PREFIX_CAP + NAME_MASK + 1];
	struct dcache dc; // the entry being built for dirs
	__u64 walk_mnt;   // put_walk_at's arguments: a global function takes
	__u64 walk_d;     // only scalars, and a map value reads back as one
	__u32 walk_under; // and what it found besides the path
	__u64 file;       // sys_exit to its fill programs: the call's struct file *,
	__u64 replaced;   // the one dup2 or dup3 closed on newfd,
	__u64 seq;        // and the file whose sequence the call starts, if sent
};

struct prefix {
	__u32 len;
	char s[PREFIX_CAP];
};


struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

// lost counts, per CPU, every event that was traced but not delivered.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

// ia32 counts, per CPU, the 32-bit system calls of traced processes: they
// are numbered from another table, and not recorded.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ia32 SEC(".maps");

// untraced holds (tgid << 8 | enum sys) of each untraced event sent, so
// that a process gets one per kind.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} untraced SEC(".maps");

// sysop maps a syscall number to an enum op.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} sysop SEC(".maps");

// tracked holds the tgids being recorded; forks of tracked processes join.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct dkey);
	__type(value, struct dcache);
} dirs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, N_PREFIX);
	__type(key, __u32);
	__type(value, struct prefix);
} prefixes SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		*n += 1;
}

static __always_inline int is_traced(__u32 tgid)
{
	if (tgid == self_tgid)
		return 0;
	return trace_all || bpf_map_lookup_elem(&tracked, &tgid);
}

// thread_of returns the storage of the current thread, task, when it is
// traced, creating it at the thread's first recorded call. Only traced
// threads have storage, so after that call finding it replaces the lookup
// in tracked.
static __always_inline struct thread *thread_of(struct task_struct *task, __u32 tgid)
{
	struct thread *t = bpf_task_storage_get(&threads, task, 0, 0);
	if (t || !is_traced(tgid))
		return t;
	t = bpf_task_storage_get(&threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		count_lost();
	return t;
}

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

// TYPED turns an address into a pointer whose fields are read with plain
// loads (a faulting load reads zero), where BPF_CORE_READ calls a helper
// per field: every nanosecond here is added to a recorded syscall. The
// cast itself compiles to nothing.
#define TYPED(type, addr) ((struct type *)bpf_rdonly_cast((void *)(addr), bpf_core_type_id_kernel(struct type)))

static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	if (fd < 0)
		return 0;
	struct fdtable *fdt = task->files->fdt;
	if ((unsigned long)fd >= fdt->max_fds)
		return 0;
	// BTF cannot index an array of pointers with a variable: the slot is
	// read as the one pointer a llist_node holds, a plain load too.
	__u64 f = (__u64)TYPED(llist_node, (__u64)fdt->fd + fd * sizeof(__u64))->next;
	return f ? TYPED(file, f) : 0;
}

struct match_state {
	__u32 off, len; // the two pieces of one path in s->data
	__u32 off2, len2;
	__u32 matched;
};

// prefix_matches reports whether the path in the scratch area's data,
// len bytes at off then len2 at off2, begins with --path prefix k. A
// global function, verified once: inlined in match_one, the verifier went
// through its compare loop again at each of the probes' call sites.
__noinline int prefix_matches(__u32 k, __u32 off, __u32 len, __u32 off2, __u32 len2)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	struct prefix *p = bpf_map_lookup_elem(&prefixes, &k);
	if (!s || !p)
		return 0;
	__u32 n = p->len;
	if (n > PREFIX_CAP || n > len + len2)
		return 0;
	// Copy the first n bytes of the path to the walk area (free again by
	// now) and compare there, 8 bytes at a time; the path may span its
	// two pieces.
	__u32 a = n < len ? n : len;
	barrier_var(a); // keep the masks below: the verifier knows no more of a than they say
	a &= PREFIX_CAP * 2 - 1;
	bpf_probe_read_kernel(s->walk, a, &s->data[off & DATA_MASK]);
	if (a < n)
		bpf_probe_read_kernel(&s->walk[a & (PREFIX_CAP - 1)], (n - a) & (PREFIX_CAP - 1),
				      &s->data[off2 & DATA_MASK]);
	for (__u32 b = 0; b < PREFIX_CAP; b += 8) {
		if (b >= n)
			return 1;
		__u64 x = *(__u64 *)&s->walk[b] ^ *(__u64 *)&p->s[b];
		if (n - b < 8)
			x &= (1ULL << ((n - b) * 8)) - 1; // little-endian: the first bytes are the low ones
		if (x)
			return 0;
	}
	return 1;
}

static long match_one(__u64 i, void *arg)
{
	struct match_state *m = arg;
	if (!prefix_matches(i, m->off, m->len, m->off2, m->len2))
		return 0;
	m->matched = 1;
	return 1;
}

static __always_inline int path_matches(__u32 off, __u32 dir_len, __u32 raw_len)
{
	if (prefix_count == 0)
		return 1;
	if (dir_len + raw_len == 0)
		return 0;
	struct match_state m = {.off = off, .len = dir_len, .off2 = off + dir_len, .len2 = raw_len};
	if (dir_len == 0) {
		m.len = raw_len;
		m.len2 = 0;
	}
	bpf_loop(prefix_count, match_one, &m, 0);
	return m.matched;
}

struct walk_state {
	__u64 d;    // struct dentry *
	__u64 mnt;  // struct mount *
	__u64 root; // mnt's root dentry
	__u32 pos;  // start of the text written so far, from the end
	__u32 rec;  // record the steps in s->dc
};

// stop_rec marks the walk being recorded as one the cache cannot keep.
static __always_inline void stop_rec(struct walk_state *w, struct scratch *s)
{
	w->rec = 0;
	s->dc.steps = 0;
}

static long walk_step(__u64 i, void *arg)
{
	struct walk_state *w = arg;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 1;
	__u32 k = i & (DCHAIN - 1);
	if (w->rec) {
		if (i >= DCHAIN) {
			stop_rec(w, s); // too deep to cache
		} else {
			s->dc.d[k] = w->d;
			s->dc.mnt[k] = w->mnt;
			s->dc.name[k] = 0;
			s->dc.steps = i + 1;
		}
	}
	struct dentry *d = TYPED(dentry, w->d);
	__u64 parent = (__u64)d->d_parent;
	if (w->d == w->root || w->d == parent) {
		struct mount *m = TYPED(mount, w->mnt);
		__u64 mp = (__u64)m->mnt_parent;
		if (w->d != w->root || mp == w->mnt)
			return 1; // the root of everything, or a disconnected tree
		w->d = (__u64)m->mnt_mountpoint;
		w->mnt = mp;
		w->root = (__u64)TYPED(mount, mp)->mnt.mnt_root;
		return 0;
	}
	__u32 len = d->d_name.len & NAME_MASK;
	const unsigned char *name = d->d_name.name;
	if (w->pos < len + 1) {
		stop_rec(w, s); // truncated: the path lacks its start
		return 1;
	}
	if (w->rec)
		s->dc.name[k] = d->d_name.hash_len;
	__u32 off = (w->pos - len) & PATH_MASK;
	bpf_probe_read_kernel(&s->walk[off], len, name);
	off = (off - 1) & PATH_MASK;
	s->walk[off] = '/';
	w->pos = off;
	w->d = parent;
	return 0;
}

// walk_at appends the absolute path of dentry s->walk_d in vfsmount
// s->walk_mnt at data offset off and returns its length; with rec, it also records its steps
// in s->dc (steps 0 if they cannot be cached). The name is built
// backwards in s->walk, ending at PATH_CAP. A global function: the
// verifier checks it once instead of at each of its call sites, which
// halves loading time (the start of every recording).
__noinline __u32 walk_at(__u32 off, __u32 rec)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	__u64 vmnt = s->walk_mnt;
	struct walk_state w = {};
	w.d = s->walk_d;
	w.mnt = vmnt - bpf_core_field_offset(struct mount, mnt);
	w.root = (__u64)TYPED(vfsmount, vmnt)->mnt_root;
	w.pos = PATH_CAP;
	w.rec = rec;
	bpf_loop(WALK_DEPTH, walk_step, &w, 0);
	if (w.pos == PATH_CAP) {
		w.pos = PATH_CAP - 1;
		s->walk[PATH_CAP - 1] = '/';
	}
	__u32 start = w.pos;
	__u32 n = (PATH_CAP - start) & PATH_MASK;
	if (start >= PATH_CAP)
		return 0;
	bpf_probe_read_kernel(&s->data[off & DATA_MASK], n, &s->walk[start & PATH_MASK]);
	return n;
}

// dir_valid reports whether the walk that made c would take the same
// steps today: no directory on the way was renamed or moved (its parent
// or its name's hash and length would differ) and no mount moved. A
// freed dentry reused at the same address under the same parent and name
// has the same path.
static __always_inline int dir_valid(struct dcache *c)
{
	__u32 steps = c->steps;
	for (__u32 i = 0; i < DCHAIN; i++) {
		if (i >= steps)
			return 0;
		__u32 k = i & (DCHAIN - 1), next = (i + 1) & (DCHAIN - 1);
		int last = i + 1 >= steps;
		__u64 dp = c->d[k];
		__u64 mnt = c->mnt[k];
		struct dentry *d = TYPED(dentry, dp);
		struct mount *m = TYPED(mount, mnt);
		__u64 parent = (__u64)d->d_parent;
		if (dp == (__u64)m->mnt.mnt_root || dp == parent) {
			__u64 mp = (__u64)m->mnt_parent;
			if (dp != (__u64)m->mnt.mnt_root || mp == mnt)
				return last; // where the walk ended, still the end
			if (last || c->d[next] != (__u64)m->mnt_mountpoint || c->mnt[next] != mp)
				return 0;
			continue;
		}
		if (last || d->d_name.hash_len != c->name[k] || c->d[next] != parent || c->mnt[next] != mnt)
			return 0;
	}
	return 0;
}

// dir_at appends the absolute path of the directory s->walk_d in the
// vfsmount s->walk_mnt at data offset off and returns its length, from
// dirs (or a walk, which fills dirs). It sets s->walk_under when the
// directory is under a --path prefix.
__noinline __u32 dir_at(__u32 off)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	__u64 dp = s->walk_d, vmnt = s->walk_mnt;
	struct dkey key = {.mnt = vmnt, .d = dp};
	struct dcache *c = bpf_map_lookup_elem(&dirs, &key);
	__u32 n = 0, under = 0;
	int hit = 0;
	if (c && dir_valid(c)) {
		n = c->len & (DCACHE_PATH - 1);
		bpf_probe_read_kernel(&s->data[off & DATA_MASK], n, c->path);
		under = c->under;
		// An LRU element is reused at once, not after a grace period: if
		// another CPU refilled this one for another directory during the
		// copy, its first step no longer names this one.
		hit = c->d[0] == dp && c->mnt[0] == vmnt - bpf_core_field_offset(struct mount, mnt);
	}
	if (!hit) {
		under = 0;
		n = walk_at(off, 1) & PATH_MASK;
		if (s->dc.steps && n < DCACHE_PATH) {
			s->dc.len = n;
			s->dc.under = under = path_matches(off, n, 0);
			bpf_probe_read_kernel(s->dc.path, n & (DCACHE_PATH - 1), &s->data[off & DATA_MASK]);
			bpf_map_update_elem(&dirs, &key, &s->dc, BPF_ANY);
		}
	}
	s->walk_under = under;
	return n;
}

// put_walk_at appends the absolute path of the dentry s->walk_d in the
// vfsmount s->walk_mnt at data offset off and returns its length: its
// directory's path (dir_at) and its name. It sets s->walk_under when the
// directory is under a --path prefix, which makes the file's path match
// without comparing.
__noinline __u32 put_walk_at(__u32 off)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	__u64 dp = s->walk_d, vmnt = s->walk_mnt;
	struct dentry *d = TYPED(dentry, dp);
	__u64 parent = (__u64)d->d_parent;
	s->walk_under = 0;
	if (dp == parent || dp == (__u64)TYPED(vfsmount, vmnt)->mnt_root)
		return walk_at(off, 0); // a mount's root: no name of its own
	s->walk_d = parent;
	__u32 n = dir_at(off) & PATH_MASK;
	s->walk_d = dp;
	__u32 len = d->d_name.len & NAME_MASK;
	if (n == 0 || n + 1 + len >= PATH_CAP) {
		s->walk_under = 0;
		return walk_at(off, 0); // no directory path (a walk that filled PATH_CAP), or too long
	}
	if (n != 1) // the root directory is "/" already
		s->data[(off + n++) & DATA_MASK] = '/';
	bpf_probe_read_kernel(&s->data[(off + n) & DATA_MASK], len, d->d_name.name);
	return n + len;
}

// put_walk appends the absolute path of p at data offset off and returns
// its length.
static __always_inline __u32 put_walk(struct scratch *s, __u32 off, struct path *p)
{
	s->walk_mnt = (__u64)p->mnt;
	s->walk_d = (__u64)p->dentry;
	return put_walk_at(off) & PATH_MASK;
}

// put_user appends the string at user address u and returns its length
// without the NUL.
static __always_inline __u32 put_user(struct scratch *s, __u32 off, __u64 u)
{
	long n = bpf_probe_read_user_str(&s->data[off & DATA_MASK], PATH_CAP, (const void *)u);
	if (n <= 0)
		return 0;
	return (__u32)(n - 1) & PATH_MASK;
}

// put_dir appends the directory a relative path is resolved against:
// the task's cwd for AT_FDCWD, else the path of dirfd.
static __always_inline __u32 put_dir(struct scratch *s, __u32 off, struct task_struct *task, long dirfd)
{
	struct path *p = &task->fs->pwd;
	if ((int)dirfd != AT_FDCWD) {
		struct file *f = fd_file(task, dirfd);
		if (!f)
			return 0;
		p = &f->f_path;
	}
	s->walk_mnt = (__u64)p->mnt;
	s->walk_d = (__u64)p->dentry;
	return dir_at(off) & PATH_MASK;
}

// put_path appends the path argument u relative to dirfd as two pieces: the
// resolved directory (empty when u is absolute) and u itself.
static __always_inline __u32 put_path(struct scratch *s, __u32 off, struct task_struct *task,
				      long dirfd, __u64 u, __u16 *dir_len, __u16 *raw_len)
{
	char first = 0;
	bpf_probe_read_user(&first, 1, (const void *)u);
	__u32 d = 0;
	s->walk_under = 0;
	if (first != '/')
		d = put_dir(s, off, task, dirfd);
	__u32 r = put_user(s, off + d, u);
	*dir_len = d;
	*raw_len = r;
	return d + r;
}

// is_file reports whether f is a file, directory or symlink.
static __always_inline int is_file(struct file *f)
{
	__u16 fmt = f->f_inode->i_mode & S_IFMT;
	return fmt == S_IFREG || fmt == S_IFDIR || fmt == S_IFLNK;
}

// put_inode sets dev and ino from f and reports whether f is a file,
// directory or symlink: pipes, sockets and devices (a shell's stdout, a
// pipe to a pager) are not part of any file race and are not recorded.
static __always_inline int put_inode(struct event *ev, struct file *f)
{
	struct inode *ino = f->f_inode;
	ev->ino = ino->i_ino;
	ev->dev = ino->i_sb->s_dev;
	return is_file(f);
}

// put_file fills the event's inode and path from open file f and returns
// the path's length. It settles keep when it can: 0 for what is not a
// file, 1 when the directory is under a --path prefix.
static __always_inline __u32 put_file(struct scratch *s, struct file *f, int *keep)
{
	if (!put_inode(&s->ev, f)) {
		*keep = 0;
		return 0;
	}
	__u32 n = put_walk(s, 0, &f->f_path);
	s->ev.path_dir_len = n;
	if (s->walk_under)
		*keep = 1;
	return n;
}

// begin starts an event in the scratch area: op, pid, tid, comm, and no
// fd, range or strings yet.
static __always_inline struct scratch *begin(__u32 op, __u32 tgid, __u32 tid)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	struct event *ev = &s->ev;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->pid = tgid;
	ev->tid = tid;
	ev->op = op;
	ev->fd = -1;
	ev->off = -1;
	ev->len = -1;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	return s;
}

// send stamps the event begun in s (unless it has a time already), with n
// bytes of strings, and submits it; it returns non-zero when the ring
// buffer had no room (counted).
static __always_inline int send(struct scratch *s, __u32 n)
{
	if (!s->ev.ts)
		s->ev.ts = bpf_ktime_get_boot_ns();
	// No wake-up: the reader polls. Waking it for every event costs more
	// than the probes themselves.
	if (bpf_ringbuf_output(&events, s, sizeof(s->ev) + (n & DATA_MASK), BPF_RB_NO_WAKEUP)) {
		count_lost();
		return 1;
	}
	return 0;
}

__noinline int paths_match(void);

// kept settles what put_file left unknown (keep < 0): whether the event's
// paths pass the --path prefixes.
static __always_inline int kept(struct scratch *s, int keep)
{
	if (keep >= 0)
		return keep;
	if (!prefix_count)
		return 1;
	return paths_match();
}

// paths_match reports whether the event in the scratch area has a path
// under a --path prefix. A global function, verified once: inlined, the
// verifier went through it once for each kind of call, three times the
// work of the whole program without it.
__noinline int paths_match(void)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	struct event *ev = &s->ev;
	__u32 plen = ev->path_dir_len + ev->path_len;
	if (path_matches(0, ev->path_dir_len, ev->path_len))
		return 1;
	return (ev->to_dir_len + ev->to_len) && path_matches(plen, ev->to_dir_len, ev->to_len);
}

// first_untraced reports whether process tgid has not had an untraced
// event of this kind yet, and notes that it has now.
static __always_inline int first_untraced(__u32 tgid, __u32 sys)
{
	__u64 k = (__u64)tgid << 8 | sys;
	__u8 one = 1;
	return bpf_map_update_elem(&untraced, &k, &one, BPF_NOEXIST) == 0;
}

// compat_call counts a 32-bit system call of a traced process, which the
// syscall table behind sysop does not describe, and says once per process
// that its calls are not recorded.
static __always_inline int compat_call(struct task_struct *task)
{
	__u32 tgid = task->tgid;
	if (!is_traced(tgid))
		return 0;
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&ia32, &zero);
	if (c)
		*c += 1;
	if (!first_untraced(tgid, SYS_IA32))
		return 0;
	struct scratch *s = begin(OP_UNTRACED, tgid, task->pid);
	if (!s)
		return 0;
	s->ev.sys = SYS_IA32;
	s->ev.ret = 0;
	send(s, 0);
	return 0;
}

// prefilter turns a call whose arguments say the trail has no use for it
// into OP_NONE before anything else is looked up (most fcntl and ioctl
// commands, private or read-only mappings, msync without MS_SYNC), and
// fcntl and ioctl into what they do.
static __always_inline __u32 prefilter(__u32 op, __u64 *a, __u8 *cloexec, __u8 *lock)
{
	switch (op) {
	case OP_FCNTL: {
		__u32 cmd = a[1];
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
			*cloexec = cmd == F_DUPFD_CLOEXEC;
			return OP_DUP;
		}
		if (cmd == F_SETFD) {
			*cloexec = a[2] & FD_CLOEXEC;
			return OP_SETFD;
		}
		if (cmd == F_SETLK || cmd == F_SETLKW) {
			*lock = LOCK_POSIX;
			return OP_LOCK;
		}
		if (cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW) {
			*lock = LOCK_OFD;
			return OP_LOCK;
		}
		return OP_NONE;
	}
	case OP_IOCTL: {
		__u32 cmd = a[1];
		if (cmd == FICLONE)
			return OP_FICLONE;
		if (cmd == FICLONERANGE)
			return OP_FICLONERANGE;
		if (cmd != FIOCLEX && cmd != FIONCLEX)
			return OP_NONE;
		*cloexec = cmd == FIOCLEX;
		return OP_SETFD;
	}
	case OP_DUP3:
		*cloexec = (a[2] & O_CLOEXEC) != 0;
		return op;
	case OP_MMAP: {
		__u32 type = a[3] & MAP_TYPE;
		if (!(a[2] & PROT_WRITE) || (type != MAP_SHARED && type != MAP_SHARED_VALIDATE) ||
		    (a[3] & MAP_ANONYMOUS))
			return OP_NONE;
		return op;
	}
	case OP_MSYNC:
		return a[2] & MS_SYNC ? op : OP_NONE;
	case OP_FLOCK:
		*lock = LOCK_FLOCK;
		return op;
	}
	return op;
}

// is_read reports whether op reads a file through one descriptor.
static __always_inline int is_read(__u32 op)
{
	return op >= OP_READ && op <= OP_PREADV2;
}

// fd_op reports whether op's first argument is the descriptor of the file
// it is about.
static __always_inline int fd_op(__u32 op)
{
	return (op >= OP_WRITE && op <= OP_FDATASYNC) || op == OP_FTRUNCATE || op == OP_PWRITEV2 ||
	       op == OP_FALLOCATE || is_read(op) || op == OP_FLOCK || op == OP_LOCK || op == OP_SETFD;
}

// put_range sets the byte range of a read or write through f: an explicit
// position, or where the call left the file position less what it moved
// (also right for O_APPEND, which first moves the position to the end).
static __always_inline void put_range(struct event *ev, __u32 op, struct file *f, __u64 *a, long ret)
{
	__s64 pos = -1;
	switch (op) {
	case OP_PWRITE64:
	case OP_PWRITEV:
	case OP_PREAD64:
	case OP_PREADV:
		pos = a[3];
		break;
	case OP_PWRITEV2:
	case OP_PREADV2:
		pos = a[3]; // -1: the file position
		break;
	}
	if (pos == -1 && f) {
		pos = f->f_pos;
		if (ret > 0)
			pos -= ret;
		else if (!is_read(op) && (f->f_flags & O_APPEND))
			pos = f->f_inode->i_size;
	}
	ev->off = pos;
	if (ret >= 0 && op != OP_WRITE && op != OP_PWRITE64)
		ev->len = ret; // what a vector call or a read moved
	else if (op == OP_WRITE || op == OP_PWRITE64 || op == OP_READ || op == OP_PREAD64)
		ev->len = a[2];
}

// put_side fills the event for one side of a copy between descriptors:
// op (OP_READ or OP_WRITE) on fd, at the offset *offp holds after the call
// (or the file position) less what was moved. It returns the bytes of
// strings and settles keep as put_file does; 0 when fd is not a file.
static __always_inline __u32 put_side(struct scratch *s, struct task_struct *task, long fd, __u64 offp,
				      long ret, __u64 count, __u32 op, int *keep)
{
	struct event *ev = &s->ev;
	ev->op = op;
	ev->fd = fd;
	ev->ts = 0;
	struct file *f = fd_file(task, fd);
	if (!f || !is_file(f)) {
		*keep = 0;
		return 0;
	}
	__s64 pos = f->f_pos;
	if (offp)
		bpf_probe_read_user(&pos, sizeof(pos), (const void *)offp);
	ev->off = ret > 0 ? pos - ret : pos;
	ev->len = ret >= 0 ? ret : (__s64)count;
	*keep = -1;
	return put_file(s, f, keep);
}

// put_lock fills a lock or unlock from flock's operation or fcntl's
// struct flock, with its range made absolute.
static __always_inline void put_lock(struct event *ev, struct file *f, __u64 *a)
{
	if (ev->lock == LOCK_FLOCK) {
		ev->off = 0;
		ev->len = 0;
		if (a[1] & LOCK_UN)
			ev->op = OP_UNLOCK;
		else
			ev->mode = a[1] & LOCK_EX ? MODE_EXCLUSIVE : MODE_SHARED;
		return;
	}
	struct {
		short type;
		short whence;
		__s64 start;
		__s64 len;
	} fl = {};
	bpf_probe_read_user(&fl, sizeof(fl), (const void *)a[2]);
	if (fl.type == F_UNLCK)
		ev->op = OP_UNLOCK;
	else
		ev->mode = fl.type == F_WRLCK ? MODE_EXCLUSIVE : MODE_SHARED;
	if (fl.whence == SEEK_CUR)
		fl.start += f->f_pos;
	else if (fl.whence == SEEK_END)
		fl.start += f->f_inode->i_size;
	if (fl.len < 0) {
		fl.start += fl.len;
		fl.len = -fl.len;
	}
	ev->off = fl.start;
	ev->len = fl.len;
}

#define PAGE_SHIFT 12 // 4 KiB pages (x86-64, and arm64 as Debian builds it)

struct vma_found {
	__u64 addr; // in: the address msync or munmap was given
	__u64 file; // out: the mapping's struct file *, when it is a shared file mapping
	__s64 off;  // out: the file offset at addr
	__s64 len;  // out: the mapping's length from addr
	__u64 flags; // out: its vm_flags
};

static long vma_file(struct task_struct *task, struct vm_area_struct *vma, void *arg)
{
	struct vma_found *v = arg;
	if (vma->vm_flags & VM_SHARED) {
		v->file = (__u64)vma->vm_file;
		v->off = (vma->vm_pgoff << PAGE_SHIFT) + (v->addr - vma->vm_start);
		v->len = vma->vm_end - v->addr;
		v->flags = vma->vm_flags;
	}
	return 0;
}

// unmapping keeps, at munmap's entry, the shared writable file mapping
// at its address: the mapping is gone by the exit, and the stores made
// through it until now are in the file's range it covered. Shared
// anonymous memory (a file of the kernel's own mount) is not a file.
static __always_inline int unmapping(struct task_struct *task, struct thread *t, __u64 *a)
{
	struct vma_found v = {.addr = a[0]};
	t->unmapping = 0;
	bpf_find_vma(task, a[0], vma_file, &v, 0);
	if (!v.file || !(v.flags & VM_WRITE))
		return 0;
	struct file *f = TYPED(file, v.file);
	struct mount *m = TYPED(mount, (__u64)f->f_path.mnt - bpf_core_field_offset(struct mount, mnt));
	if (!is_file(f) || (long)m->mnt_ns == MNT_NS_INTERNAL)
		return 0;
	t->unmapping = v.file;
	t->unmap_off = v.off;
	t->unmap_len = (__s64)a[1] < v.len ? (__s64)a[1] : v.len;
	return 0;
}

// The entry of every syscall (the raw tracepoint: one attachment, detached
// in one RCU grace period, where 40 per-syscall tracepoints took 2.6 s to
// detach). Every call but close is recorded from its exit alone: work done
// here would lengthen each recorded call twice over, and every instant a
// recorded call is made longer can widen the race window being recorded.
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long nr)
{
	if ((unsigned long)nr >= ENTER_WORDS * 64 || !((enter_mask[(nr >> 6) & (ENTER_WORDS - 1)] >> (nr & 63)) & 1))
		return 0;
	int opening = nr == openat_nr || nr == open_nr || nr == openat2_nr || nr == creat_nr;
	__u64 a[6];
	SYSCALL_ARGS(regs, a);
	// Only opens that can create a file are stamped here (openat2's flags
	// are in user memory: all of them).
	if ((nr == openat_nr && !(a[2] & O_CREAT)) || (nr == open_nr && !(a[1] & O_CREAT)))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (IS_COMPAT(task))
		return 0;
	struct thread *t = thread_of(task, task->tgid);
	if (!t)
		return 0;
	if (opening) {
		// A file created here can be renamed by another process before
		// this call's exit probe runs: stamped at exit, its open could
		// come after that rename in the trail.
		t->opened = bpf_ktime_get_boot_ns();
		return 0;
	}
	if (nr == munmap_nr)
		return unmapping(task, t, a);
	if (nr != close_nr && nr != dup2_nr && nr != dup3_nr) {
		// A rename or unlink: it takes effect between its entry and its
		// exit, and can be held up at its exit (freeing the file it
		// replaced or removed) while other processes use the names it
		// changed: user space places it in between (docs/record.md,
		// "Names and times").
		t->renamed = bpf_ktime_get_boot_ns();
		return 0;
	}
	// close releases the fd before its exit, and dup2 and dup3 replace
	// what newfd held; the struct file stays alive until the task returns
	// to user space (fput is deferred), which is after the exit tracepoint.
	t->closing = (__u64)fd_file(task, (long)(nr == close_nr ? a[0] : a[1]));
	return 0;
}

// name_moved reports whether open file f's name differs from the last
// component of the raw path (rlen bytes, ending at data offset end): it
// compares the length and up to 8 bytes at each end, with plain loads.
static __always_inline int name_moved(struct scratch *s, __u32 end, __u32 rlen, struct file *f)
{
	struct dentry *d = f->f_path.dentry;
	__u32 len = d->d_name.len & NAME_MASK;
	if (len == 0 || len > rlen)
		return 1;
	if (len < rlen && s->data[(end - len - 1) & DATA_MASK] != '/')
		return 1;
	__u32 k = len < 8 ? len : 8;
	__u64 mask = k == 8 ? ~0ULL : (1ULL << (k * 8)) - 1;
	__u64 name = (__u64)d->d_name.name;
	__u64 head = TYPED(qstr, name)->hash_len; // any 8 bytes
	__u64 tail = TYPED(qstr, name + len - k)->hash_len;
	__u64 rhead = *(__u64 *)&s->data[(end - len) & DATA_MASK];
	__u64 rtail = *(__u64 *)&s->data[(end - k) & DATA_MASK];
	return ((head ^ rhead) | (tail ^ rtail)) & mask;
}

// put_open fills an open: the name the program passed, resolved against
// its dirfd or working directory, not the name the file has by now (a
// rename by another process between the open and this probe would give
// it the new one); the opened file's dev and ino.
static __always_inline __u32 put_open(struct scratch *s, struct task_struct *task, struct thread *t,
				      __u32 op, __u64 *a, long ret, int *keep)
{
	struct event *ev = &s->ev;
	long dirfd = AT_FDCWD;
	__u64 path = a[0];
	if (op == OP_OPEN) {
		ev->flags = a[1];
	} else if (op == OP_CREAT) {
		ev->flags = O_WRONLY | O_CREAT | O_TRUNC;
	} else {
		dirfd = (long)a[0];
		path = a[1];
		if (op == OP_OPENAT)
			ev->flags = a[2];
		else
			bpf_probe_read_user(&ev->flags, sizeof(ev->flags), (const void *)a[2]);
	}
	__u64 opened = t->opened;
	t->opened = 0;
	struct file *nf = 0;
	if (ret >= 0) {
		ev->fd = ret;
		nf = fd_file(task, ret);
		if (nf && !put_inode(ev, nf)) {
			*keep = 0; // a pipe, a socket, a device
			return 0;
		}
	}
	__u32 n = put_path(s, 0, task, dirfd, path, &ev->path_dir_len, &ev->path_len);
	if (n == 0 && nf) // the name could not be read again: the file's own
		return put_file(s, nf, keep);
	if (opened && nf) {
		// A file this call created has been renamed by another process
		// if its name is no longer the one passed: that rename came after
		// this open, and is stamped at its own exit, so this open is
		// stamped at its entry. Only then: an open can wait long between
		// its entry and its effect, and stamped at entry it would seem
		// to overlap calls it did not. Otherwise it is stamped now, when
		// its name was checked. The reader holds events one poll period
		// (20 ms) to sort them, so an open that took longer keeps the
		// later time.
		__u64 now = bpf_ktime_get_boot_ns();
		ev->ts = now;
		if (name_moved(s, n, ev->path_len, nf) && now - opened < OPEN_STAMP_MAX_NS)
			ev->ts = opened;
	}
	if (ev->path_dir_len && s->walk_under)
		*keep = 1;
	return n;
}

// The groups of calls whose full events one function fills (see
// sys_exit). Tail-called programs instead, verified each on its own and
// at the same time, made the start faster but slowed the story's
// workload under record (docs/record.md, "Start").
enum fill {
	FILL_FD,    // through a descriptor: reads, writes, syncs, close, locks, mappings, setfd
	FILL_OPEN,  // the opens
	FILL_PATH,  // by name: truncate, unlink, rename, link
	FILL_OTHER, // copies and clones between descriptors, dups, close_range, io_uring_setup, io_setup
	FILL_MAX,
};

static __always_inline __u32 fill_of(__u32 op)
{
	switch (op) {
	case OP_OPEN:
	case OP_OPENAT:
	case OP_OPENAT2:
	case OP_CREAT:
	case OP_OPEN_BY_HANDLE:
		return FILL_OPEN;
	case OP_TRUNCATE:
	case OP_UNLINK:
	case OP_UNLINKAT:
	case OP_RENAME:
	case OP_RENAMEAT:
	case OP_RENAMEAT2:
	case OP_LINK:
	case OP_LINKAT:
		return FILL_PATH;
	case OP_COPY_FILE_RANGE:
	case OP_SENDFILE:
	case OP_SPLICE:
	case OP_IO_URING_SETUP:
	case OP_IO_SETUP:
	case OP_FICLONE:
	case OP_FICLONERANGE:
	case OP_DUP:
	case OP_DUP2:
	case OP_DUP3:
	case OP_CLOSE_RANGE:
		return FILL_OTHER;
	}
	return FILL_FD;
}

// call_file returns the file a call through a descriptor is about, and
// takes what the thread's entry probe kept for close, dup2 and dup3 (the
// file closed, or the one newfd held, into *replaced). 0 with *skip set:
// nothing to record.
static __always_inline struct file *call_file(struct task_struct *task, struct thread *t, __u32 op,
					      __u64 *a, __u64 *replaced, int *skip)
{
	if (op == OP_DUP2 || op == OP_DUP3) {
		*replaced = t->closing;
		t->closing = 0;
	}
	struct file *f = 0;
	if (op == OP_CLOSE) {
		if (!t->closing) {
			*skip = 1; // its entry came before recording began
			return 0;
		}
		f = TYPED(file, t->closing);
		t->closing = 0;
	} else if (fd_op(op)) {
		// Another thread could have closed the fd and opened another file
		// under its number since this call began: a process racing with
		// itself on one fd, which no trail can describe anyway.
		f = fd_file(task, (long)a[0]);
	} else if (op == OP_MMAP) {
		f = fd_file(task, (long)a[4]);
	}
	if (f && !is_file(f))
		*skip = 1; // a pipe, a socket, a terminal
	return f;
}

// continued sends a continuation (struct more) when a complete write or a
// read through the position, or the close, continues the thread's
// sequence on file f where its last call left it, under the same names;
// it reports whether it did (or tried: a full ring counts the loss).
static __always_inline int continued(struct thread *t, struct file *f, __u64 wfile, __u32 op, __u64 *a,
				     long ret, int whole, __u32 tgid, __u32 tid)
{
	if (!wfile || wfile != (__u64)f || t->wfd != (long)a[0] || !(whole || op == OP_CLOSE))
		return 0;
	__u64 now = bpf_ktime_get_boot_ns();
	struct dentry *d = f->f_path.dentry;
	struct dentry *p = d->d_parent;
	if (t->wname != d->d_name.hash_len || t->wparent != (__u64)p ||
	    t->wpname != p->d_name.hash_len || t->wgparent != (__u64)p->d_parent ||
	    now - t->wts >= MORE_WINDOW_NS || (op != OP_CLOSE && f->f_pos - ret != t->wend))
		return 0;
	struct more *m = &t->more;
	m->ts = now;
	m->off = op == OP_CLOSE ? -1 : (__s64)t->wend;
	m->len = op == OP_CLOSE ? -1 : ret;
	m->ret = ret;
	m->pid = tgid;
	m->tid = tid;
	m->op = op;
	if (bpf_ringbuf_output(&events, m, sizeof(*m), BPF_RB_NO_WAKEUP)) {
		count_lost();
		return 1;
	}
	if (whole) {
		t->wfile = wfile;
		t->wend += ret;
		t->wts = now;
	}
	return 1;
}

// fill_end sends the event filled with n bytes of strings when it passes
// the filters (keep as put_file leaves it), and starts the thread's
// sequence on s->seq through seqfd when the call made one.
static __always_inline void fill_end(struct scratch *s, struct thread *t, __u32 n, int keep, long seqfd)
{
	if (!kept(s, keep) || send(s, n))
		return;
	if (s->seq)
		start_seq(t, TYPED(file, s->seq), seqfd, s->ev.ts);
}

// fill_fd fills a call through a descriptor: its range, lock or sync,
// and the file's path.
static __always_inline void fill_fd(struct scratch *s, struct task_struct *task, struct thread *t, __u64 *a, long ret)
{
	struct event *ev = &s->ev;
	__u32 op = ev->op;
	struct file *f = s->file ? TYPED(file, s->file) : 0;
	int keep = -1;
	__u32 n = 0;
	switch (op) {
	case OP_MMAP:
		ev->op = OP_WRITE;
		ev->sys = SYS_MMAP;
		ev->fd = a[4];
		ev->off = a[5];
		ev->len = a[1];
		ev->ret = ev->len; // the range may be written (the call returns an address)
		break;
	case OP_MUNMAP:
		if (!t->unmapping)
			return; // not a shared writable file mapping
		f = TYPED(file, t->unmapping);
		t->unmapping = 0;
		ev->op = OP_WRITE;
		ev->sys = SYS_MUNMAP;
		ev->off = t->unmap_off;
		ev->len = t->unmap_len;
		ev->ret = ev->len; // the range may have been written
		break;
	case OP_MSYNC: {
		struct vma_found v = {.addr = a[0]};
		bpf_find_vma(task, a[0], vma_file, &v, 0);
		if (!v.file)
			return;
		f = TYPED(file, v.file);
		if (!is_file(f))
			return;
		ev->op = OP_FDATASYNC;
		ev->sys = SYS_MSYNC;
		ev->off = v.off;
		ev->len = a[1];
		break;
	}
	case OP_FTRUNCATE:
		ev->fd = a[0];
		ev->off = a[1];
		ev->len = 0;
		break;
	case OP_FALLOCATE:
		ev->fd = a[0];
		ev->sys = SYS_FALLOCATE;
		ev->off = a[2];
		ev->len = a[3];
		break;
	case OP_FLOCK:
	case OP_LOCK:
		if (!f)
			return;
		ev->fd = a[0];
		ev->op = OP_LOCK;
		put_lock(ev, f, a);
		break;
	case OP_FSYNC:
	case OP_FDATASYNC:
	case OP_CLOSE:
	case OP_SETFD:
		ev->fd = a[0];
		break;
	default: // the reads and writes
		ev->fd = a[0];
		put_range(ev, op, f, a, ret);
		if (op == OP_PWRITEV2)
			ev->sys = SYS_PWRITEV2;
	}
	if (f)
		n = put_file(s, f, &keep);
	else if (op == OP_MMAP || op == OP_SETFD)
		return;
	fill_end(s, t, n, keep, (long)a[0]);
	return;
}

// fill_open fills an open (put_open); a successful one starts a sequence.
static __always_inline void fill_open(struct scratch *s, struct task_struct *task, struct thread *t, __u64 *a, long ret)
{
	int keep = -1;
	__u32 n;
	if (s->ev.op == OP_OPEN_BY_HANDLE) {
		// No name is passed: the opened file's own.
		struct file *nf = fd_file(task, ret);
		if (!nf)
			return;
		s->ev.fd = ret;
		s->ev.flags = a[2];
		n = put_file(s, nf, &keep);
	} else {
		n = put_open(s, task, t, s->ev.op, a, ret, &keep);
	}
	s->seq = 0;
	if (ret >= 0 && keep != 0)
		s->seq = (__u64)fd_file(task, ret);
	fill_end(s, t, n, keep, ret);
	return;
}

// fill_path fills a call on names: truncate, unlink, rename and link,
// each name resolved against its dirfd or the working directory.
static __always_inline void fill_path(struct scratch *s, struct task_struct *task, struct thread *t, __u64 *a, long ret)
{
	struct event *ev = &s->ev;
	__u32 op = ev->op;
	__u32 n = 0;
	switch (op) {
	case OP_TRUNCATE:
		ev->off = a[1];
		ev->len = 0;
		n = put_path(s, 0, task, AT_FDCWD, a[0], &ev->path_dir_len, &ev->path_len);
		break;
	case OP_UNLINK:
		ev->entered = t->renamed;
		t->renamed = 0;
		n = put_path(s, 0, task, AT_FDCWD, a[0], &ev->path_dir_len, &ev->path_len);
		break;
	case OP_UNLINKAT:
		ev->entered = t->renamed;
		t->renamed = 0;
		ev->flags = a[2];
		n = put_path(s, 0, task, a[0], a[1], &ev->path_dir_len, &ev->path_len);
		break;
	case OP_RENAME:
		ev->entered = t->renamed;
		t->renamed = 0;
		// fallthrough
	case OP_LINK:
		n = put_path(s, 0, task, AT_FDCWD, a[0], &ev->path_dir_len, &ev->path_len);
		n += put_path(s, n, task, AT_FDCWD, a[1], &ev->to_dir_len, &ev->to_len);
		break;
	default: // renameat, renameat2, linkat
		if (op != OP_RENAMEAT)
			ev->flags = a[4];
		if (op != OP_LINKAT) {
			ev->entered = t->renamed;
			t->renamed = 0;
		}
		if (op == OP_LINKAT && (a[4] & AT_EMPTY_PATH)) {
			// linkat(fd, "", …, AT_EMPTY_PATH) links the open file itself.
			char first = 1;
			bpf_probe_read_user(&first, 1, (const void *)a[1]);
			struct file *of = first ? 0 : fd_file(task, (long)a[0]);
			if (of) {
				put_inode(ev, of);
				ev->fd = a[0];
				n = put_walk(s, 0, &of->f_path);
				ev->path_dir_len = n;
				n += put_path(s, n, task, a[2], a[3], &ev->to_dir_len, &ev->to_len);
				break;
			}
		}
		n = put_path(s, 0, task, a[0], a[1], &ev->path_dir_len, &ev->path_len);
		n += put_path(s, n, task, a[2], a[3], &ev->to_dir_len, &ev->to_len);
	}
	fill_end(s, t, n, -1, 0);
	return;
}

// put_copy fills a copy between descriptors: the source is a read, sent
// first; the destination is the write, left in s. splice's other end is
// a pipe, sendfile's often a socket.
static __always_inline __u32 put_copy(struct scratch *s, struct task_struct *task, __u64 *a, long ret, int *keep)
{
	struct event *ev = &s->ev;
	__u32 op = ev->op;
	long in = a[0], out = a[2];
	__u64 inoff = a[1], outoff = a[3], count = a[4];
	ev->sys = op == OP_SPLICE ? SYS_SPLICE : SYS_COPY_FILE_RANGE;
	if (op == OP_SENDFILE) {
		out = a[0];
		in = a[1];
		inoff = a[2];
		outoff = 0;
		count = a[3];
		ev->sys = SYS_SENDFILE;
	}
	if (ret > 0) {
		int k = -1;
		__u32 m = put_side(s, task, in, inoff, ret, count, OP_READ, &k);
		if (kept(s, k))
			send(s, m);
		ev->path_dir_len = 0;
		ev->dev = 0;
		ev->ino = 0;
	}
	return put_side(s, task, out, outoff, ret, count, OP_WRITE, keep);
}

// put_clone fills a clone between descriptors (ioctl FICLONE,
// FICLONERANGE): the source's range is a read, sent first when the call
// succeeded; the destination's, the same length at its offset, is the
// write left in s. A length of 0 reaches the end of the source.
static __always_inline __u32 put_clone(struct scratch *s, struct task_struct *task, __u64 *a, long ret, int *keep)
{
	struct event *ev = &s->ev;
	struct {
		__s64 src_fd;
		__u64 src_offset;
		__u64 src_length;
		__u64 dest_offset;
	} r = {.src_fd = a[2]};
	ev->sys = SYS_FICLONE;
	if (ev->op == OP_FICLONERANGE) {
		bpf_probe_read_user(&r, sizeof(r), (const void *)a[2]);
		ev->sys = SYS_FICLONERANGE;
	}
	struct file *in = fd_file(task, r.src_fd);
	__s64 len = r.src_length;
	if (!len)
		len = in ? in->f_inode->i_size - r.src_offset : -1;
	if (ret == 0 && in && is_file(in)) {
		ev->op = OP_READ;
		ev->fd = r.src_fd;
		ev->off = r.src_offset;
		ev->len = len;
		int k = -1;
		__u32 m = put_file(s, in, &k);
		if (kept(s, k))
			send(s, m);
		ev->path_dir_len = 0;
		ev->ts = 0;
	}
	ev->op = OP_WRITE;
	ev->fd = a[0];
	ev->off = r.dest_offset;
	ev->len = len;
	struct file *out = fd_file(task, (long)a[0]);
	if (!out) {
		*keep = 0;
		return 0;
	}
	*keep = -1;
	return put_file(s, out, keep);
}

// put_dup fills a dup, recorded when either the file duplicated or the
// one newfd held is recorded: a shell's dup2(10, 1) that puts its
// terminal back ends the redirection of 1 to a file. The second path is
// only for the filter.
static __always_inline __u32 put_dup(struct scratch *s, struct task_struct *task, __u64 *a, long ret, int *keep)
{
	struct event *ev = &s->ev;
	ev->fd = ret;
	ev->fd2 = a[0];
	*keep = 0;
	__u32 n = 0;
	struct file *nf = fd_file(task, ret);
	if (nf && is_file(nf)) {
		put_inode(ev, nf);
		n = put_walk(s, 0, &nf->f_path);
		ev->path_dir_len = n;
		*keep = s->walk_under || path_matches(0, n, 0);
	}
	struct file *rf = TYPED(file, s->replaced);
	if (s->replaced && is_file(rf)) {
		__u32 m = put_walk(s, n, &rf->f_path);
		ev->to_dir_len = m;
		*keep = *keep || s->walk_under || path_matches(n, m, 0);
		n += m;
	}
	return n;
}

// fill_other fills copies between descriptors, dups, close_range and
// io_uring_setup.
static __always_inline void fill_other(struct scratch *s, struct task_struct *task, struct thread *t, __u64 *a, long ret)
{
	struct event *ev = &s->ev;
	int keep = -1;
	__u32 n = 0;
	switch (ev->op) {
	case OP_COPY_FILE_RANGE:
	case OP_SENDFILE:
	case OP_SPLICE:
		n = put_copy(s, task, a, ret, &keep);
		break;
	case OP_FICLONE:
	case OP_FICLONERANGE:
		n = put_clone(s, task, a, ret, &keep);
		break;
	case OP_IO_URING_SETUP:
	case OP_IO_SETUP: {
		__u8 sys = ev->op == OP_IO_SETUP ? SYS_IO_SETUP : SYS_IO_URING_SETUP;
		if (!first_untraced(ev->pid, sys))
			return;
		if (sys == SYS_IO_URING_SETUP)
			ev->fd = ret;
		ev->op = OP_UNTRACED;
		ev->sys = sys;
		keep = 1;
		break;
	}
	case OP_CLOSE_RANGE:
		// Not filtered: finding which descriptors of the range were
		// files would cost a walk of the table.
		ev->fd = a[0];
		ev->fd2 = a[1];
		ev->cloexec = (a[2] & CLOSE_RANGE_CLOEXEC) != 0;
		keep = 1;
		break;
	default: // dup, dup2, dup3
		n = put_dup(s, task, a, ret, &keep);
	}
	fill_end(s, t, n, keep, 0);
	return;
}

// The exit of every syscall. A traced call is recorded in three phases:
// what it is about (call_file), a continuation of the thread's sequence
// when it is one (continued: the fast path of a writer's chunks and
// close), else a full event begun here and filled by the function of its
// group (fill_fd, fill_open, fill_path, fill_other).
SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	if (IS_COMPAT(task))
		return compat_call(task);
	__u32 key = SYSCALL_NR(regs);
	__u32 *sop = bpf_map_lookup_elem(&sysop, &key);
	if (!sop || *sop == OP_NONE)
		return 0;
	__u64 a[6];
	SYSCALL_ARGS(regs, a);
	__u8 cloexec = 0, lock = 0;
	__u32 op = prefilter(*sop, a, &cloexec, &lock);
	if (op == OP_NONE)
		return 0;
	__u32 tgid = task->tgid, tid = task->pid;
	struct thread *t = thread_of(task, tgid);
	if (!t)
		return 0;
	__u64 wfile = t->wfile;
	t->wfile = 0; // unless this call continues or starts a sequence
	__u64 replaced = 0;
	int skip = 0;
	struct file *f = call_file(task, t, op, a, &replaced, &skip);
	if (skip)
		return 0;
	// A descriptor call that failed changed nothing, and dup2(fd, fd)
	// nothing either; neither did a failed mapping, unmapping, io_uring_setup
	// or io_setup (a failed open_by_handle_at has no name to record).
	if (((op >= OP_DUP && op <= OP_CLOSE_RANGE) || op == OP_MMAP || op == OP_IO_URING_SETUP ||
	     op == OP_MUNMAP || op == OP_IO_SETUP || op == OP_OPEN_BY_HANDLE) && ret < 0)
		return 0;
	if (op == OP_DUP2 && a[0] == a[1])
		return 0;
	// A complete write, or a read, through the position continues the
	// thread's sequence when it starts where the last call left it.
	int whole = f && ((op == OP_WRITE && ret > 0 && ret == (long)a[2]) || (op == OP_READ && ret >= 0));
	if (continued(t, f, wfile, op, a, ret, whole, tgid, tid))
		return 0;
	struct scratch *s = begin(op, tgid, tid);
	if (!s)
		return 0;
	s->ev.ret = ret;
	s->ev.lock = lock;
	s->ev.cloexec = cloexec;
	s->file = (__u64)f;
	s->replaced = replaced;
	s->seq = whole ? (__u64)f : 0;
	switch (fill_of(op)) {
	case FILL_FD:
		fill_fd(s, task, t, a, ret);
		break;
	case FILL_OPEN:
		fill_open(s, task, t, a, ret);
		break;
	case FILL_PATH:
		fill_path(s, task, t, a, ret);
		break;
	default:
		fill_other(s, task, t, a, ret);
	}
	return 0;
}

// A process forked by a traced one is traced from its first instruction,
// and its parent's event names it: its descriptors start as a copy of the
// parent's (or the same table, with CLONE_FILES). Threads share their
// process's table and get no event. The fork is stamped here, before the
// child can run, also for vfork, whose parent's syscall returns only when
// the child has exec'd or exited.
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	if (bpf_map_lookup_elem(&tracked, &ptgid)) {
		__u8 one = 1;
		bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY);
	} else if (!trace_all || ptgid == self_tgid) {
		return 0;
	}
	if (ctgid == ptgid)
		return 0;
	struct scratch *s = begin(OP_FORK, ptgid, parent->pid);
	if (!s)
		return 0;
	s->ev.fd2 = ctgid;
	if (child->files == parent->files)
		s->ev.mode = MODE_SHARED;
	send(s, 0);
	return 0;
}

// A successful exec: the program's name as execve was given it, resolved
// against the working directory, and the end of the thread's sequence
// (close-on-exec descriptors are gone).
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, int old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = task->tgid;
	if (!is_traced(tgid))
		return 0;
	struct thread *t = bpf_task_storage_get(&threads, task, 0, 0);
	if (t)
		t->wfile = 0;
	struct scratch *s = begin(OP_EXEC, tgid, task->pid);
	if (!s)
		return 0;
	const char *name = bprm->filename;
	char first = 0;
	bpf_probe_read_kernel(&first, 1, name);
	__u32 n = 0;
	if (first != '/')
		n = put_walk(s, 0, &task->fs->pwd);
	s->ev.path_dir_len = n;
	long m = bpf_probe_read_kernel_str(&s->data[n & DATA_MASK], PATH_CAP, name);
	if (m > 0) {
		s->ev.path_len = (m - 1) & PATH_MASK;
		n += s->ev.path_len;
	}
	s->ev.ret = 0;
	send(s, n);
	return 0;
}

// The last thread of a traced process exits: its descriptors close. The
// kernel has counted this thread out of signal->live before this
// tracepoint; when two threads exit at once both may read 0, and the
// delete from tracked lets only one of them report it.
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	if (task->signal->live.counter != 0)
		return 0;
	__u32 tgid = task->tgid;
	if (tgid == self_tgid)
		return 0;
	if (bpf_map_delete_elem(&tracked, &tgid) && !trace_all)
		return 0;
	struct scratch *s = begin(OP_EXIT, tgid, task->pid);
	if (!s)
		return 0;
	s->ev.ret = 0;
	send(s, 0);
	return 0;
}
