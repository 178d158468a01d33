package filerace

import (
	"slices"
	"strings"
	"testing"
)

func TestParseIgnore(t *testing.T) {
	for _, tc := range []struct {
		text    string
		cats    []string
		ok      bool
		wantErr string
	}{
		{"// ordinary comment", nil, false, ""},
		{"//heisen:ignored predictable-temp: x", nil, false, ""},
		{"//heisen:ignore predictable-temp: one writer", []string{"predictable-temp"}, true, ""},
		{"//heisen:ignore predictable-temp, unsynced-rename: one writer // want `x`", []string{"predictable-temp", "unsynced-rename"}, true, ""},
		{"//heisen:ignore predictable-temp", nil, true, "needs a reason"},
		{"//heisen:ignore predictable-temp:   ", nil, true, "needs a reason"},
		{"//heisen:ignore", nil, true, "names no kind"},
		{"//heisen:ignore : because", nil, true, "names no kind"},
		{"//heisen:ignore predictible-temp: typo", nil, true, `unknown kind "predictible-temp"`},
	} {
		cats, _, ok, err := parseIgnore(tc.text)
		if ok != tc.ok || !slices.Equal(cats, tc.cats) || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("parseIgnore(%q) = %q, ok=%v, err=%v; want %q, ok=%v, err containing %q", tc.text, cats, ok, err, tc.cats, tc.ok, tc.wantErr)
		}
	}
}

// FuzzParseIgnore checks that a parsed comment prints back to one that
// parses the same, and that nothing is accepted without a reason.
func FuzzParseIgnore(f *testing.F) {
	f.Add("//heisen:ignore predictable-temp: one writer")
	f.Add("//heisen:ignore predictable-temp,in-place-rewrite: a: b // c")
	f.Add("//heisen:ignore")
	f.Add("//heisen:ignore\tcross-device-temp:x")
	f.Fuzz(func(t *testing.T, text string) {
		cats, reason, ok, err := parseIgnore(text)
		if !ok || err != nil {
			if cats != nil || reason != "" {
				t.Fatalf("parseIgnore(%q) rejected it but returned %q, %q", text, cats, reason)
			}
			return
		}
		if len(cats) == 0 || reason == "" || reason != strings.TrimSpace(reason) {
			t.Fatalf("parseIgnore(%q) accepted cats %q reason %q", text, cats, reason)
		}
		again := ignorePrefix + " " + strings.Join(cats, ",") + ": " + reason
		cats2, reason2, ok2, err2 := parseIgnore(again)
		if !ok2 || err2 != nil || !slices.Equal(cats, cats2) || reason2 != reason {
			t.Fatalf("parseIgnore(%q) = %q %q, but its print %q parses as %q %q %v", text, cats, reason, again, cats2, reason2, err2)
		}
	})
}

func TestAnalyzerDoc(t *testing.T) {
	first, rest, _ := strings.Cut(Analyzer.Doc, "\n")
	if !strings.HasPrefix(first, "find temp files two writers can share") || !strings.Contains(rest, "predictable-temp:") || strings.Contains(Analyzer.Doc, "Package filerace") {
		t.Fatalf("Analyzer.Doc = %q, want the Analyzer section of doc.go", Analyzer.Doc)
	}
}
