// Package ptrace runs a command under ptrace and stops its whole process
// tree only at chosen system calls, using a seccomp filter that returns
// SECCOMP_RET_TRACE for those calls and lets every other call run at full
// speed (the trick strace --seccomp-bpf uses).
//
// It is the one ptrace engine of heisen: the runner delays syscalls with it
// (heisen run --perturb syscall-delay=DUR) and the recorder's ptrace backend
// turns its stops into trail events (heisen record --backend ptrace).
//
// # How the filter gets into the child
//
// A seccomp filter must be installed by the process that will run under it,
// between fork and exec, and Go's os/exec cannot run code there. Run therefore
// starts the current executable (/proc/self/exe) again as a tiny shim: this
// package's init function notices the HEISEN_PTRACE_SHIM environment variable,
// and, on the main thread, before any other package's main runs:
//
//  1. blocks reading a pipe until the tracer has PTRACE_SEIZEd it, so no
//     filtered call can happen untraced (a SECCOMP_RET_TRACE call with no
//     tracer fails with ENOSYS);
//  2. installs the filter with seccomp(2) on its own thread only (no TSYNC:
//     the Go runtime's other threads die at execve anyway). It sets
//     PR_SET_NO_NEW_PRIVS only when the kernel demands it, that is when the
//     caller lacks CAP_SYS_ADMIN, because that flag disables setuid in the
//     traced program;
//  3. execs the target. The filter survives execve and is inherited by every
//     child and thread the target creates.
//
// Any program that imports this package, directly or not, can serve as the
// shim; that includes the heisen binary and every test binary of a package
// that imports it. The alternative, PTRACE_TRACEME through
// SysProcAttr.Ptrace, would leave the tree in the legacy attach mode where
// group-stops cannot be told apart cleanly and PTRACE_LISTEN is unavailable.
//
// # The wait loop
//
// ptrace requests are only accepted from the thread that attached (Go issue
// 28315), so Run does all its work on one goroutine locked to its OS thread,
// forks the shim from that thread, and waits with __WALL|__WNOTHREAD: it reaps
// its own tracees and never a child that another goroutine started with
// os/exec. Children belong to the thread that forked them, and a pooled Go
// thread may have forked for another goroutine before, so Run first picks a
// thread whose /proc/thread-self/children is empty. The thread is never unlocked; it exits with the goroutine, which
// with PTRACE_O_EXITKILL also kills any tracee left behind.
//
// Tracees are followed through fork, vfork, clone and exec. Signals are
// passed through: a signal-delivery stop is resumed with the signal
// re-injected, and a group-stop (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) is held
// with PTRACE_LISTEN, so a stopped tracee stays stopped until SIGCONT, as it
// would untraced.
//
// # Callbacks
//
// Config.Enter is called at every filtered syscall entry (the seccomp stop)
// with the pid, tid, number and six arguments. It returns an Action: Delay
// holds that thread for a while before the call runs (without holding up
// the rest of the tree, which keeps running and stopping), and TraceExit asks
// for a second stop after the call, where Config.Exit sees the same Stop with
// Ret filled in. Callbacks run one at a time on the tracer's thread and must
// not block; Stop.ReadString and Stop.Read read the tracee's memory with
// process_vm_readv, for paths and buffers.
//
// Only native-architecture syscalls are filtered; a 32-bit compat process in
// the tree runs untraced.
package ptrace
