#!/usr/bin/env bash
# Real programs under heisen record, scored against what really happened
# (issue 13). Each workload runs real programs (bash, dash, coreutils,
# python, go, git, sqlite3, sed, tar, make, pip, npm, apt-get) under
# `heisen record`, then `heisen analyze` reads the trail. One markdown row
# per workload:
#
#   kind      racy: the programs race (the story's temp name, counters,
#             concurrent sed -i); correct: they do not, so every error
#             finding is a false error.
#   observed  what went wrong, seen without trusting any trail:
#             - corrupt versions: a reader outside the recording reads the
#               target in a loop; every payload names its writer (loop and
#               iteration) on each of its 64 lines, so a version (one
#               inode at the target, over consecutive reads) is corrupt
#               when a read of it was not exactly one writer's whole
#               payload: empty, cut short, mixed, holes;
#             - lost updates: counters and appended lines compared with the
#               increments the loops counted ("lost" after the number).
#   explained a corrupt version is explained when ONE error finding that
#             names at least two processes cites in its evidence, for every
#             iteration whose whole lines the version holds, an event of
#             that iteration's writer process (the shell for printf, the
#             cat/cp/dd/tee child, the python or go process) on that
#             iteration's temp name (or the target), timed between the
#             iteration's start and the version's last corrupt read (5 ms
#             slack for the two clocks). A version holding no whole line
#             (empty, holes) is explained when such a finding cites an
#             event on its inode in the second before that read.
#             For lost updates: the lost-update occurrences the error
#             findings report on the workload's files (a workload is
#             "caught" when there is at least one).
#   errors, warnings   findings in `heisen analyze --json` by severity
#   predictions   of those, the predictions (predictable-temp,
#             unlocked-update): 0 is the goal on a correct workload, and a
#             racy one's usually has none, since the race that happened
#             replaces them
#   1 worker  the loop workloads again, one worker (one loop) stopped after
#             10 iterations (RW_ITERS=10), so no race can happen: what
#             `heisen analyze --concurrent` predicts from its trail (the
#             flag states that copies of the program run at once, as the
#             4-worker runs do). "yes" when it predicts the workload's race
#             (predictable-temp for the story's temp names, unlocked-update
#             for the lost updates); "no" says what it predicts instead;
#             on a correct workload, "none" is the goal
#   lines     lines of the default `heisen analyze` output
#
# Usage: bench/realworld.sh [--short] [--heisen PATH] [--duration SECONDS]
#                           [--only REGEXP] [--keep]
#   --short     the racy and mktemp shell loops, the counters, sed -i and
#               sqlite3 (about 2 minutes); exits 1 when a correct workload
#               gets an error finding or a prediction, or a racy
#               workload is not predicted from one worker (CI runs this)
#   --heisen    use this heisen binary instead of building ./cmd/heisen
#   --duration  seconds each loop runs (default 3; 2 with --short)
#   --only      run the workloads whose name matches REGEXP
#   --keep      keep the work directory and say where: per workload the
#               trail, analyze's output, and "why", each unexplained
#               version with the findings that cite its writers
# Exit status: 0; 1 with --short when a correct workload has an error
# finding or a prediction, or one worker of a racy workload is not
# predicted; 2 when a workload could not run (not a skip)
# or on usage errors.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

short=0 heisen= duration= only= keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--short) short=1 ;;
	--heisen) heisen=$(realpath "$2") && shift ;;
	--duration) duration=$2 && shift ;;
	--only) only=$2 && shift ;;
	--keep) keep=1 ;;
	*) echo "usage: bench/realworld.sh [--short] [--heisen PATH] [--duration SECONDS] [--only REGEXP] [--keep]" >&2
		exit 2 ;;
	esac
	shift
done
[ -n "$duration" ] || duration=$((short ? 2 : 3))
case $duration in '' | *[!0-9]*) echo "--duration: want whole seconds, got $duration" >&2 && exit 2 ;; esac

