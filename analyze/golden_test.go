package analyze

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heisen-dev/heisen/trail"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the want files of testdata/*.txtar (review the diff!)")

// TestGolden runs every testdata/*.txtar: its *.trail files are merged and
// analysed (with the options in its "options" file, if any) and the
// findings, one line each, must equal its "want" file exactly. An empty
// want is a near-miss: it must give no finding. A "want-concurrent" file
// is what the same trails give with Options.Concurrent (--concurrent).
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var opts Options
			for _, f := range ar.Files {
				switch {
				case strings.HasSuffix(f.Name, ".trail"), f.Name == "want", f.Name == "want-concurrent":
				case f.Name == "options":
					opts.Durability = strings.Contains(string(f.Data), "durability")
					opts.Concurrent = strings.Contains(string(f.Data), "concurrent")
				default:
					t.Fatalf("unknown file %s", f.Name)
				}
			}
			goldenRun(t, file, ar, "want", opts)
			opts.Concurrent = true
			goldenRun(t, file, ar, "want-concurrent", opts)
		})
	}
}

// goldenRun analyses the trails of ar with opts and compares the findings
// with its file named want (none: nothing to compare), rewriting it with
// -update.
func goldenRun(t *testing.T, file string, ar *txtar.Archive, want string, opts Options) {
	t.Helper()
	var readers []*trail.Reader
	wantAt := -1
	for i, f := range ar.Files {
		switch {
		case strings.HasSuffix(f.Name, ".trail"):
			r := trail.NewReader(bytes.NewReader(f.Data), f.Name)
			r.Malformed = func(e *trail.LineError) { t.Errorf("malformed: %v", e) }
			readers = append(readers, r)
		case f.Name == want:
			wantAt = i
		}
	}
	if wantAt < 0 {
		return
	}
	rep, err := Run(trail.Merge(readers...), opts)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, f := range rep.Findings {
		got.WriteString(goldenLine(f) + "\n")
	}
	if *update && got.String() != string(ar.Files[wantAt].Data) {
		ar.Files[wantAt].Data = []byte(got.String())
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got.String() != string(ar.Files[wantAt].Data) {
		t.Errorf("%s: findings:\n%s\nwant:\n%s", want, got.String(), ar.Files[wantAt].Data)
		for _, f := range rep.Findings {
			t.Logf("%s: %s", f.Kind, f.Message)
		}
	}
	if os.Getenv("GOLDEN_VERBOSE") != "" {
		for _, f := range rep.Findings {
			t.Logf("%s %s: %s [%s]", f.Kind, f.Path, f.Message, f.Note)
		}
	}
}

// goldenLine renders a finding as "severity kind path pids=… count=…
// evidence=file:line,… note=word".
func goldenLine(f *Finding) string {
	pids := make([]string, len(f.PIDs))
	for i, p := range f.PIDs {
		pids[i] = fmt.Sprint(p)
	}
	ev := make([]string, len(f.Evidence))
	for i := range f.Evidence {
		ev[i] = f.Evidence[i].Pos.String()
	}
	s := fmt.Sprintf("%s %s %s pids=%s count=%d evidence=%s", f.Severity, f.Kind, f.Path,
		strings.Join(pids, ","), f.Count, strings.Join(ev, ","))
	if f.Note != "" {
		s += " note=" + strings.SplitN(f.Note, ":", 2)[0]
	}
	return s
}
