package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// gocopy is the story's loop written in Go: copy a source into a temp
// file with io.Copy between two *os.File (copy_file_range), then rename it
// over the target. -unique names the temp with os.CreateTemp instead of
// the clock's second.
func gocopy(args []string) error {
	fs := flag.NewFlagSet("gocopy", flag.ContinueOnError)
	target := fs.String("target", "", "the file replaced")
	loop := fs.Int("loop", 1, "this loop's number")
	src := fs.String("src", "", "directory of sources made by gen")
	seconds := fs.Int64("seconds", 3, "stop this many seconds (of the clock) after starting")
	unique := fs.Bool("unique", false, "name temps with os.CreateTemp")
	meta := fs.String("meta", "", "write one line per iteration here at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	until := time.Now().Unix() + *seconds
	var log strings.Builder
	for i := 1; ; i++ {
		start := time.Now()
		name := filepath.Join(*src, fmt.Sprintf("%d.%d", *loop, i))
		if start.Unix() >= until || !exists(name) {
			break
		}
		// A failed rename (another loop renamed the shared temp first) is
		// the story's bug: the temp's bytes may still reach the target.
		tmp, _ := copyOnce(*target, name, *unique, start)
		if tmp == "" {
			continue
		}
		fmt.Fprintf(&log, "%d %d %d.%09d %s\n", i, os.Getpid(), start.Unix(), start.Nanosecond(), tmp)
	}
	return os.WriteFile(*meta, []byte(log.String()), 0o644)
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

func copyOnce(target, src string, unique bool, start time.Time) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	var out *os.File
	if unique {
		out, err = os.CreateTemp(filepath.Dir(target), filepath.Base(target)+".*")
	} else {
		out, err = os.Create(fmt.Sprintf("%s.%d.tmp", target, start.Unix()))
	}
	if err != nil {
		return "", err
	}
	tmp := out.Name()
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return tmp, err
	}
	if err := out.Close(); err != nil {
		return tmp, err
	}
	return tmp, os.Rename(tmp, target)
}
