#!/bin/sh
# Compares durable file replacement: atomicfile against google/renameio/v2,
# natefinch/atomic and the raw syscall floor, interleaved in one run on one
# directory, then reports allocations per WriteFile from testing.B.
#
#   bench/atomicfile.sh [dir|fresh-ext4] [rounds]
#
# dir defaults to /var/tmp, which must be on the file system you care about
# (check with df -T). "fresh-ext4" (root only) runs on a new ext4 made with
# mkfs.ext4's defaults (journal, data=ordered) on a loop device backed by a
# file in /var/tmp, and removes it afterwards: the common ext4 set-up, for
# machines whose own file system is not (this VM's root ext4 has no journal
# and is mounted discard, which makes every new inode slow; see
# docs/benchmarks.md).
set -eu
cd "$(dirname "$0")"
dir=${1:-/var/tmp}
rounds=${2:-15}
if [ "$dir" = fresh-ext4 ]; then
	work=$(mktemp -d /var/tmp/atomicfile-ext4.XXXXXX)
	truncate -s 2G "$work/img"
	mkfs.ext4 -q "$work/img"
	mkdir "$work/mnt"
	mount -o loop "$work/img" "$work/mnt"
	trap 'umount "$work/mnt"; rm -rf "$work"' EXIT
	dir=$work/mnt
fi
echo "== $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, $(df -T "$dir" | awk 'NR==2 {print $2 " on " $1}') ($(findmnt -no OPTIONS -T "$dir")), load $(cut -d' ' -f1-3 /proc/loadavg), I/O pressure $(sed -n 's/^some //p' /proc/pressure/io 2>/dev/null | cut -d' ' -f1-2)"
go run ./atomicfilebench -dir "$dir" -rounds "$rounds"
echo "== allocations per op (testing.B)"
TMPDIR=$dir go test -run '^$' -bench 'WriteFile/atomicfile|Batch100x4KiB/atomicfile' -benchtime 200x -benchmem ./atomicfilebench |
	grep -E '^Benchmark' | awk '{print $1, $(NF-1), $NF, $(NF-3), $(NF-2)}'
