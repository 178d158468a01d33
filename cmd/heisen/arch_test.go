package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedImports is the table in docs/ARCHITECTURE.md: what each package may
// import besides the standard library. Keeping the graph one-way is what
// lets atomicfile and trail be imported without pulling in eBPF or x/tools.
var allowedImports = map[string][]string{
	"atomicfile":         {"golang.org/x/sys"},
	"trail":              {"golang.org/x/sys"},
	"trail/atomictrail":  {"atomicfile", "trail"},
	"trail/trailtest":    {"trail"},
	"analyze":            {"trail"},
	"analyze/htmlreport": {"analyze", "trail"},
	"stress":             {"golang.org/x/sys", "atomicfile", "trail", "analyze", "internal/stats"},
	"record":             {"golang.org/x/sys", "github.com/cilium/ebpf", "trail", "record/bpf", "internal/ptrace"},
	"record/bpf":         {"github.com/cilium/ebpf"},
	"runner":             {"golang.org/x/sys", "trail", "internal/ptrace", "internal/stats"},
	"vet":                {"golang.org/x/tools", "vet/filerace", "vet/shellrace"},
	"vet/shellrace":      {"mvdan.cc/sh/v3"},
	"vet/sarif":          {"vet"},
	"vet/filerace":       {"golang.org/x/tools"},
	"crash":              {"golang.org/x/sys"},
	"crash/fusefs":       {"golang.org/x/sys", "github.com/hanwen/go-fuse/v2", "crash"},
	"crash/capture":      {"golang.org/x/sys", "crash", "crash/fusefs", "internal/ptrace"},
	"crash/check":        {"crash"},
	"internal/stats":     {},
	"internal/ptrace":    {"golang.org/x/sys"},
	"internal/testcap":   {},
	"internal/reexec":    {},
	"cmd/heisen-vet":     {"golang.org/x/tools", "atomicfile", "vet", "vet/filerace"},
}

// cliForbidden are the packages cmd/heisen reaches only through others:
// runner and record own how ptrace is used.
var cliForbidden = []string{"internal/ptrace"}

const module = "github.com/heisen-dev/heisen/"

func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, module)
		if name == "cmd/heisen" {
			// The CLI may import everything but the engines below the
			// packages it drives: policy lives in those packages.
			for _, imp := range p.Imports {
				if slices.Contains(cliForbidden, strings.TrimPrefix(imp, module)) {
					t.Errorf("cmd/heisen imports %s: go through the package that uses it", imp)
				}
			}
			continue
		}
		allowed, ok := allowedImports[name]
		if !ok {
			t.Errorf("package %s is not in docs/ARCHITECTURE.md's table (and allowedImports)", name)
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				continue // standard library
			}
			rel := strings.TrimPrefix(imp, module)
			if !slices.ContainsFunc(allowed, func(a string) bool { return rel == a || strings.HasPrefix(rel, a+"/") }) {
				t.Errorf("%s imports %s, which docs/ARCHITECTURE.md does not allow", name, imp)
			}
		}
	}
	if seen < len(allowedImports) {
		t.Errorf("go list reported %d of the %d packages in the table", seen, len(allowedImports))
	}
}
