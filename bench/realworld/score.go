package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// slack absorbs the difference between the trail's clock (the kernel's,
// converted to wall time by heisen record) and the workloads' wall clock.
const slack = 5 * time.Millisecond

// finding is the part of one `heisen analyze --json` finding score reads.
type finding struct {
	Kind     string            `json:"kind"`
	Severity string            `json:"severity"`
	Path     string            `json:"path"`
	PIDs     []int             `json:"pids"`
	Count    int               `json:"count"`
	Note     string            `json:"note"`
	Evidence []json.RawMessage `json:"evidence"`
	events   []event
}

// event is the part of one trail line that score matches on.
type event struct {
	TS   time.Time `json:"ts"`
	PID  int       `json:"pid"`
	Path string    `json:"path"`
	To   string    `json:"to"`
	Ino  uint64    `json:"ino"`
}

// started is what a loop logged about one of its iterations.
type started struct {
	PID   int
	Start time.Time
	Temp  string
}

// score prints "observed explained errors warnings predictions" for one
// workload, predictions counting the prediction findings (predictionKinds).
// observed and explained are "-" when the workload has no checker.
//
// With -versions, observed counts the corrupt versions the reader saw,
// and one is explained when a single error finding naming at least two
// processes cites, for every iteration whose lines the version holds, an
// event of that iteration's writer process on its temp name (or the
// target) between the iteration's start and the version's last corrupt
// read (± slack). A version holding no whole line (empty, or only
// cut lines and holes) is explained when such a finding cites an event
// on its inode in the second before that read.
//
// With -lost N, observed is N (updates lost, from the workload's own
// count) and explained is the number of lost-update occurrences the
// error findings report on files under -under.
func score(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	findings := fs.String("findings", "", "heisen analyze --json output")
	trailName := fs.String("trail", "", "the trail analyze read")
	versions := fs.String("versions", "", "the reader's output")
	metaDir := fs.String("meta", "", "directory of the loops' meta.L files")
	target := fs.String("target", "", "the file the loops replace")
	lost := fs.Int("lost", -1, "updates lost, as the workload counted them")
	under := fs.String("under", "", "lost-update findings count on files under this directory")
	whyName := fs.String("why", os.DevNull, "write the unexplained versions and what cites their writers to `FILE`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fds, err := readFindings(*findings)
	if err != nil {
		return err
	}
	errs, warns := severities(fds)
	observed, explained := "-", "-"
	switch {
	case *versions != "":
		if err := resolveEvidence(fds, *trailName); err != nil {
			return err
		}
		why, err := os.Create(*whyName)
		if err != nil {
			return fmt.Errorf("score: %w", err)
		}
		defer why.Close()
		o, e, err := scoreVersions(fds, *versions, *metaDir, *target, why)
		if err != nil {
			return err
		}
		observed, explained = strconv.Itoa(o), strconv.Itoa(e)
	case *lost >= 0:
		observed, explained = strconv.Itoa(*lost), strconv.Itoa(lostUpdates(fds, *under))
	}
	_, err = fmt.Fprintf(out, "%s %s %d %d %d\n", observed, explained, errs, warns, countPredictions(fds))
	return err
}

func readFindings(name string) ([]*finding, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	defer f.Close()
	var fds []*finding
	dec := json.NewDecoder(f)
	for {
		var fd finding
		if err := dec.Decode(&fd); err == io.EOF {
			return fds, nil
		} else if err != nil {
			return nil, fmt.Errorf("score: read findings %s: %w", name, err)
		}
		if fd.Kind != "" {
			fds = append(fds, &fd)
		}
	}
}

func countPredictions(fds []*finding) int {
	n := 0
	for _, f := range fds {
		if slices.Contains(predictionKinds, f.Kind) {
			n++
		}
	}
	return n
}

func severities(fds []*finding) (errs, warns int) {
	for _, f := range fds {
		switch f.Severity {
		case "error":
			errs++
		case "warning":
			warns++
		}
	}
	return errs, warns
}

func lostUpdates(fds []*finding, under string) int {
	n := 0
	for _, f := range fds {
		if f.Kind == "lost-update" && f.Severity == "error" && isUnder(f.Path, under) {
			n += max(f.Count, 1)
		}
	}
	return n
}

func isUnder(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
