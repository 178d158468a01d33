# The shell workloads of bench/realworld.sh, run by bash or dash (both
# read this POSIX script; the shell that runs it is the one measured).
#
#   loop.sh story FILLER NAMING LOOP TARGET SRCDIR SECONDS META
#       the story: fill a temp with FILLER (printf cat cp dd tee), then mv
#       it over TARGET; NAMING "clock" names the temp "$TARGET.<second>.tmp"
#       (racy), "mktemp" uses mktemp (correct). Logs "I PID START TEMP"
#       per iteration to META at the end, PID being the filling process.
#   loop.sh counter LOCK COUNTER SECONDS DONE
#       read COUNTER, write it plus one to COUNTER.$$, mv it back; LOCK
#       "flock" holds flock(1) on COUNTER.lock around it. Writes the number
#       of increments to DONE.
#   loop.sh sed LOOP SECONDS DONE FILE...
#       append "LOOP N" to the FILEs in turn with sed -i.
#   loop.sh sqlite DB LOOP SECONDS DONE
#       one sqlite3 process per INSERT; DONE gets the inserts that succeeded.
# Each loop stops at its first check SECONDS (whole seconds of the clock)
# after it started, or after RW_ITERS iterations (increments, sed runs)
# when that is set and not 0.
set -u
mode=$1 iters=${RW_ITERS:-0}
shift

story() {
	filler=$1 naming=$2 L=$3 target=$4 srcdir=$5 seconds=$6 metafile=$7
	pad=................................
	ks= k=0
	while [ $k -lt 64 ]; do # no command substitution: a fork costs 10-30 ms under record and load
		if [ $k -lt 10 ]; then ks="$ks 0$k"; else ks="$ks $k"; fi
		k=$((k + 1))
	done
	until=$(($(date +%s) + seconds))
	i=0 meta=
	while :; do
		i=$((i + 1))
		now=$(date +%s.%N)
		[ "${now%.*}" -lt "$until" ] || break
		[ "$iters" = 0 ] || [ "$i" -le "$iters" ] || break
		src=$srcdir/$L.$i
		[ "$filler" = printf ] || [ -e "$src" ] || break
		if [ "$naming" = clock ]; then
			tmp=$target.${now%.*}.tmp
		else
			tmp=$(mktemp "$target.XXXXXX")
		fi
		pid=$$
		case $filler in
		printf) printf "rw $L $i %s 64 $pad\n" $ks >"$tmp" ;;
		cat) cat "$src" >"$tmp" & pid=$! ;;
		cp) cp "$src" "$tmp" & pid=$! ;;
		dd) dd if="$src" of="$tmp" 2>/dev/null & pid=$! ;;
		tee) tee "$tmp" <"$src" >/dev/null & pid=$! ;;
		esac
		[ "$pid" = $$ ] || wait "$pid"
		mv "$tmp" "$target" 2>/dev/null
		meta="$meta$i $pid $now $tmp
"
	done
	printf %s "$meta" >"$metafile"
}

counter() {
	lock=$1 c=$2 until=$(($(date +%s) + $3)) done=$4
	n=0
	while :; do
		if [ $((n % 10)) -eq 0 ] && [ "$(date +%s)" -ge "$until" ]; then
			break
		fi
		[ "$iters" = 0 ] || [ "$n" -lt "$iters" ] || break
		if [ "$lock" = flock ]; then
			(
				flock 9
				v=$(cat "$c")
				echo $((v + 1)) >"$c.$$"
				mv "$c.$$" "$c"
			) 9>"$c.lock"
		else
			v=$(cat "$c")
			echo $((v + 1)) >"$c.$$"
			mv "$c.$$" "$c"
		fi
		n=$((n + 1))
	done
	echo $n >"$done"
}

sedloop() {
	L=$1 until=$(($(date +%s) + $2)) done=$3
	shift 3
	n=0
	while [ "$(date +%s)" -lt "$until" ]; do
		for f in "$@"; do
			[ "$iters" = 0 ] || [ "$n" -lt "$iters" ] || break 2
			n=$((n + 1))
			sed -i "\$a $L $n" "$f"
		done
	done
	echo $n >"$done"
}

sqliteloop() {
	db=$1 L=$2 until=$(($(date +%s) + $3)) done=$4
	n=0 i=0
	while [ "$(date +%s)" -lt "$until" ]; do
		i=$((i + 1))
		if sqlite3 "$db" "PRAGMA busy_timeout=10000; INSERT INTO t(loop, i) VALUES($L, $i);" >/dev/null; then
			n=$((n + 1))
		fi
	done
	echo $n >"$done"
}

case $mode in
story) story "$@" ;;
counter) counter "$@" ;;
sed) sedloop "$@" ;;
sqlite) sqliteloop "$@" ;;
*)
	echo "loop.sh: unknown mode $mode" >&2
	exit 2
	;;
esac
