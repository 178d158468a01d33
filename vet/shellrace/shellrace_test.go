package shellrace

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/heisen-dev/heisen/vet/filerace"
)

// TestScripts checks every script in testdata against its want comments,
// in the style of golang.org/x/tools/go/analysis/analysistest: a line
// that should have findings ends in a comment
//
//	# want `regexp` "regexp"
//
// with one pattern per finding on that line, and every finding must be
// wanted.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.sh")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			findings, err := Check(file, src)
			if err != nil {
				t.Fatal(err)
			}
			want := wants(t, string(src))
			for _, f := range findings {
				if f.File != file || f.Line < 1 || f.Column < 1 {
					t.Errorf("finding has a bad position: %+v", f)
				}
				if !match(want[f.Line], f.Message) {
					t.Errorf("%s: unexpected finding: %s", file, f)
				}
			}
			for line, res := range want {
				for _, re := range res {
					if re != nil {
						t.Errorf("%s:%d: no finding matched %q", file, line, re)
					}
				}
			}
		})
	}
}

var wantRE = regexp.MustCompile("`[^`]*`|\"(?:[^\"\\\\]|\\\\.)*\"")

// wants reads the want comments of a script, by line.
func wants(t *testing.T, src string) map[int][]*regexp.Regexp {
	want := map[int][]*regexp.Regexp{}
	for i, line := range strings.Split(src, "\n") {
		_, list, ok := strings.Cut(line, "# want ")
		if !ok {
			continue
		}
		for _, q := range wantRE.FindAllString(list, -1) {
			s, err := strconv.Unquote(q)
			if err != nil {
				t.Fatalf("line %d: bad want %s: %v", i+1, q, err)
			}
			want[i+1] = append(want[i+1], regexp.MustCompile(s))
		}
	}
	return want
}

// match crosses off the first pattern of res that matches msg.
func match(res []*regexp.Regexp, msg string) bool {
	for i, re := range res {
		if re != nil && re.MatchString(msg) {
			res[i] = nil
			return true
		}
	}
	return false
}

func TestParseError(t *testing.T) {
	_, err := Check("broken.sh", []byte("if then fi ((\n"))
	if err == nil || !strings.Contains(err.Error(), "broken.sh") {
		t.Fatalf("Check of a broken script: err = %v, want a parse error naming broken.sh", err)
	}
}

func TestIsScript(t *testing.T) {
	for _, c := range []struct {
		name, head string
		want       bool
	}{
		{"a.sh", "", true},
		{"a.bash", "echo", true},
		{"run", "#!/bin/sh\necho", true},
		{"run", "#! /bin/bash -e\n", true},
		{"run", "#!/usr/bin/env bash\n", true},
		{"run", "#!/usr/bin/env -S dash -e\n", true},
		{"run", "#!/usr/bin/python3\n", false},
		{"run", "#!/usr/bin/env zsh\n", false},
		{"run.py", "echo", false},
		{"run", "", false},
	} {
		if got := IsScript(c.name, []byte(c.head)); got != c.want {
			t.Errorf("IsScript(%q, %q) = %v, want %v", c.name, c.head, got, c.want)
		}
	}
}

func ExampleCheck() {
	src := []byte(`out=/srv/state
generate > "$out.$$"
mv "$out.$$" "$out"
`)
	findings, err := Check("save.sh", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range findings {
		fmt.Println(f.File, f.Line, f.Kind, f.Severity)
	}
	// Output:
	// save.sh 2 predictable-temp error
	// save.sh 3 unsynced-rename warning
}

// The shell front end names its kinds as the Go analyzer does, so
// that one heisen:ignore vocabulary and one --disable list serve both.
func TestKindsAreFileraces(t *testing.T) {
	for _, c := range Kinds {
		if !slices.Contains(filerace.Kinds, c) {
			t.Errorf("kind %q is not one of filerace's %v", c, filerace.Kinds)
		}
	}
	if BadIgnore != filerace.BadIgnore {
		t.Errorf("BadIgnore = %q, filerace's is %q", BadIgnore, filerace.BadIgnore)
	}
}
