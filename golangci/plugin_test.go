package golangci

import (
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"
)

func analyzers(t *testing.T, conf any) *plugin {
	t.Helper()
	p, err := New(conf)
	if err != nil {
		t.Fatal(err)
	}
	if p.GetLoadMode() != "typesinfo" {
		t.Errorf("load mode %q, want typesinfo (filerace builds SSA)", p.GetLoadMode())
	}
	return p.(*plugin)
}

func TestDefault(t *testing.T) {
	as, err := analyzers(t, nil).BuildAnalyzers()
	if err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, analysistest.TestData(), as[0], "racy")
}

func TestDisable(t *testing.T) {
	conf := map[string]any{"disable": []any{"unsynced-rename"}}
	as, err := analyzers(t, conf).BuildAnalyzers()
	if err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, analysistest.TestData(), as[0], "racynosync")
}

func TestBadSettings(t *testing.T) {
	for _, conf := range []any{
		map[string]any{"disable": []any{"nonsense"}},
		map[string]any{"categories": []any{"predictable-temp"}},
	} {
		if _, err := New(conf); err == nil || !strings.Contains(err.Error(), "heisen plugin settings") {
			t.Errorf("New(%v) = %v, want an error naming the settings", conf, err)
		}
	}
}
