#!/usr/bin/env bash
# vetcorpus.sh runs "heisen vet" over real Go modules that write files, to
# see what it finds there and to catch false positives. It is not part of
# CI's default run: it fetches the modules and their dependencies through
# the Go module proxy with the go command, and vets golang.org/x/tools,
# which takes minutes.
#
# Usage: [HEISEN=path/to/heisen] bench/vetcorpus.sh [module@version ...]
#
# Findings go to $OUT (default $TMPDIR/heisen-vetcorpus), one file per module:
# <name>.txt as heisen vet prints them and <name>.json; a table of counts
# is printed at the end. The verdicts (true or false positive) are written
# by hand in docs/vet-findings.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-${TMPDIR:-/tmp}/heisen-vetcorpus}
modules=("$@")
if [ ${#modules[@]} -eq 0 ]; then
	modules=(
		github.com/google/renameio/v2@v2.0.2
		github.com/google/renameio@v1.0.1
		github.com/natefinch/atomic@v1.0.1
		github.com/rogpeppe/go-internal@v1.16.0
		github.com/spf13/afero@v1.15.0
		github.com/spf13/viper@v1.21.0
		github.com/hashicorp/raft@v1.8.0
		go.etcd.io/bbolt@v1.5.0
		gopkg.in/natefinch/lumberjack.v2@v2.2.1
		github.com/moby/sys/atomicwriter@v0.1.0
		github.com/containerd/continuity@v0.5.0
		github.com/peterbourgon/diskv/v3@v3.0.1
		github.com/dgraph-io/badger/v4@v4.9.6
		github.com/google/go-containerregistry@v0.22.1
		github.com/junegunn/fzf@v0.65.2
		github.com/restic/restic@v0.10.0
		github.com/golang/glog@v1.2.3
		github.com/golang/glog@v1.2.5
		golang.org/x/tools@v0.52.0
	)
fi

work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
mkdir -p "$out" "$work/src"
# HEISEN names a heisen binary to use instead of building this checkout's.
heisen=${HEISEN:-$work/heisen}
[ -n "${HEISEN:-}" ] || (cd "$root" && go build -o "$heisen" ./cmd/heisen)

printf '%-48s %6s %6s %6s %6s %6s %8s\n' module temp sync xdev trunc ignore seconds
for m in "${modules[@]}"; do
	name=$(echo "$m" | tr '/@' '__')
	dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$m" | jq -r .Dir)
	cp -r "$dir" "$work/src/$name"
	chmod -R u+w "$work/src/$name"
	cd "$work/src/$name"
	start=$(date +%s)
	# -mod=mod lets the go command complete go.sum for test dependencies.
	code=0
	GOFLAGS=-mod=mod "$heisen" vet --json ./... >"$out/$name.json" 2>"$out/$name.err" || code=$?
	secs=$(($(date +%s) - start))
	if [ "$code" -eq 2 ]; then
		echo "$m: heisen vet failed, see $out/$name.err" >&2
		continue
	fi
	jq -r '.[] | "\(.file):\(.line):\(.column): \(.message)"' "$out/$name.json" >"$out/$name.txt"
	count() { jq "[.[] | select(.category == \"$1\")] | length" "$out/$name.json"; }
	printf '%-48s %6s %6s %6s %6s %6s %8s\n' "$m" "$(count predictable-temp)" "$(count rename-without-sync)" \
		"$(count cross-device-temp)" "$(count inplace-truncate)" "$(count ignore)" "$secs"
	cd "$root"
done
