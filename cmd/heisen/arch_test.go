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
	"atomicfile":      {"golang.org/x/sys"},
	"trail":           {"golang.org/x/sys", "atomicfile"},
	"trail/trailtest": {"trail"},
	"analyze":         {"trail"},
	"stress":          {"golang.org/x/sys", "atomicfile", "trail", "analyze", "internal/stats"},
	"record":          {"golang.org/x/sys", "github.com/cilium/ebpf", "trail", "record/bpf", "internal/ptrace"},
	"record/bpf":      {"github.com/cilium/ebpf"},
	"runner":          {"golang.org/x/sys", "trail", "internal/ptrace", "internal/stats"},
	"vet":             {"golang.org/x/tools", "vet/filerace"},
	"vet/filerace":    {"golang.org/x/tools"},
	"internal/stats":  {},
	"internal/ptrace": {"golang.org/x/sys"},
	"cmd/heisen-vet":  {"golang.org/x/tools", "vet/filerace"},
}

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
			continue // the CLI may import everything
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
