// Package runner runs a flaky command many times under deliberate
// perturbations and tells which timing variable its failures depend on:
// the engine of heisen run.
//
// A bug that vanishes under strace is telling you that syscall latency is
// its variable. runner turns that accident into a measurement: it runs the
// command under each perturbation (syscall delay, one CPU, CPU contention,
// random stops, unbuffered output) and, interleaved with them, under no
// perturbation at all, then tests each failure rate against the baseline.
//
// Guarantees:
//   - Runs are interleaved slot by slot (A B C A B C …) so that drift of the
//     machine hits every perturbation alike; the copies of one slot
//     (Config.Parallel) run at once and all share its perturbation, so busy
//     processes or random stops never leak into another perturbation's runs.
//   - Every run gets its own process group, killed with SIGKILL at the end of
//     the run (and at its timeout), so nothing a run leaves behind competes
//     with the next one.
//   - Verdicts use Fisher's exact two-sided test against the baseline with
//     the Holm correction over the perturbations compared: the chance of
//     any false "raises" or "lowers" in a report is at most Alpha (5%).
//
// How each perturbation works:
//   - syscall-delay=DUR: the command runs under internal/ptrace with a
//     seccomp filter, so only the chosen syscalls stop (the "file" group
//     unless Config.Syscalls says otherwise); each is held DUR before it
//     runs. Other threads keep running.
//   - one-cpu: the command is forked from a thread pinned to one CPU, so the
//     whole tree inherits the mask from its first instruction.
//   - cpu-contention=N: N busy processes (heisen re-executed), pinned round
//     robin to the command's CPUs, for the duration of the slot.
//   - chaos: at random moments a random process of the tree (a /proc ppid
//     walk) is stopped with SIGSTOP for 1–50 ms, never more than 25% of the
//     run's time so far (give or take chaos's own scheduling delay on a
//     loaded machine).
//   - unbuffered: PYTHONUNBUFFERED=1, and stdbuf -o0 -e0 in front of the
//     command when stdbuf is installed (libc stdio of dynamically linked
//     programs).
//
// With Config.Record (heisen run --record) every run is recorded by the
// eBPF recorder of package record, tracked from before its command's first
// instruction (a held sh that execs it, or the ptrace shim), and the trail of
// each failing run is kept beside its output for heisen analyze.
//
// Like internal/ptrace, the package re-executes the current binary: an init
// function turns it into a busy loop when HEISEN_RUNNER_SPIN is set.
package runner
