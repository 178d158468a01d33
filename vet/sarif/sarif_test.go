package sarif_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heisen-dev/heisen/vet"
	"github.com/heisen-dev/heisen/vet/sarif"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifLog writes the findings of heisen vet on testdata/mod (Go and a
// shell script) as SARIF, the way "heisen vet --sarif" run there does.
func sarifLog(t *testing.T) []byte {
	t.Helper()
	dir, err := filepath.Abs("testdata/mod")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := vet.Check(context.Background(), vet.Options{Dir: dir}, "./...")
	if err != nil {
		t.Fatal(err)
	}
	shell, skipped := vet.CheckScripts([]string{filepath.Join(dir, "save.sh")})
	if len(skipped) > 0 {
		t.Fatal(skipped)
	}
	findings := append(rep.Findings, shell...)
	vet.RelativeTo(findings, dir)
	var buf bytes.Buffer
	if err := sarif.Write(&buf, findings, dir); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// schema compiles the SARIF 2.1.0 schema (testdata/sarif-schema-2.1.0.json,
// the OASIS errata01 schema from github.com/oasis-tcs/sarif-spec,
// sarif-2.1/schema), with
// format assertions on (uri, uri-reference, date-time).
func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(sarif.Schema, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(sarif.Schema)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, log []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(log))
	if err != nil {
		t.Fatalf("the log is not JSON: %v", err)
	}
	return sch.Validate(inst)
}

func TestValidAgainstSchema(t *testing.T) {
	sch := schema(t)
	log := sarifLog(t)
	if err := validate(t, sch, log); err != nil {
		t.Fatalf("the SARIF log does not validate against the 2.1.0 schema: %v\n%s", err, log)
	}
	// The validator rejects what the schema forbids, so passing means something.
	for name, broken := range map[string]string{
		"no version":    strings.Replace(string(log), `"version": "2.1.0",`, ``, 1),
		"bad level":     strings.Replace(string(log), `"level": "error"`, `"level": "fatal"`, 1),
		"line 0":        strings.Replace(string(log), `"startLine": 13`, `"startLine": 0`, 1),
		"unknown field": strings.Replace(string(log), `"ruleId":`, `"rule": "x", "ruleId":`, 1),
	} {
		if broken == string(log) {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if err := validate(t, sch, []byte(broken)); err == nil {
			t.Errorf("%s: the schema accepted a broken log", name)
		}
	}
}

// sarifRun is the part of a SARIF run that TestContent reads.
type sarifRun struct {
	Tool struct {
		Driver struct {
			Rules []struct {
				ID                   string
				ShortDescription     struct{ Text string }
				Help                 struct{ Text, Markdown string }
				DefaultConfiguration struct{ Level string }
			}
		}
	}
	OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
	Results            []struct {
		RuleID    string
		RuleIndex int
		Level     string
		Message   struct{ Text string }
		Locations []struct {
			PhysicalLocation struct {
				ArtifactLocation struct {
					URI       string
					URIBaseID string `json:"uriBaseId"`
				}
				Region struct{ StartLine, StartColumn int }
			}
		}
		Fixes []struct {
			Description     struct{ Text string }
			ArtifactChanges []struct {
				ArtifactLocation struct{ URI string }
				Replacements     []struct {
					DeletedRegion   struct{ StartLine, StartColumn, EndLine, EndColumn int }
					InsertedContent struct{ Text string }
				}
			}
		}
	}
}

// place is where a result points: its rule, file and start.
type place struct {
	rule, uri string
	line, col int
}

// places maps the place of each of the run's results to its index.
func (run *sarifRun) places() map[place]int {
	got := map[place]int{}
	for i, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation
		got[place{r.RuleID, loc.ArtifactLocation.URI, loc.Region.StartLine, loc.Region.StartColumn}] = i
	}
	return got
}

// wantResults are the results vet finds in testdata/mod, with their
// levels and how many fixes each offers.
var wantResults = []struct {
	place
	level string
	fixes int
}{
	{place{"predictable-temp", "worker.go", 13, 12}, "error", 1},
	{place{"unsynced-rename", "worker.go", 24, 9}, "error", 1},
	// echo "日本" > "$out.$$": byte column 17, UTF-16 column 13.
	{place{"predictable-temp", "save.sh", 3, 13}, "error", 0},
	{place{"unsynced-rename", "save.sh", 4, 1}, "warning", 0},
}

// TestContent checks what the log of testdata/mod says: its rules, the
// source root its paths are relative to, each result's place, level and
// fixes, and the replacements of the O_EXCL fix.
func TestContent(t *testing.T) {
	var log struct{ Runs []sarifRun }
	if err := json.Unmarshal(sarifLog(t), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	rules := run.Tool.Driver.Rules
	got := run.places()
	t.Run("rules", func(t *testing.T) {
		for _, r := range rules {
			if r.ShortDescription.Text == "" || r.Help.Text == "" || r.Help.Markdown == "" || r.DefaultConfiguration.Level == "" {
				t.Errorf("rule %s lacks a description, help or level: %+v", r.ID, r)
			}
		}
		if len(rules) != 5 {
			t.Errorf("%d rules, want one per kind (5)", len(rules))
		}
	})
	t.Run("source root", func(t *testing.T) {
		if !strings.HasPrefix(run.OriginalURIBaseIDs["%SRCROOT%"].URI, "file:///") {
			t.Errorf("%%SRCROOT%% = %q, want a file URI", run.OriginalURIBaseIDs["%SRCROOT%"].URI)
		}
		for i, r := range run.Results {
			if base := r.Locations[0].PhysicalLocation.ArtifactLocation.URIBaseID; base != "%SRCROOT%" {
				t.Errorf("result %d: uriBaseId %q, want %%SRCROOT%%", i, base)
			}
		}
	})
	t.Run("rule index", func(t *testing.T) {
		for i, r := range run.Results {
			if rules[r.RuleIndex].ID != r.RuleID {
				t.Errorf("result %d: ruleIndex %d is %s, not %s", i, r.RuleIndex, rules[r.RuleIndex].ID, r.RuleID)
			}
		}
	})
	t.Run("results", func(t *testing.T) {
		for _, want := range wantResults {
			i, ok := got[want.place]
			if !ok {
				t.Errorf("no result %+v; have %v", want.place, got)
				continue
			}
			r := run.Results[i]
			if r.Level != want.level || len(r.Fixes) != want.fixes {
				t.Errorf("%+v: level %s and %d fixes, want %s and %d", want.place, r.Level, len(r.Fixes), want.level, want.fixes)
			}
		}
		if len(run.Results) != len(wantResults) {
			t.Errorf("%d results, want %d", len(run.Results), len(wantResults))
		}
	})
	t.Run("O_EXCL fix", func(t *testing.T) {
		// os.Create becomes os.OpenFile with the flags.
		i, ok := got[place{"predictable-temp", "worker.go", 13, 12}]
		if !ok || len(run.Results[i].Fixes) == 0 {
			t.Fatal("no predictable-temp result with a fix at worker.go:13:12")
		}
		fix := run.Results[i].Fixes[0]
		reps := fix.ArtifactChanges[0].Replacements
		if fix.ArtifactChanges[0].ArtifactLocation.URI != "worker.go" || len(reps) != 2 ||
			reps[0].InsertedContent.Text != "OpenFile" || reps[0].DeletedRegion.StartColumn != 15 || reps[0].DeletedRegion.EndColumn != 21 ||
			!strings.Contains(reps[1].InsertedContent.Text, "O_EXCL") {
			t.Errorf("O_EXCL fix = %+v", fix)
		}
	})
}