work=$(mktemp -d /var/tmp/realworld.XXXXXX)
cleanup() {
	if [ "$keep" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
bin=$work/bin
mkdir -p "$bin"
if [ -z "$heisen" ]; then
	go build -o "$bin/heisen" ./cmd/heisen
	heisen=$bin/heisen
	built="built from $(git log -1 --format='%h %cI' 2>/dev/null || echo "this tree")$(git diff --quiet HEAD 2>/dev/null || echo ' + local changes')"
else
	built=$heisen
fi
(cd bench && go build -o "$bin/realworld" ./realworld)
rw=$bin/realworld
loop=$repo/bench/realworld/loop.sh
pyloops=$repo/bench/realworld/loops.py
python=$(command -v python3)
loops=4

# Results, one entry per workload, for the goals.
rows=() false_errors=() unexplained=() missed=() long=() broken=()
false_predictions=() unpredicted=()
solo_col=- # the "1 worker" cell of the next row (solo sets it)
sum_observed=0 sum_explained=0

# rec DIR CMD...: record CMD into DIR/trail; the command's own status is
# ignored (racy loops fail by design), a recording failure is not.
rec() {
	local d=$1
	shift
	"$heisen" record -o "$d/trail" -- "$@" >"$d/record.out" 2>"$d/record.err" || true
	if ! grep -q '^heisen record: [0-9]* events' "$d/record.err"; then
		echo "recording failed: $(tail -n 3 "$d/record.err" | tr '\n' ' ')" >"$d/failed"
	fi
}

# start_reader TARGET DIR / stop_reader: the checker, outside the recording.
start_reader() {
	"$rw" reader "$1" "$2/versions" &
	reader_pid=$!
}
stop_reader() {
	kill -TERM "$reader_pid"
	wait "$reader_pid" || echo "reader failed" >"$1/failed"
}

# row NAME KIND DIR SCORE-FLAGS...: analyze DIR/trail and print the row.
row() {
	local name=$1 kind=$2 d=$3
	shift 3
	if [ -e "$d/failed" ]; then
		printf '| %s | %s | could not run: %s ||||||||\n' "$name" "$kind" "$(cat "$d/failed")"
		broken+=("$name")
		return
	fi
	local lines events lostev observed explained errors warnings predictions sc
	local solo=$solo_col
	solo_col=-
	if ! "$heisen" analyze --fail-on none "$d/trail" >"$d/analyze.txt" 2>"$d/analyze.err" ||
		! "$heisen" analyze --json --fail-on none "$d/trail" >"$d/findings.json" 2>>"$d/analyze.err" ||
		! sc=$("$rw" score -findings "$d/findings.json" -trail "$d/trail" "$@" 2>&1); then
		printf '| %s | %s | could not score: %s ||||||||\n' "$name" "$kind" "$(tail -n 1 "$d/analyze.err") ${sc:-}"
		broken+=("$name")
		return 0
	fi
	read -r observed explained errors warnings predictions <<<"$sc"
	lines=$(wc -l <"$d/analyze.txt")
	events=$(sed -n 's/^heisen record: \([0-9]*\) events.*/\1/p' "$d/record.err")
	lostev=$(sed -n 's/.*, lost \([0-9]*\) .*/\1/p' "$d/record.err")
	local shown_observed=$observed
	case " $* " in *" -lost "*) shown_observed="$observed lost" ;; esac
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s%s | %s |\n' "$name" "$kind" "$shown_observed" "$explained" \
		"$errors" "$warnings" "$predictions" "$lines" "$events" "${lostev:+ (lost $lostev)}" "$solo"
	[ "$kind" = correct ] && [ "$errors" -gt 0 ] && false_errors+=("$name ($errors)")
	[ "$kind" = correct ] && [ "$predictions" -gt 0 ] && false_predictions+=("$name ($predictions)")
	[ "$lines" -gt 60 ] && long+=("$name ($lines)")
	case " $* " in
	*" -versions "*)
		sum_observed=$((sum_observed + observed)) sum_explained=$((sum_explained + explained))
		[ $((100 * explained)) -lt $((95 * observed)) ] && unexplained+=("$name ($explained of $observed)") ;;
	*" -lost "*)
		[ "$kind" = racy ] && [ "$observed" -gt 0 ] && [ "$explained" -eq 0 ] && missed+=("$name ($observed lost)") ;;
	esac
	return 0
}

