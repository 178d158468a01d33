#!/bin/sh
out=/srv/state
# heisen:ignore predictable-temp: run by cron alone, under flock
make > "$out.tmp"
# heisen:ignore predictable-temp # want `heisen:ignore needs a reason`
make > "$out.new" # want `predictable-temp`
# heisen:ignore unsynced-rename: the target is a cache, rebuilt after a crash
mv "$out.tmp" "$out"
# heisen:ignore unsynced-rename,predictable-temp: cache
mv "$out.new" "$out"
# heisen:ignore nonsense: why # want `unknown kind "nonsense"`
