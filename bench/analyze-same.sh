#!/bin/sh
# Checks that heisen analyze's output is byte-identical between a git
# revision and the working tree, for a change meant to alter speed only:
# every output mode (default, --all, --json, --html, --timeline, --all and
# --json with --durability --concurrent) on every trail of the txtar test
# files (each alone, and a txtar's trails together) and on each
# bench/gentrail shape at two lengths. Standard output, standard error,
# the exit status and the --html and --timeline files are compared; each
# run that differs is named, and the exit status is 1 if any did.
#
#   bench/analyze-same.sh REVISION [events]     (default events: 200000)
set -eu
cd "$(dirname "$0")"
[ $# -ge 1 ] || { echo "usage: bench/analyze-same.sh REVISION [events]" >&2; exit 2; }
old=$1
events=${2:-200000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/src" "$tmp/trails" "$tmp/out"
(cd .. && git archive "$old") | tar -x -C "$tmp/src"
(cd "$tmp/src" && go build -o "$tmp/heisen-old" ./cmd/heisen)
(cd .. && go build -o "$tmp/heisen-new" ./cmd/heisen)
go build -o "$tmp/gentrail" ./gentrail

# One directory per txtar file with trails: its *.trail sections.
for f in $(cd .. && find . -name '*.txtar' | sort); do
	dir="$tmp/trails/$(echo "${f#./}" | tr / _)"
	awk -v dir="$dir" '
		/^-- .* --$/ {
			name = substr($0, 4, length($0) - 6)
			out = name ~ /\.trail$/ ? dir "/" name : ""
			if (out != "") system("mkdir -p \"$(dirname \"" out "\")\"")
			next
		}
		out != "" { print > out }' "../$f"
done
for shape in mixed distinct hotfile longlived findings; do
	for n in $(printf '%s\n' "$events" 3000 | sort -u); do
		mkdir "$tmp/trails/gentrail-$shape-$n"
		"$tmp/gentrail" -shape "$shape" -events "$n" -o "$tmp/trails/gentrail-$shape-$n/$shape.trail" 2>/dev/null
	done
done

runs=0 differ=0
check() { # dir args...: runs both binaries in dir with args, compares what they wrote
	dir=$1
	shift
	for b in old new; do
		(
			cd "$dir"
			code=0
			"$tmp/heisen-$b" analyze "$@" >"$tmp/out/$b.stdout" 2>"$tmp/out/$b.stderr" || code=$?
			echo "$code" >"$tmp/out/$b.status"
			for f in same.html same.json; do
				[ ! -e "$f" ] || mv "$f" "$tmp/out/$b.$f"
			done
		)
	done
	runs=$((runs + 1))
	for f in stdout stderr status same.html same.json; do
		if [ -e "$tmp/out/old.$f" ] || [ -e "$tmp/out/new.$f" ]; then
			if ! cmp -s "$tmp/out/old.$f" "$tmp/out/new.$f"; then
				echo "differs: $(basename "$dir"): heisen analyze $* ($f)"
				differ=$((differ + 1))
			fi
		fi
	done
	rm -f "$tmp/out/"*
}
for dir in "$tmp"/trails/*/; do
	trails=$(cd "$dir" && find . -name '*.trail' | sort | sed 's|^\./||')
	[ -n "$trails" ] || continue
	echo "$trails" >"$tmp/sets" # each trail alone, then all together
	[ "$(echo "$trails" | wc -l)" -eq 1 ] || echo $trails >>"$tmp/sets"
	while read -r set; do
		# $set is split into its trails on purpose.
		check "$dir" $set
		check "$dir" --all $set
		check "$dir" --json $set
		check "$dir" --html same.html $set
		check "$dir" --timeline same.json $set
		check "$dir" --all --durability --concurrent $set
		check "$dir" --json --durability --concurrent $set
	done <"$tmp/sets"
done
echo "old: $old = $(cd .. && git rev-parse --short "$old"), new: the working tree; $runs runs, $differ outputs differ"
[ "$differ" -eq 0 ]
