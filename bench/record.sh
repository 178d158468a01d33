#!/bin/sh
# What heisen record costs the programs it watches, against strace, on one
# file-syscall-heavy workload, interleaved in one run; then the start
# latency, and loss at a sustained 200,000 events/s with the kernel's
# per-run cost of each probe; then how each observer moves the corruption
# rate of heisen stress's timestamp strategy, pooled over plans. Needs root
# (eBPF) and strace.
#
#   bench/record.sh [rounds] [dir] [plans]
set -eu
cd "$(dirname "$0")"
rounds=${1:-7}
dir=${2:-/var/tmp}
plans=${3:-8}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd .. && go build -o "$bin/heisen" ./cmd/heisen)
go build -o "$bin/recordbench" ./recordbench
echo "== $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, $(strace -V | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin/recordbench" -heisen "$bin/heisen" -dir "$dir" -rounds "$rounds" -plans "$plans"
