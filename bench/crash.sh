#!/bin/sh
# heisen crash: what its FUSE layer costs a workload against the same
# workload on the backing file system directly (1000 small replaces with
# fsyncs, and 64 MiB of 64 KiB writes), and the states checked per second
# with "true" as the checker on 100 small replaces. Rounds interleaved,
# medians. Needs root and /dev/fuse.
#
#   bench/crash.sh [rounds] [dir]
set -eu
cd "$(dirname "$0")"
rounds=${1:-5}
dir=${2:-${TMPDIR:-/tmp}}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd .. && go build -o "$bin/heisen" ./cmd/heisen)
go build -o "$bin/crashbench" ./crashbench
echo "== $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), direct runs in $dir ($(stat -f -c %T "$dir"))"
"$bin/crashbench" -heisen "$bin/heisen" -dir "$dir" -rounds "$rounds"