# solo D KIND WANT CMD...: run CMD, one worker of a loop workload, for 10
# iterations under heisen record into D/solo (made by the caller) and set
# solo_col to what analyze --concurrent predicts from its trail: "yes: …"
# when it predicts WANT, else "no" (a miss) with what it predicts
# instead. For a correct workload, what it predicts: "none" is the goal.
solo() {
	local d=$1/solo kind=$2 wanted=$3 p
	shift 3
	RW_ITERS=10 "$heisen" record -o "$d/trail" -- "$@" >"$d/record.out" 2>"$d/record.err" || true
	if ! grep -q '^heisen record: [0-9]* events' "$d/record.err" ||
		! "$heisen" analyze --concurrent --json --fail-on none "$d/trail" >"$d/findings.json" 2>"$d/analyze.err" ||
		! p=$("$rw" predicted "$d/findings.json"); then
		solo_col="could not run: $(tail -n 1 "$d/record.err" "$d/analyze.err" 2>/dev/null | tr '\n' ' ')"
		broken+=("$name (1 worker)")
		return 0
	fi
	if [ "$kind" = correct ]; then
		solo_col=$p
		[ "$p" = none ] || false_predictions+=("$name, 1 worker ($p)")
	elif [[ $p == *"$wanted"* ]]; then
		solo_col="yes: $p"
	else
		solo_col="no (predicts: $p)"
		unpredicted+=("$name")
	fi
	return 0
}

want() { [ -z "$only" ] || [[ $1 =~ $only ]]; }

# replaces NAME NAMING D SOURCES PARENT RUNNER...: the story's pattern as
# four loops of "RUNNER LOOP TARGET SRCDIR SECONDS META" started by
# "PARENT -c" under heisen record, each loop with SOURCES payloads made in
# SRCDIR (0: the runner makes its own); then one worker alone (solo) and
# the row. NAMING "mktemp" and "unique" are the correct workloads.
replaces() {
	local name=$1 naming=$2 d=$3 sources=$4 parent=$5 kind=racy l
	shift 5
	case $naming in mktemp | unique) kind=correct ;; esac
	want "$name" || return 0
	mkdir -p "$d"
	[ "$sources" = 0 ] || "$rw" gen "$d/src" "$loops" "$sources"
	start_reader "$d/target" "$d"
	local cmd=""
	for l in $(seq $loops); do
		cmd="$cmd $* $l $d/target $d/src $duration $d/meta.$l &"
	done
	rec "$d" "$parent" -c "$cmd wait"
	stop_reader "$d"
	mkdir "$d/solo"
	solo "$d" "$kind" predictable-temp "$@" 1 "$d/solo/target" "$d/src" 60 "$d/solo/meta"
	row "$name" "$kind" "$d" -versions "$d/versions" -meta "$d" -target "$d/target" -why "$d/why"
}

# story SHELL FILLER NAMING: the story in SHELL, the temp filled by FILLER.
story() {
	local sources=$((duration * 300))
	[ "$2" = printf ] && sources=0
	replaces "$1 $2 > temp, mv ($3)" "$3" "$work/story-$1-$2-$3" "$sources" "$1" "$1" "$loop" story "$2" "$3"
}

# pystory HOW NAMING: the story in Python.
pystory() {
	local sources=$((duration * 800))
	[ "$1" = write ] && sources=0
	replaces "python $1, rename ($2)" "$2" "$work/py-$1-$2" "$sources" sh "$python" "$pyloops" story "$1" "$2"
}

