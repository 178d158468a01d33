#!/bin/sh
# Measures heisen analyze on a large generated trail against baselines, all
# pinned to one CPU (taskset, GOMAXPROCS=1) and interleaved round by round:
#   wc -l          reading the file at all (the floor)
#   encoding/json  decoding every line into a struct (the obvious reader)
#   trail.Reader   heisen's decoder alone
#   analyze        heisen analyze, decoding and analysis (text output to /dev/null)
#   analyze/10     heisen analyze on a trail 10x shorter: the same peak RSS
#                  shows that memory does not grow with the trail
# Then heisen analyze alone on the other shapes of bench/gentrail, each of
# the same length, interleaved the same way: distinct (every replace a new
# file), hotfile (64 appenders on one log), longlived (1,000 processes
# holding 10 descriptors each, with forks), findings (about one finding
# per 4 events). Last, each shape at 10,000,000 events streamed through a
# pipe (gentrail | heisen analyze -, one round): its peak RSS against the
# goal of 100 MiB (with OLD set, the old binary's run follows each).
# Prints, for each, the median CPU time (user+sys: the machine is shared, and
# CPU time is what "per core" means), events per CPU second, median wall
# time and peak RSS, and the ratio of events per CPU second against
# encoding/json (wc's CPU time is below /usr/bin/time's 10 ms resolution:
# read its row as the floor).
#
# With OLD set to a git revision, heisen is also built at that revision and
# every analyze row runs with both binaries in the same rounds, the old one
# as "<row>@old"; the last column is then the ratio of events per CPU
# second of each row against its @old row (above 1: the working tree is
# faster). SHAPES limits the shapes; big=0 skips the streamed runs.
#
#   bench/analyze.sh [events] [rounds] [big]     (defaults: 2000000 5 10000000)
#   OLD=main SHAPES="findings" bench/analyze.sh 1000000 5 0
set -eu
cd "$(dirname "$0")"
events=${1:-2000000}
rounds=${2:-5}
big=${3:-10000000}
shapes=${SHAPES:-distinct hotfile longlived findings}
old=${OLD:-}
cpu=${CPU:-0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
echo "== $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, pinned to CPU $cpu, load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd .. && go build -o "$tmp/heisen" ./cmd/heisen)
if [ -n "$old" ]; then
	mkdir "$tmp/old"
	(cd .. && git archive "$old") | tar -x -C "$tmp/old"
	(cd "$tmp/old" && go build -o "$tmp/heisen-old" ./cmd/heisen)
	echo "old: $old = $(cd .. && git rev-parse --short "$old"), new: the working tree"
fi
go build -o "$tmp/gentrail" ./gentrail
go build -o "$tmp/trailjson" ./trailjson
"$tmp/gentrail" -events "$events" -o "$tmp/big.trail"
"$tmp/gentrail" -events "$((events / 10))" -o "$tmp/small.trail"
for sh in $shapes; do
	"$tmp/gentrail" -shape "$sh" -events "$events" -o "$tmp/$sh.trail" 2>/dev/null
done
echo "trail: $events events, $(($(stat -c %s "$tmp/big.trail") / 1048576)) MiB"

run() { # name events command...: appends "name seconds maxrss_kib events" to results
	name=$1 n=$2
	shift 2
	GOMAXPROCS=1 /usr/bin/time -f "%U %S %e %M" -o "$tmp/time" taskset -c "$cpu" "$@" >/dev/null 2>"$tmp/err" || {
		# analyze exits 1 when it finds races; anything else is a failure.
		code=$?
		[ "$code" -eq 1 ] || { cat "$tmp/err"; exit 1; }
	}
	set -- $(tail -1 "$tmp/time")
	echo "$name $(echo "$1 + $2" | bc) $3 $4 $n" >>"$tmp/results"
}
both() { # name events args...: runs heisen args, and heisen-old args as name@old
	name=$1 n=$2
	shift 2
	run "$name" "$n" "$tmp/heisen" "$@"
	[ -z "$old" ] || run "$name@old" "$n" "$tmp/heisen-old" "$@"
}
for r in $(seq "$rounds"); do
	run wc "$events" wc -l "$tmp/big.trail"
	run encoding/json "$events" "$tmp/trailjson" -decoder json "$tmp/big.trail"
	run trail.Reader "$events" "$tmp/trailjson" -decoder trail "$tmp/big.trail"
	both analyze "$events" analyze "$tmp/big.trail"
	both analyze/10 "$((events / 10))" analyze "$tmp/small.trail"
	for sh in $shapes; do
		both "$sh" "$events" analyze "$tmp/$sh.trail"
	done
done
"$tmp/heisen" analyze --json --fail-on none "$tmp/big.trail" | tail -1 | sed 's/^/analyze summary: /'

awk -v rounds="$rounds" '
	{ c[$1] = c[$1] " " $2; w[$1] = w[$1] " " $3; m[$1] = m[$1] " " $4; n[$1] = $5
	  if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
	function median(s,   a, cnt, i, j, x) {
		cnt = split(s, a, " ")
		for (i = 2; i <= cnt; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return cnt % 2 ? a[(cnt + 1) / 2] : (a[cnt / 2] + a[cnt / 2 + 1]) / 2
	}
	END {
		printf "%-18s %8s %15s %8s %12s %9s %9s\n", "contender", "CPU s", "events/CPU-s", "wall s", "peak RSS MiB", "vs json", "vs old"
		for (i = 1; i <= k; i++) { x = order[i]; cpu[x] = median(c[x]); eps[x] = cpu[x] > 0 ? n[x] / cpu[x] : 0 }
		for (i = 1; i <= k; i++) {
			x = order[i]
			vsold = (x "@old") in eps && eps[x "@old"] > 0 ? sprintf("%8.2fx", eps[x] / eps[x "@old"]) : ""
			printf "%-18s %8.2f %15.0f %8.2f %12.1f %8.2fx %9s\n", x, cpu[x], eps[x], median(w[x]), median(m[x]) / 1024,
				eps[x] / eps["encoding/json"], vsold
		}
		printf "(%d rounds interleaved, medians; ratios of events per CPU second, higher is faster)\n", rounds
	}' "$tmp/results"

[ "$big" -gt 0 ] || exit 0
echo
echo "peak RSS at $big events, streamed (gentrail -shape S | heisen analyze -), one round:"
printf "%-14s %8s %15s %12s\n" shape "CPU s" "events/CPU-s" "peak RSS MiB"
stream() { # name binary shape: one streamed run of binary on big events of shape
	"$tmp/gentrail" -shape "$3" -events "$big" 2>/dev/null |
		GOMAXPROCS=1 /usr/bin/time -f "%U %S %M" -o "$tmp/time" taskset -c "$cpu" "$2" analyze - >/dev/null 2>"$tmp/err" || {
		code=$?
		[ "$code" -eq 1 ] || { cat "$tmp/err"; exit 1; }
	}
	set -- "$1" $(tail -1 "$tmp/time")
	echo "$1 $2 $3 $4 $big" | awk '{ c = $2 + $3; printf "%-14s %8.2f %15.0f %12.1f\n", $1, c, $5 / c, $4 / 1024 }'
}
for sh in mixed $shapes; do
	stream "$sh" "$tmp/heisen" "$sh"
	[ -z "$old" ] || stream "$sh@old" "$tmp/heisen-old" "$sh"
done
