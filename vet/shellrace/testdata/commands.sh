#!/bin/sh
# Which commands write a file the script names: install, sort -o and
# rsync --inplace do (as >, tee, cp and dd of= do); sed -i and plain rsync
# write a temp file of their own, with a random name, and rename it.
out=/var/lib/app/state

# install unlinks the name and creates it anew: one run's mv can publish
# the file another run is still writing.
install -m 0644 "$1" "$out.new" # want `predictable-temp: temp file "\$out.new" is written \(install\).*one run's mv can publish the file the other is still writing`
sync "$out.new"
mv "$out.new" "$out"

install -D --mode 600 -o root -g root -- "$1" "$out.$$" # want `written \(install\).*the shell's pid`
mv "$out.$$" "$out" # want `unsynced-rename: "\$out.\$\$"`

# Directories, and copies into a directory: no file named here.
install -d -m 755 "$out.d"
install -m 644 -t "$out.d" "$1"
cp -t "$out.d" "$1"
mv "$out.d" "$out"
mv "$1" "$out"

# sort -o opens its output with O_CREAT and no O_EXCL.
sort -u -o "$out.tmp" "$1" # want `written \(sort -o\).*its name is fixed \("/var/lib/app/state.tmp"\)`
sync "$out.tmp"
mv "$out.tmp" "$out"

LC_ALL=C sort -o"$out.$(date +%s)" "$1" # want `written \(sort -o\).*the clock`
sync "$out.$(date +%s)"
mv "$out.$(date +%s)" "$out"

sort --output="$out.sorted" "$1" # want `written \(sort -o\)`
sort "$out.sorted" > /dev/null
mv "$out.sorted" "$out" # want `unsynced-rename`

# sed -i renames its own mkstemp file over the name: not a write of a
# temp name the script chose, but the data it leaves is not synced.
tmp=$(mktemp "$out.XXXXXX")
generate > "$tmp"
sync "$tmp"
sed -i -e 's/a/b/' "$tmp"
mv "$tmp" "$out" # want `unsynced-rename: "\$tmp" \(written at line 39\)`

sed -i.bak 's/a/b/' "$out"
sed -ni 's/a/b/p' "$out"
sed -i "s|x|y|" /var/lib/ucf/hashfile

# rsync writes .NAME.XXXXXX with O_EXCL and renames it; --fsync syncs it
# first. --inplace writes the name itself.
tmp2=$(mktemp "$out.XXXXXX")
generate > "$tmp2"
sync "$tmp2"
rsync -a --fsync "$1" "$tmp2"
mv "$tmp2" "$out"

tmp3=$(mktemp "$out.XXXXXX")
generate > "$tmp3"
sync "$tmp3"
rsync -a -e ssh --exclude '*.o' "$1" "$tmp3"
mv "$tmp3" "$out" # want `unsynced-rename: "\$tmp3"`

rsync --inplace "$1" "$out.$$" # want `written \(rsync --inplace\).*the shell's pid`
sync "$out.$$"
mv "$out.$$" "$out"

rsync -a "$1" "host:$out.$$"
