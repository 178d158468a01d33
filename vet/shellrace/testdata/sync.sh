#!/usr/bin/env bash
# Renames of files that were never synced.
target=$1
tmp=$(mktemp "$target.XXXXXX")
printf '%s\n' "$payload" > "$tmp"
mv "$tmp" "$target" # want `unsynced-rename: "\$tmp" \(written at line 5\) is renamed over "\$target" without a sync of the file`

tmp2=$(mktemp -p "$(dirname "$target")")
cat a b >"$tmp2"
sync other-file
mv -t "$(dirname "$target")" "$tmp2" # want `unsynced-rename: "\$tmp2"`

tmp3=$(mktemp)
echo x > "$tmp3" 2>/dev/null
sync "$tmp3"
mv "$tmp3" "$target" # want `cross-device-temp: "\$tmp3" is made in the system temp directory`