# gostory NAMING: the story in Go, io.Copy between two files.
gostory() {
	replaces "go io.Copy, rename ($1)" "$1" "$work/go-$1" $((duration * 1500)) sh "$rw" gocopy "$1"
}

# sum FILE...: the sum of the numbers in FILEs.
sum() { cat "$@" | awk '{ s += $1 } END { print s + 0 }'; }

# counter LANG LOCK: four loops incrementing one counter.
counter() {
	local lang=$1 lock=$2 kind=racy
	[ "$lock" = flock ] && kind=correct
	local name="$lang counter ($lock)" d=$work/counter-$lang-$lock
	want "$name" || return 0
	mkdir -p "$d"
	echo 0 >"$d/counter"
	local cmd=""
	for l in $(seq $loops); do
		if [ "$lang" = bash ]; then
			cmd="$cmd bash $loop counter $lock $d/counter $duration $d/done.$l &"
		else
			cmd="$cmd $python $pyloops counter $d/counter $duration $d/done.$l &"
		fi
	done
	rec "$d" bash -c "$cmd wait"
	local lost=$(($(sum "$d"/done.*) - $(cat "$d/counter")))
	mkdir "$d/solo"
	echo 0 >"$d/solo/counter"
	local one=(bash "$loop" counter "$lock" "$d/solo/counter" 60 "$d/solo/done")
	[ "$lang" = bash ] || one=("$python" "$pyloops" counter "$d/solo/counter" 60 "$d/solo/done")
	solo "$d" "$kind" unlocked-update "${one[@]}"
	row "$name" "$kind" "$d" -lost "$lost" -under "$d"
}

# sedi: four loops appending lines to two files with sed -i.
sedi() {
	local name="sed -i, 4 loops on 2 files" d=$work/sed
	want "$name" || return 0
	mkdir -p "$d"
	echo start >"$d/a" # sed's $a appends after the last line: there must be one
	echo start >"$d/b"
	local cmd=""
	for l in $(seq $loops); do
		cmd="$cmd sh $loop sed $l $duration $d/done.$l $d/a $d/b &"
	done
	rec "$d" sh -c "$cmd wait"
	local lost=$(($(sum "$d"/done.*) + 2 - $(cat "$d/a" "$d/b" | wc -l)))
	mkdir "$d/solo"
	echo start >"$d/solo/a"
	echo start >"$d/solo/b"
	solo "$d" racy unlocked-update sh "$loop" sed 1 60 "$d/solo/done" "$d/solo/a" "$d/solo/b"
	row "$name" racy "$d" -lost "$lost" -under "$d"
}

# sqlite MODE: four loops of sqlite3 processes inserting into one database.
sqlite() {
	local mode=$1 name="sqlite3 x4 inserts ($1)" d=$work/sqlite-$1
	want "$name" || return 0
	mkdir -p "$d"
	sqlite3 "$d/db" "PRAGMA journal_mode=$mode; CREATE TABLE t(loop, i);" >/dev/null
	local cmd=""
	for l in $(seq $loops); do
		cmd="$cmd sh $loop sqlite $d/db $l $duration $d/done.$l &"
	done
	rec "$d" sh -c "$cmd wait"
	local lost=$(($(sum "$d"/done.*) - $(sqlite3 "$d/db" 'SELECT count(*) FROM t;')))
	row "$name" correct "$d" -lost "$lost" -under "$d"
}

git_commits() {
	local name="git init, add, commit" d=$work/git
	want "$name" || return 0
	mkdir -p "$d"
	rec "$d" bash -c "set -e; cd $d; git init -q repo; cd repo
		end=\$((\$(date +%s) + $duration)); n=0
		while [ \$(date +%s) -lt \$end ] || [ \$n -lt 3 ]; do
			n=\$((n + 1)); seq \$n >f\$((n % 7)); echo \$n >>log
			git add -A; git -c user.name=rw -c user.email=rw@example.com commit -q -m \"commit \$n\"
		done"
	row "$name" correct "$d"
}

