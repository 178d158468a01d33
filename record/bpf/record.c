//go:build ignore

// record.c: the kernel half of heisen record. A program on the raw
// sys_exit tracepoint emits one event per call, reading the arguments from
// the registers the call left and resolving the path in the kernel from the
// dentry tree, so that a process that has already exited, closed the fd or
// changed directory cannot make user space guess wrong. A program on
// sys_enter remembers only what close destroys before its exit: the file
// behind the fd. Regenerate with `go generate ./record/bpf`.

#include <linux/bpf.h>
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
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} __attribute__((preserve_access_index));

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

struct task_struct {
#if defined(__TARGET_ARCH_x86)
	struct thread_info thread_info;
#endif
	int pid;
	int tgid;
	struct fs_struct *fs;
	struct files_struct *files;
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
	OP_MAX,
};

#define AT_FDCWD -100
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

// thread is what a thread's recorded calls leave for its next one.
struct thread {
	__u64 closing; // close's struct file *, from its entry to its exit
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
};

// A write continues a sequence only this soon after the last one, so that
// the reader can forget a thread's last write a little later.
#define MORE_WINDOW_NS 1000000000ULL

// more continues the sending thread's last event (an open or a write):
// a write (op OP_WRITE) through the same descriptor and file at off, or
// its close (OP_CLOSE). Keep in sync with moreSize in decode.go.
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

// The entry of every syscall (the raw tracepoint: one attachment, detached
// in one RCU grace period, where 40 per-syscall tracepoints took 2.6 s to
// detach). Every call but close is recorded from its exit alone: work done
// here would lengthen each recorded call twice over, and every instant a
// recorded call is made longer can widen the race window being recorded.
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long nr)
{
	if (nr != close_nr)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (IS_COMPAT(task))
		return 0;
	struct thread *t = thread_of(task, task->tgid);
	if (!t)
		return 0;
	// close releases the fd before its exit; the struct file stays alive
	// until the task returns to user space (fput is deferred), which is
	// after the exit tracepoint.
	__u64 a[6];
	SYSCALL_ARGS(regs, a);
	t->closing = (__u64)fd_file(task, (long)a[0]);
	return 0;
}

struct match_state {
	__u32 off, len; // the two pieces of one path in s->data
	__u32 off2, len2;
	__u32 matched;
};

static long match_one(__u64 i, void *arg)
{
	struct match_state *m = arg;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	__u32 k = i;
	struct prefix *p = bpf_map_lookup_elem(&prefixes, &k);
	if (!s || !p)
		return 1;
	__u32 n = p->len;
	if (n > PREFIX_CAP || n > m->len + m->len2)
		return 0;
	// Copy the first n bytes of the path to the walk area (free again by
	// now) and compare there; the path may span its two pieces.
	__u32 a = n < m->len ? n : m->len;
	bpf_probe_read_kernel(s->walk, a & (PREFIX_CAP * 2 - 1) & 0x1ff, &s->data[m->off & DATA_MASK]);
	if (a < n)
		bpf_probe_read_kernel(&s->walk[a & (PREFIX_CAP - 1)], (n - a) & (PREFIX_CAP - 1),
				      &s->data[m->off2 & DATA_MASK]);
	for (__u32 j = 0; j < PREFIX_CAP; j++) {
		if (j >= n) {
			m->matched = 1;
			return 1;
		}
		if (s->walk[j] != p->s[j])
			return 0;
	}
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

// put_walk_at appends the absolute path of the dentry s->walk_d in the
// vfsmount s->walk_mnt at data offset off and returns its length: its
// directory's path from dirs (or a walk, which fills dirs), then its
// name. It sets s->walk_under when the directory is under a --path prefix,
// which makes the file's path match without comparing.
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
	struct dkey key = {.mnt = vmnt, .d = parent};
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
		hit = c->d[0] == parent && c->mnt[0] == vmnt - bpf_core_field_offset(struct mount, mnt);
	}
	if (!hit) {
		under = 0;
		s->walk_d = parent;
		n = walk_at(off, 1) & PATH_MASK;
		s->walk_d = dp;
		if (s->dc.steps && n < DCACHE_PATH) {
			s->dc.len = n;
			s->dc.under = under = path_matches(off, n, 0);
			bpf_probe_read_kernel(s->dc.path, n & (DCACHE_PATH - 1), &s->data[off & DATA_MASK]);
			bpf_map_update_elem(&dirs, &key, &s->dc, BPF_ANY);
		}
	}
	__u32 len = d->d_name.len & NAME_MASK;
	if (n == 0 || n + 1 + len >= PATH_CAP)
		return walk_at(off, 0); // no directory path (a walk that filled PATH_CAP), or too long
	s->walk_under = under;
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
	if ((int)dirfd == AT_FDCWD)
		return put_walk(s, off, &task->fs->pwd);
	struct file *f = fd_file(task, dirfd);
	if (!f)
		return 0;
	return put_walk(s, off, &f->f_path);
}

