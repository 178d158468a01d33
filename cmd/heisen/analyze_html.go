package main

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/analyze/htmlreport"
	"github.com/heisen-dev/heisen/atomicfile"
	"github.com/heisen-dev/heisen/trail"
)

// writeHTMLReport writes the report of --html to name, replacing it only
// once it is complete.
func writeHTMLReport(name string, rep *analyze.Report, trails []string) error {
	f, err := atomicfile.Create(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return cmp.Or(htmlreport.Write(f, rep, htmlreport.Options{Trails: trails}), f.Commit())
}

// writeDemoReport analyses the demo's trail and writes its HTML report to a
// new file in the temp directory, which outlives the demo's run directory;
// it returns the file's path.
func writeDemoReport(trailFile string) (string, error) {
	in, err := os.Open(trailFile)
	if err != nil {
		return "", err
	}
	defer in.Close()
	rep, err := analyze.Run(trail.NewReader(in, filepath.Base(trailFile)), analyze.Options{})
	if err != nil {
		return "", err
	}
	out, err := os.CreateTemp("", "heisen-demo-*.html")
	if err != nil {
		return "", fmt.Errorf("create HTML report: %w", err)
	}
	err = htmlreport.Write(out, rep, htmlreport.Options{Trails: []string{filepath.Base(trailFile)}})
	if err = cmp.Or(err, out.Close()); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}
