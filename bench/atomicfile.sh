#!/bin/sh
# Compares durable file replacement: atomicfile against google/renameio/v2,
# natefinch/atomic and the raw syscall floor, interleaved in one run on one
# directory, then reports allocations per WriteFile from testing.B.
#
#   bench/atomicfile.sh [dir] [rounds]
#
# dir defaults to /var/tmp, which must be on the file system you care about
# (ext4 here: check with df -T).
set -eu
cd "$(dirname "$0")"
dir=${1:-/var/tmp}
rounds=${2:-15}
echo "== $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, $(df -T "$dir" | awk 'NR==2 {print $2 " on " $1}'), load $(cut -d' ' -f1-3 /proc/loadavg), I/O pressure $(sed -n 's/^some //p' /proc/pressure/io 2>/dev/null | cut -d' ' -f1-2)"
go run ./atomicfilebench -dir "$dir" -rounds "$rounds"
echo "== allocations per op (testing.B)"
TMPDIR=$dir go test -run '^$' -bench 'WriteFile/atomicfile|Batch100x4KiB/atomicfile' -benchtime 200x -benchmem ./atomicfilebench |
	grep -E '^Benchmark' | awk '{print $1, $(NF-1), $NF, $(NF-3), $(NF-2)}'
