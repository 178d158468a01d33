package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// gocopy is the story's loop written in Go: copy a source into a temp
// file with io.Copy between two *os.File (copy_file_range), then rename it
// over the target. Its arguments are those of loop.sh's and loops.py's
// story: NAMING ("clock" names the temp with the clock's second, "unique"
// with os.CreateTemp), LOOP, TARGET, SRCDIR, SECONDS and META; it stops
// after SECONDS of the clock, at the first missing source, or after
// RW_ITERS iterations when that is set and not 0.
func gocopy(args []string) error {
	if len(args) != 6 {
		return fmt.Errorf("gocopy: want NAMING LOOP TARGET SRCDIR SECONDS META, got %q", args)
	}
	naming, target, src, meta := args[0], args[2], args[3], args[5]
	if naming != "clock" && naming != "unique" {
		return fmt.Errorf("gocopy: naming %q: want clock or unique", naming)
	}
	loop, err := strconv.Atoi(args[1])
	if err != nil {
		return fmt.Errorf("gocopy: loop: %w", err)
	}
	seconds, err := strconv.ParseInt(args[4], 10, 64)
	if err != nil {
		return fmt.Errorf("gocopy: seconds: %w", err)
	}
	iters, _ := strconv.Atoi(os.Getenv("RW_ITERS"))
	until := time.Now().Unix() + seconds
	var log strings.Builder
	for i := 1; iters == 0 || i <= iters; i++ {
		start := time.Now()
		name := filepath.Join(src, fmt.Sprintf("%d.%d", loop, i))
		if start.Unix() >= until || !exists(name) {
			break
		}
		// A failed rename (another loop renamed the shared temp first) is
		// the story's bug: the temp's bytes may still reach the target.
		tmp, _ := copyOnce(target, name, naming == "unique", start)
		if tmp == "" {
			continue
		}
		fmt.Fprintf(&log, "%d %d %d.%09d %s\n", i, os.Getpid(), start.Unix(), start.Nanosecond(), tmp)
	}
	return os.WriteFile(meta, []byte(log.String()), 0o644)
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
