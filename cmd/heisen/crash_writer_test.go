package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/heisen-dev/heisen/atomicfile"
)

// saveWriter is the "savewriter" command of the crash scripts: it saves
// $HEISEN_CRASH_DIR/data N times, version v being VersionLines lines "v",
// and prints v on stdout after each save returns, as a program reports a
// save to its user. The first argument chooses how it saves:
//
//	durable     atomicfile.WriteFile (Durable, the default level)
//	atomiconly  atomicfile.WriteFile with AtomicOnly
//	renameio    a temp file written and fsynced, closed, renamed over the
//	            target, the directory not synced (github.com/google/renameio's
//	            WriteFile)
func saveWriter() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: savewriter durable|atomiconly|renameio N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	target := filepath.Join(os.Getenv("HEISEN_CRASH_DIR"), "data")
	for v := 1; v <= n; v++ {
		data := []byte(strings.Repeat(strconv.Itoa(v)+"\n", versionLines))
		switch os.Args[1] {
		case "durable":
			err = atomicfile.WriteFile(target, data, 0o644)
		case "atomiconly":
			err = atomicfile.WriteFile(target, data, 0o644, atomicfile.AtomicOnly)
		case "renameio":
			err = renameioWrite(target, data)
		default:
			err = fmt.Errorf("unknown way to save %q", os.Args[1])
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(v)
	}
	os.Exit(0)
}

// versionLines makes each version 3 pages or more, so that states can hold
// part of one.
const versionLines = 3000

func renameioWrite(target string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target))
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target)
}