// put_path appends the path argument u relative to dirfd as two pieces: the
// resolved directory (empty when u is absolute) and u itself.
static __always_inline __u32 put_path(struct scratch *s, __u32 off, struct task_struct *task,
				      long dirfd, __u64 u, __u16 *dir_len, __u16 *raw_len)
{
	char first = 0;
	bpf_probe_read_user(&first, 1, (const void *)u);
	__u32 d = 0;
	if (first != '/')
		d = put_dir(s, off, task, dirfd);
	__u32 r = put_user(s, off + d, u);
	*dir_len = d;
	*raw_len = r;
	return d + r;
}

// put_inode sets dev and ino from f and reports whether f is a file,
// directory or symlink: pipes, sockets and devices (a shell's stdout, a
// pipe to a pager) are not part of any file race and are not recorded.
static __always_inline int put_inode(struct event *ev, struct file *f)
{
	struct inode *ino = f->f_inode;
	ev->ino = ino->i_ino;
	ev->dev = ino->i_sb->s_dev;
	__u16 fmt = ino->i_mode & 0170000;
	return fmt == 0100000 || fmt == 0040000 || fmt == 0120000;
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

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u32 key = SYSCALL_NR(regs);
	__u32 *sop = bpf_map_lookup_elem(&sysop, &key);
	if (!sop || *sop == OP_NONE)
		return 0;
	__u32 op = *sop;
	struct task_struct *task = bpf_get_current_task_btf();
	if (IS_COMPAT(task))
		return 0;
	__u32 tgid = task->tgid, tid = task->pid;
	struct thread *t = thread_of(task, tgid);
	if (!t)
		return 0;
	__u64 a[6];
	SYSCALL_ARGS(regs, a);
	__u64 wfile = t->wfile;
	t->wfile = 0; // unless this call is a write that continues or starts a sequence
	struct file *f = 0;
	if (op == OP_CLOSE) {
		if (!t->closing)
			return 0; // its entry came before recording began
		f = TYPED(file, t->closing);
		t->closing = 0;
	} else if ((op >= OP_WRITE && op <= OP_FDATASYNC) || op == OP_FTRUNCATE) {
		// Another thread could have closed the fd and opened another file
		// under its number since this call began: a process racing with
		// itself on one fd, which no trail can describe anyway.
		f = fd_file(task, (long)a[0]);
	}
	int whole = op == OP_WRITE && f && ret > 0 && ret == (long)a[2];
	if (wfile && wfile == (__u64)f && t->wfd == (long)a[0] && (whole || op == OP_CLOSE)) {
		__u64 now = bpf_ktime_get_boot_ns();
		struct dentry *d = f->f_path.dentry;
		struct dentry *p = d->d_parent;
		if (t->wname == d->d_name.hash_len && t->wparent == (__u64)p &&
		    t->wpname == p->d_name.hash_len && t->wgparent == (__u64)p->d_parent &&
		    now - t->wts < MORE_WINDOW_NS && (op == OP_CLOSE || f->f_pos - ret == t->wend)) {
			struct more m = {
				.ts = now,
				.off = op == OP_CLOSE ? -1 : (__s64)t->wend,
				.len = op == OP_CLOSE ? -1 : ret,
				.ret = ret,
				.pid = tgid,
				.tid = tid,
				.op = op,
			};
			if (bpf_ringbuf_output(&events, &m, sizeof(m), BPF_RB_NO_WAKEUP)) {
				count_lost();
				return 0;
			}
			if (whole) {
				t->wfile = wfile;
				t->wend += ret;
				t->wts = now;
			}
			return 0;
		}
	}
	struct file *seq = 0; // the file whose sequence this call starts, if delivered
	long seqfd = (long)a[0];
	if (whole)
		seq = f;

	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	struct event *ev = &s->ev;

	__builtin_memset(ev, 0, sizeof(*ev));
	ev->pid = tgid;
	ev->tid = tid;
	ev->op = op;
	ev->ret = ret;
	ev->fd = -1;
	ev->off = -1;
	ev->len = -1;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));

	__u32 n = 0;         // bytes of strings
	int keep = -1;       // known to pass (1) or fail (0) the filters
	switch (op) {
	case OP_OPEN:
	case OP_OPENAT:
	case OP_OPENAT2:
	case OP_CREAT: {
		long dirfd = AT_FDCWD;
		__u64 path = a[0];
		if (op == OP_OPEN) {
			ev->flags = a[1];
		} else if (op == OP_CREAT) {
			ev->flags = 01 | 0100 | 01000; // O_WRONLY|O_CREAT|O_TRUNC
		} else {
			dirfd = (long)a[0];
			path = a[1];
			if (op == OP_OPENAT)
				ev->flags = a[2];
			else
				bpf_probe_read_user(&ev->flags, sizeof(ev->flags), (const void *)a[2]);
		}
		if (ret >= 0) {
			// The opened file names itself: no dirfd or cwd to trust.
			ev->fd = ret;
			struct file *nf = fd_file(task, ret);
			if (nf) {
				seq = nf;
				seqfd = ret;
				n = put_file(s, nf, &keep);
				break;
			}
		}
		n = put_path(s, 0, task, dirfd, path, &ev->path_dir_len, &ev->path_len);
		break;
	}
	case OP_WRITE:
	case OP_PWRITE64:
	case OP_WRITEV:
	case OP_PWRITEV:
	case OP_FSYNC:
	case OP_FDATASYNC:
	case OP_CLOSE:
	case OP_FTRUNCATE:
		ev->fd = a[0];
		if ((op == OP_WRITE || op == OP_WRITEV) && f) {
			// The call has moved the position past what it wrote, also
			// for O_APPEND (which first moves it to the end).
			ev->off = f->f_pos;
			if (ret > 0)
				ev->off -= ret;
			else if (f->f_flags & 02000)
				ev->off = f->f_inode->i_size;
		} else if (op == OP_PWRITE64 || op == OP_PWRITEV)
			ev->off = a[3];
		if (op == OP_WRITE || op == OP_PWRITE64)
			ev->len = a[2];
		else if ((op == OP_WRITEV || op == OP_PWRITEV) && ret >= 0)
			ev->len = ret;
		else if (op == OP_FTRUNCATE) {
			ev->off = a[1];
			ev->len = 0;
		}
		if (f)
			n = put_file(s, f, &keep);
		break;
	case OP_TRUNCATE:
		ev->off = a[1];
		ev->len = 0;
		n = put_path(s, 0, task, AT_FDCWD, a[0], &ev->path_dir_len, &ev->path_len);
		break;
	case OP_UNLINK:
		n = put_path(s, 0, task, AT_FDCWD, a[0], &ev->path_dir_len, &ev->path_len);
		break;
	case OP_UNLINKAT:
		ev->flags = a[2];
		n = put_path(s, 0, task, a[0], a[1], &ev->path_dir_len, &ev->path_len);
		break;
	case OP_RENAME:
	case OP_LINK:
		n = put_path(s, 0, task, AT_FDCWD, a[0], &ev->path_dir_len, &ev->path_len);
		n += put_path(s, n, task, AT_FDCWD, a[1], &ev->to_dir_len, &ev->to_len);
		break;
	case OP_RENAMEAT:
	case OP_RENAMEAT2:
	case OP_LINKAT:
		if (op != OP_RENAMEAT)
			ev->flags = a[4];
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
		break;
	}
	if (keep < 0) {
		keep = 1;
		if (prefix_count) {
			__u32 plen = ev->path_dir_len + ev->path_len;
			keep = path_matches(0, ev->path_dir_len, ev->path_len);
			if (!keep && (ev->to_dir_len + ev->to_len))
				keep = path_matches(plen, ev->to_dir_len, ev->to_len);
		}
	}
	if (!keep)
		return 0;

	ev->ts = bpf_ktime_get_boot_ns();
	__u32 size = sizeof(*ev) + (n & DATA_MASK);
	// No wake-up: the reader polls. Waking it for every event costs more
	// than the probes themselves.
	if (bpf_ringbuf_output(&events, s, size, BPF_RB_NO_WAKEUP)) {
		count_lost();
		return 0;
	}
	if (seq)
		start_seq(t, seq, seqfd, ev->ts);
	return 0;
}

// A process forked by a tracked one is tracked from its first instruction.
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid;
	if (!bpf_map_lookup_elem(&tracked, &ptgid))
		return 0;
	__u32 ctgid = child->tgid;
	__u8 one = 1;
	bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int on_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	if (tid == tgid)
		bpf_map_delete_elem(&tracked, &tgid);
	return 0;
}