git_gc() {
	local name="git gc" d=$work/gitgc
	want "$name" || return 0
	mkdir -p "$d"
	(cd "$d" && git init -q repo && cd repo && for n in $(seq 40); do
		seq "$n" >"f$((n % 7))" && git add -A &&
			git -c user.name=rw -c user.email=rw@example.com commit -q -m "commit $n"
	done)
	rec "$d" git -C "$d/repo" gc --quiet
	row "$name" correct "$d"
}

gobuild() {
	local name="go build" d=$work/gobuild
	want "$name" || return 0
	mkdir -p "$d/app"
	printf 'module example.com/app\n\ngo 1.22\n' >"$d/app/go.mod"
	printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("%s") }\n' "$(date +%s%N)" >"$d/app/main.go"
	rec "$d" go -C "$d/app" build -o app .
	row "$name" correct "$d"
}

tarx() {
	local name="tar c, tar x" d=$work/tar
	want "$name" || return 0
	mkdir -p "$d/src" "$d/out"
	for n in $(seq 200); do seq "$n" >"$d/src/f$n"; done
	rec "$d" sh -c "tar -cf $d/a.tar -C $d/src . && tar -xf $d/a.tar -C $d/out"
	row "$name" correct "$d"
}

makej() {
	local name="make -j2 (gcc)" d=$work/make
	want "$name" || return 0
	mkdir -p "$d/src"
	local objs=
	for n in 1 2 3 4 5 6; do
		printf 'int f%d(int x) { return x + %d; }\n' "$n" "$n" >"$d/src/f$n.c"
		objs="$objs f$n.o"
	done
	printf 'int main(void) { return 0; }\n' >"$d/src/main.c"
	printf 'app: main.o%s\n\tgcc -o $@ $^\n%%.o: %%.c\n\tgcc -O2 -c -o $@ $<\n' "$objs" >"$d/src/Makefile"
	rec "$d" make -s -j2 -C "$d/src"
	row "$name" correct "$d"
}

