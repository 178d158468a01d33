#!/bin/sh
out=/srv/state
echo "日本" > "$out.$$"
mv "$out.$$" "$out"
