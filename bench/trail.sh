#!/bin/sh
# Cost per event of writing a trail: trail.Writer (buffered, unbuffered, the
# atomicfile Trace hook) against encoding/json and the story's fmt log line,
# interleaved round by round, in process CPU time.
#
#   bench/trail.sh [dir] [rounds]     (defaults: /var/tmp 7)
set -eu
cd "$(dirname "$0")"
dir=${1:-/var/tmp}
rounds=${2:-7}
echo "== $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, $(df -T "$dir" | awk 'NR==2 {print $2 " on " $1}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
go run ./trailwriter -dir "$dir" -rounds "$rounds"
echo "== testing.B (wall time: noisy on a shared machine; allocations are exact)"
(cd .. && go test -run '^$' -bench 'Writer|Trace' -benchtime 200000x -benchmem ./trail) | grep -E '^Benchmark'
