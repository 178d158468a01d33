// Package trail reads and writes trails: JSON Lines records of file
// operations (open, write, fsync, rename, …), one event per line, written
// cheaply by the process that makes them (atomicfile, heisen stress) or by a
// recorder watching it (eBPF, ptrace), and read afterwards by heisen
// analyze. docs/trail-format.md specifies format v1.
//
// A Writer appends events with one write(2) of at most 4 KiB per line (or
// per batch of whole lines when buffered), so several processes can share
// one trail file. A Reader streams events back with a purpose-built parser,
// reporting malformed lines as file:line without stopping, and Merge joins
// several trails in time order.
package trail
