package sarif

// rules describes every kind of finding heisen vet reports, in the words of
// vet/filerace's and vet/shellrace's documentation.
var rules = []rule{
	{
		ID:               "predictable-temp",
		Name:             "PredictableTemp",
		ShortDescription: message{"A temp file whose name another writer can compute"},
		FullDescription: message{"A file created without O_EXCL (in a script: written through >, >>, tee, cp or dd of=) under a name " +
			"built only from the clock, the pid, a counter, $RANDOM or a fixed suffix, and then renamed over its target. " +
			"Two writers that compute the same name truncate and interleave each other's writes, and the rename publishes a spliced file."},
		Help: markdown{
			Text: "Create the temp file with a name no other writer can compute, in the target's directory: " +
				"atomicfile.WriteFile or os.CreateTemp(filepath.Dir(target), ...) in Go, tmp=$(mktemp \"$target.XXXXXX\") in a shell script. " +
				"Silence a finding with a reason: //heisen:ignore predictable-temp: <why> (# heisen:ignore in a script).",
			Markdown: "Create the temp file with a name no other writer can compute, in the target's directory: " +
				"`atomicfile.WriteFile` or `os.CreateTemp(filepath.Dir(target), ...)` in Go, `tmp=$(mktemp \"$target.XXXXXX\")` in a shell script.\n\n" +
				"Silence a finding with a reason: `//heisen:ignore predictable-temp: <why>` (`# heisen:ignore` in a script).",
		},
		DefaultConfiguration: configuration{"error"},
	},
	{
		ID:               "unsynced-rename",
		Name:             "UnsyncedRename",
		ShortDescription: message{"A file renamed over its target before its data is synced"},
		FullDescription: message{"A file written and then renamed over its target with a path from the write to the rename that never syncs it " +
			"(os.WriteFile never does; a script needs sync FILE). After a crash the rename can reach the disk before the data, " +
			"leaving the target empty or partial. Low severity in shell scripts."},
		Help: markdown{
			Text:     "Sync the file before the rename: f.Sync() before f.Close() in Go, or atomicfile.WriteFile; sync \"$tmp\" (coreutils 8.24 or later) before mv in a script.",
			Markdown: "Sync the file before the rename: `f.Sync()` before `f.Close()` in Go, or `atomicfile.WriteFile`; `sync \"$tmp\"` (coreutils 8.24 or later) before `mv` in a script.",
		},
		DefaultConfiguration: configuration{"error"},
	},
	{
		ID:               "cross-device-temp",
		Name:             "CrossDeviceTemp",
		ShortDescription: message{"A temp file made in the system temp directory and renamed elsewhere"},
		FullDescription: message{"A temp file made in the system temp directory (os.CreateTemp(\"\", ...), os.TempDir(), plain mktemp) and renamed into another directory. " +
			"When /tmp is another file system the rename fails with EXDEV, and mv falls back to copying into the target in place."},
		Help: markdown{
			Text:     "Make the temp file in the target's directory: os.CreateTemp(filepath.Dir(target), ...) in Go, mktemp \"$(dirname \"$target\")/.XXXXXX\" in a script.",
			Markdown: "Make the temp file in the target's directory: `os.CreateTemp(filepath.Dir(target), ...)` in Go, `mktemp \"$(dirname \"$target\")/.XXXXXX\"` in a script.",
		},
		DefaultConfiguration: configuration{"error"},
	},
	{
		ID:               "in-place-rewrite",
		Name:             "InPlaceRewrite",
		ShortDescription: message{"A file truncated in place while the same package reads it"},
		FullDescription:  message{"os.WriteFile, os.Create or os.OpenFile with O_TRUNC straight onto a path the same package also reads: a concurrent reader sees it empty or partial."},
		Help: markdown{
			Text:     "Replace the file through a temp file in its directory and a rename: atomicfile.WriteFile.",
			Markdown: "Replace the file through a temp file in its directory and a rename: `atomicfile.WriteFile`.",
		},
		DefaultConfiguration: configuration{"warning"},
	},
	{
		ID:               "ignore",
		Name:             "MalformedIgnore",
		ShortDescription: message{"A heisen:ignore comment that names no known kind or gives no reason"},
		FullDescription:  message{"A heisen:ignore comment suppresses nothing unless it names known categories and gives a reason after a colon."},
		Help: markdown{
			Text:     "Write it as //heisen:ignore <kind>[,<kind>]: <why this is safe> (# heisen:ignore ... in a shell script).",
			Markdown: "Write it as `//heisen:ignore <kind>[,<kind>]: <why this is safe>` (`# heisen:ignore ...` in a shell script).",
		},
		DefaultConfiguration: configuration{"warning"},
	},
}
