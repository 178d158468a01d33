#!/bin/bash
# Replaces the analysis must stay quiet on.
out=/var/lib/app/state

tmp=$(mktemp "$out.XXXXXX")
generate > "$tmp"
sync "$tmp"
mv "$tmp" "$out"

dir=$(mktemp -d "$(dirname "$out")/.app.XXXXXX")
generate > "$dir/state"
sync "$dir/state"
mv "$dir/state" "$out"

# noclobber: > opens with O_EXCL, so a second writer fails.
set -C
generate > "$out.$$"
sync "$out.$$"
mv "$out.$$" "$out"
set +C

# A name the analysis cannot follow is not predictable.
name=$(compute_name)
generate > "$name"
sync -d "$name"
mv "$name" "$out"

# dd that syncs its output.
t=$(tempfile -d /var/lib/app)
dd if=/dev/zero of="$t" oflag=sync
mv "$t" "$out"

# Writes that are never renamed.
echo hi > "$out.$$.log"

# Under flock, one writer at a time: the lock lasts to the end of the subshell.
(
	flock 9
	echo $((v + 1)) > "$out.$$"
	sync "$out.$$"
	mv "$out.$$" "$out"
) 9> "$out.lock"
echo after > "$out.$$" # want `predictable-temp`
sync "$out.$$"
mv "$out.$$" "$out"

# A fallback for systems without mktemp, in the other branch.
if command -v mktemp >/dev/null; then
	t2=$(mktemp "$out.XXXXXX")
else
	t2=$out.$$
fi
cp "$out" "$t2"
sync "$t2"
mv "$t2" "$out"
