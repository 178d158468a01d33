package vet

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/heisen-dev/heisen/vet/filerace"
	"github.com/heisen-dev/heisen/vet/shellrace"
)

// SplitScripts sorts the patterns of "heisen vet" into shell scripts and
// Go package patterns. A pattern that ends in /... is walked for scripts
// (skipping testdata, vendor, directories whose names begin with . or _,
// and other modules, as the go command does) and stays a Go pattern if there are .go files
// under it; a directory is read the same way without its subdirectories;
// a file that does not end in .go is a script; anything else is a Go
// pattern.
func SplitScripts(patterns []string) (scripts, goPatterns []string, err error) {
	for _, p := range patterns {
		dir, recursive := strings.CutSuffix(p, "/...")
		if p == "..." {
			dir, recursive = ".", true
		}
		info, statErr := os.Stat(dir)
		switch {
		case statErr != nil:
			goPatterns = append(goPatterns, p)
		case !info.IsDir():
			if strings.HasSuffix(p, ".go") {
				goPatterns = append(goPatterns, p)
			} else {
				scripts = append(scripts, filepath.Clean(p))
			}
		default:
			found, hasGo, err := findScripts(dir, recursive)
			if err != nil {
				return nil, nil, err
			}
			scripts = append(scripts, found...)
			if hasGo {
				goPatterns = append(goPatterns, p)
			}
		}
	}
	return scripts, goPatterns, nil
}

// findScripts lists the shell scripts in dir (and below it, if recursive)
// and reports whether it met a .go file.
func findScripts(dir string, recursive bool) (scripts []string, hasGo bool, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != dir && (!recursive || name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || isModule(path)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			hasGo = true
			return nil
		}
		if ok, err := isScript(path); err != nil {
			return err
		} else if ok {
			scripts = append(scripts, path)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("find shell scripts in %s: %w", dir, err)
	}
	return scripts, hasGo, nil
}

// isModule reports whether dir is the root of a Go module, which a
// pattern of an enclosing directory does not reach into.
func isModule(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "go.mod"))
	return err == nil
}

func isScript(path string) (bool, error) {
	if shellrace.IsScript(path, nil) {
		return true, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, 128)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	return shellrace.IsScript(path, head[:n]), nil
}

// CheckScripts runs the shell analysis (vet/shellrace) on each script. A
// script that cannot be read or parsed is not analysed; its error is in
// skipped, and the others are.
func CheckScripts(scripts []string) (findings []Finding, skipped []error) {
	for _, s := range scripts {
		src, err := os.ReadFile(s)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("read shell script: %w", err))
			continue
		}
		fs, err := shellrace.Check(s, src)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		for _, f := range fs {
			v := Finding{Kind: f.Kind, Severity: f.Severity, File: f.File, Line: f.Line, Column: f.Column, Message: f.Message}
			if f.Fix != "" {
				v.Fixes = []Fix{{Message: f.Fix}}
			}
			findings = append(findings, v)
		}
	}
	return findings, skipped
}

// Sort orders findings by file, line, column and message, as Check does.
func Sort(findings []Finding) {
	slices.SortFunc(findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Message, b.Message))
	})
}

// Without returns the findings whose category is not in disabled, a
// comma-separated list of categories; it is an error to name one that
// does not exist.
func Without(findings []Finding, disabled string) ([]Finding, error) {
	if disabled == "" {
		return findings, nil
	}
	off := map[string]bool{}
	for _, c := range strings.Split(disabled, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(filerace.Kinds, c) {
			return nil, fmt.Errorf("unknown kind %q; known: %s", c, strings.Join(filerace.Kinds, ", "))
		}
		off[c] = true
	}
	return slices.DeleteFunc(findings, func(f Finding) bool { return off[f.Kind] }), nil
}
