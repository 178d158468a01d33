// Package crash models what a file system may keep after a power loss.
//
// It reads the operation log that crash/fusefs writes while a workload runs
// (every mutation with its data, every durability point, and the workload's
// stdout lines with their position among the operations), and for each
// crash point lists the states a crash model allows: which of the
// operations not yet made durable survived, whole, in part or not at all.
// A state is materialized into a directory from the log alone, so the
// workload runs once however many states are checked.
//
// Two models: Posix (the strictest that POSIX and Linux allow) and
// Ext4Ordered (ext4 with data=ordered and auto_da_alloc). docs/crash.md
// describes both with their sources.
package crash
