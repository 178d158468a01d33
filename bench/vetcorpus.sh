#!/usr/bin/env bash
# vetcorpus.sh runs "heisen vet" over real Go modules that write files, to
# see what it finds there and to catch false positives. It is not part of
# CI's default run: it fetches the modules and their dependencies through
# the Go module proxy with the go command, and vets golang.org/x/tools,
# which takes minutes.
#
# Usage: [HEISEN=path/to/heisen] [REPOS=dir] bench/vetcorpus.sh [entry ...]
#
# An entry is module@version[#patterns]: it vets ./... of the module, or
# the packages #patterns names, separated by commas
# (go-ethereum@v1.10.26#./accounts/keystore/...). git:owner/name@rev is a
# GitHub repository at a commit, for code the module proxy does not serve
# (a repository whose go.mod names another path, a commit before a fix):
# it is cloned, or taken from REPOS/owner+name/repo when that bare clone
# exists, and the commit extracted with git archive. An entry that starts
# with / is a directory already checked out. A repository with vendor.mod
# and no go.mod (docker/cli) is vetted with vendor.mod as its go.mod, as
# its own Makefile does.
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
		github.com/prometheus/prometheus@v0.54.1
		github.com/gohugoio/hugo@v0.136.5
		'github.com/ethereum/go-ethereum@v1.10.26#./accounts/keystore/...'
		github.com/opencontainers/runc@v1.1.0
		go.etcd.io/etcd/server/v3@v3.5.0
		github.com/tidwall/buntdb@v1.3.0
		github.com/syndtr/goleveldb@v1.0.0
		github.com/nightlyone/lockfile@v1.0.0
		github.com/boltdb/bolt@v1.3.1
		github.com/sevlyar/go-daemon@v0.1.6
		github.com/dchest/safefile@v0.0.0-20151022103144-855e8d98f185
		# The public fixes issue 19 names, at the commit before each fix
		# (or the newest, where none was made).
		git:folbricht/routedns@e9a5ab6b6ef14b70367732f4132160581c49b05b
		git:JRpersonal/streborn@336e1835d67cb61b871fa1470ce697a0621a9465
		git:nchapman/llemme@a141619d4fe3b442d21becaac7747e0eb1f8289d
		'git:docker/cli@28f756087eea5fa301f3fbf12b01ae62f91521c2#./cli/config/...'
		'github.com/restic/restic@v0.13.0#./internal/cache/...,./internal/fs/...'
		'code.gitea.io/gitea@v1.22.3#./models,./cmd,./tests'
	)
fi

work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
mkdir -p "$out" "$work/src"
# HEISEN names a heisen binary to use instead of building this checkout's.
heisen=${HEISEN:-$work/heisen}
[ -n "${HEISEN:-}" ] || (cd "$root" && go build -o "$heisen" ./cmd/heisen)

printf '%-48s %6s %6s %6s %6s %6s %8s %8s %8s %s\n' module temp sync xdev trunc ignore seconds userCPU peakMB load
for m in "${modules[@]}"; do
	pattern=./...
	case $m in *'#'*) pattern=${m#*#} m=${m%%#*} ;; esac
	name=$(echo "$m" | tr '/@^~:' '_____')
	if [[ $m == /* ]]; then
		dir=$m
		name=$(basename "$m")
	elif [[ $m == git:* ]]; then
		repo=${m#git:} repo=${repo%@*} rev=${m##*@}
		git=${REPOS:-/nonexistent}/${repo/\//+}/repo
		if [ ! -d "$git" ]; then
			git=$work/git/${repo/\//+}
			[ -d "$git" ] || git clone --quiet --bare "https://github.com/$repo" "$git"
		fi
		dir=$work/tree/$name
		mkdir -p "$dir"
		git -C "$git" archive "$rev" | tar -x -C "$dir"
	else
		dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$m" | jq -r .Dir)
	fi
	cp -r "$dir" "$work/src/$name"
	chmod -R u+w "$work/src/$name"
	cd "$work/src/$name"
	# A module of a multi-module repository (etcd's server) replaces its
	# siblings by relative paths the module zip does not hold: take them
	# from the proxy instead.
	# A module older than modules (boltdb/bolt) gets a go.mod naming it.
	if [ ! -f go.mod ] && [ -f vendor.mod ]; then
		cp vendor.mod go.mod
		[ ! -f vendor.sum ] || cp vendor.sum go.sum
	fi
	[ -f go.mod ] || [[ $m == /* || $m == git:* ]] || go mod init "${m%@*}" 2>/dev/null
	if [ -f go.mod ]; then
		go mod edit -json | jq -r '.Replace[]? | select(.New.Path | startswith(".")) | .Old.Path' |
			while read -r old; do go mod edit -dropreplace="$old"; done
	fi
	# -mod=mod lets the go command complete go.sum for test dependencies.
	# /usr/bin/time -v writes wall time, user CPU and peak RSS to $name.time;
	# the load average is read before the run, as the machine is shared.
	code=0
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	IFS=, read -r -a patterns <<<"$pattern"
	GOFLAGS=-mod=mod /usr/bin/time -v -o "$out/$name.time" "$heisen" vet --json "${patterns[@]}" >"$out/$name.json" 2>"$out/$name.err" || code=$?
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$out/$name.time")
	user=$(awk -F': ' '/User time/ {print $2}' "$out/$name.time")
	kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/$name.time")
	if [ "$code" -eq 2 ]; then
		echo "$m: heisen vet failed, see $out/$name.err" >&2
		continue
	fi
	jq -r '.[] | "\(.file):\(.line):\(.column): \(.message)"' "$out/$name.json" >"$out/$name.txt"
	if skipped=$(grep -c '^heisen vet: skipped' "$out/$name.err"); then
		echo "$m: $skipped package(s) or script(s) skipped, see $out/$name.err" >&2
	fi
	count() { jq "[.[] | select(.kind == \"$1\")] | length" "$out/$name.json"; }
	printf '%-48s %6s %6s %6s %6s %6s %8s %8s %8s %s\n' "$m${pattern#./...}" "$(count predictable-temp)" "$(count unsynced-rename)" \
		"$(count cross-device-temp)" "$(count in-place-rewrite)" "$(count ignore)" "$secs" "$user" "$((kb / 1024))" "$load"
	cd "$root"
done
