#!/bin/sh
# Temp files two runs can share, each renamed over its target. Each is
# synced before the mv, so that only predictable-temp is expected here.
out=/var/lib/app/state

pid() {
	generate > "$out.$$" # want `predictable-temp: temp file "\$out.\$\$" is written \(>\) and then renamed over "\$out" \(line 9\); its name is built from the shell's pid`
	sync "$out.$$"
	mv "$out.$$" "$out"
}

clock() {
	tmp="$out.$(date +%s)"
	generate >"$tmp" # want `its name is built from the clock \(\$\(date …\)\)`
	sync "$tmp"
	mv -f -- "$tmp" "$out"
}

random() {
	generate | tee "$out.$RANDOM" >/dev/null # want `predictable-temp: temp file "\$out.\$RANDOM" is written \(tee\).*\$RANDOM, one of only 32768 values`
	sync "$out.$RANDOM"
	mv "$out.$RANDOM" "$out"
}

suffix() {
	cp "$1" "$1.new" # want `written \(cp\).*its name is built from a fixed suffix \("\.new"\)`
	sync "$1.new"
	mv "$1.new" "$1"
}

bashpid() {
	local t=${out}.$BASHPID
	dd if=/dev/zero of="$t" bs=1k count=1 conv=fsync # want `written \(dd of=\).*\$BASHPID`
	mv "$t" "$out"
}

fixed() {
	echo data >> /tmp/app.state.tmp # want `its name is fixed \("/tmp/app.state.tmp"\).*in the shared temp directory another user`
	sync
	mv /tmp/app.state.tmp "$out" # want `cross-device-temp: /tmp/app.state.tmp is made in the system temp directory and mv'd to "\$out"`
}

# Predictable, but never renamed: not a temp file.
echo log > "$out.$$.log"
