// The few definitions of the kernel's user-space API (linux/types.h,
// linux/bpf.h) that record.c and libbpf's headers in bpf/ use, with the
// kernel's values: the object is compiled with -nostdinc, so no host header
// decides a type or a constant, and x86-64 and arm64 agree on all of them.

#ifndef HEISEN_UAPI_H
#define HEISEN_UAPI_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
};

// bpf_map_update_elem's flags.
enum {
	BPF_ANY = 0,     // create an element or update it
	BPF_NOEXIST = 1, // create it only if it is not there
};

// Map creation flags.
enum {
	BPF_F_NO_PREALLOC = 1U << 0,
};

// bpf_task_storage_get's flags.
enum {
	BPF_LOCAL_STORAGE_GET_F_CREATE = 1ULL << 0,
};

// bpf_ringbuf_output's flags.
enum {
	BPF_RB_NO_WAKEUP = 1ULL << 0,
};

#endif
