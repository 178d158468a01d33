#!/bin/sh
# Corruption rates per strategy and per observer for one fixed
# configuration, the figures of docs/benchmarks.md (stress section).
#
# Every strategy runs under every observer with the same budget, the
# observers interleaved in 3 rounds so that a machine slowing down midway
# slows every column alike. Extra flags are passed on, e.g.
#   bench/stress.sh --think exp:5ms --writes 600   (the story's rare regime)
set -e
cd "$(dirname "$0")/.."
go build -o /tmp/heisen-bench-stress ./cmd/heisen
exec /tmp/heisen-bench-stress stress \
	--strategy timestamp,pid,millis,inplace,uuid,atomicfile \
	--observe none,strace,trail,record \
	--writers 4 --writes 1500 --size 4096 --chunk 1024 --readers 1 "$@"