pipwheel() {
	local name="pip install --target (local wheel)" d=$work/pip
	want "$name" || return 0
	mkdir -p "$d"
	# A wheel is a zip file with its metadata: built here, no PyPI needed.
	"$python" - "$d" <<-'EOF'
		import base64, hashlib, sys, zipfile
		d = sys.argv[1]
		files = {
		    "rwpkg/__init__.py": "VALUE = 1\n",
		    "rwpkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: rwpkg\nVersion: 1.0\n",
		    "rwpkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: realworld\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		}
		record = ""
		for name, text in files.items():
		    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
		    record += f"{name},sha256={digest},{len(text)}\n"
		record += "rwpkg-1.0.dist-info/RECORD,,\n"
		with zipfile.ZipFile(f"{d}/rwpkg-1.0-py3-none-any.whl", "w") as z:
		    for name, text in files.items():
		        z.writestr(name, text)
		    z.writestr("rwpkg-1.0.dist-info/RECORD", record)
	EOF
	rec "$d" "$python" -m pip install -q --no-index --no-deps --disable-pip-version-check \
		--target "$d/site" "$d/rwpkg-1.0-py3-none-any.whl"
	[ -e "$d/site/rwpkg/__init__.py" ] || echo "pip did not install rwpkg: $(tail -n 2 "$d/record.out")" >"$d/failed"
	row "$name" correct "$d"
}

npmtarball() {
	local name="npm install (local tarball)" d=$work/npm
	want "$name" || return 0
	mkdir -p "$d/pkg" "$d/app"
	printf '{"name":"rwpkg","version":"1.0.0","main":"index.js"}\n' >"$d/pkg/package.json"
	printf 'module.exports = 1;\n' >"$d/pkg/index.js"
	printf '{"name":"app","version":"1.0.0"}\n' >"$d/app/package.json"
	(cd "$d" && npm pack --silent ./pkg >/dev/null)
	rec "$d" npm install --prefix "$d/app" --offline --no-audit --no-fund --silent \
		--cache "$d/cache" "$d/rwpkg-1.0.0.tgz"
	[ -e "$d/app/node_modules/rwpkg/index.js" ] || echo "npm did not install rwpkg: $(tail -n 2 "$d/record.err")" >"$d/failed"
	row "$name" correct "$d"
}

aptreinstall() {
	local pkg=jq name="apt-get install --reinstall jq" d=$work/apt
	want "$name" || return 0
	mkdir -p "$d"
	if [ "$(id -u)" != 0 ] || ! dpkg -s "$pkg" >/dev/null 2>&1 ||
		! apt-get install -y -qq --reinstall --download-only "$pkg" >"$d/download.log" 2>&1; then
		printf '| %s | correct | skipped: not root, %s not installed, or its .deb neither cached nor downloadable ||||||||\n' "$name" "$pkg"
		return 0
	fi
	# Triggers left pending by earlier installs (libc-bin's ldconfig after a
	# fresh machine's first packages) run first, outside the recording, so
	# that every run records the same work.
	dpkg --triggers-only --pending >"$d/triggers.log" 2>&1 || true
	rec "$d" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-download --reinstall "$pkg"
	row "$name" correct "$d"
}

echo "realworld: $(date -u +%FT%TZ), heisen $built, $duration s per loop, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| workload | kind | observed | explained | errors | warnings | predictions | lines | events | 1 worker, 10 iterations: predicted (analyze --concurrent) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
for sh in bash dash; do
	for filler in printf cat cp dd tee; do story "$sh" "$filler" clock; done
done
for sh in bash dash; do
	for filler in printf cat cp dd tee; do story "$sh" "$filler" mktemp; done
done
counter bash none
counter python none
counter bash flock
sedi
sqlite delete
sqlite wal
if [ "$short" = 0 ]; then
	pystory write clock
	pystory copyfile clock
	gostory clock
	pystory write unique
	pystory copyfile unique
	gostory unique
	git_commits
	git_gc
	gobuild
	tarx
	makej
	pipwheel
	npmtarball
	aptreinstall
fi

goal() { # goal TEXT FAILURES...
	local text=$1
	shift
	if [ $# -eq 0 ]; then echo "- [x] $text"; else echo "- [ ] $text: NOT MET: $*"; fi
}
echo
echo "Goals:"
goal "0 error findings on every correct workload" "${false_errors[@]}"
goal "0 predictions on every correct workload (4 workers and 1)" "${false_predictions[@]}"
goal "every racy workload predicted from 10 iterations of 1 worker (analyze --concurrent)" "${unpredicted[@]}"
pct=100
[ "$sum_observed" -gt 0 ] && pct=$((100 * sum_explained / sum_observed))
echo "- corrupt versions explained: $sum_explained of $sum_observed ($pct %)"
if [ "$pct" -ge 95 ]; then
	goal ">= 95 % of corrupt versions explained"
	[ ${#unexplained[@]} -eq 0 ] || echo "  (below 95 % in: ${unexplained[*]})"
else
	goal ">= 95 % of corrupt versions explained" "${unexplained[@]}"
fi
goal "every lost-update workload caught" "${missed[@]}"
goal "<= 60 lines of default output each" "${long[@]}"
[ ${#broken[@]} -eq 0 ] || echo "could not run: ${broken[*]}"

[ ${#broken[@]} -eq 0 ] || exit 2
if [ "$short" = 1 ] && [ $((${#false_errors[@]} + ${#false_predictions[@]} + ${#unpredicted[@]})) -gt 0 ]; then
	exit 1
fi
exit 0
