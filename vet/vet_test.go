package vet_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heisen-dev/heisen/vet"
)

// With tests loaded, package racy is analyzed twice (alone and as the test
// variant); each finding must still be reported once.
func TestCheckTestsDeduplicated(t *testing.T) {
	rep, err := vet.Check(context.Background(), vet.Options{Dir: "testdata/racy", Tests: true}, "./...")
	if err != nil {
		t.Fatal(err)
	}
	findings := rep.Findings
	var got []string
	for _, f := range findings {
		got = append(got, f.Kind)
	}
	if strings.Join(got, " ") != "predictable-temp unsynced-rename" {
		t.Fatalf("findings = %v, want predictable-temp and unsynced-rename once each", findings)
	}
	if m := findings[0].Message; !strings.Contains(m, "built from the clock") || !strings.Contains(m, "os.CreateTemp in the target's directory") {
		t.Errorf("predictable-temp message = %q, want the cause and the remedy", m)
	}
}

// A package that does not type-check is skipped and named with its error;
// when it is the only one, nothing could be vetted and Check fails.
func TestCheckOnlyBrokenIsError(t *testing.T) {
	rep, err := vet.Check(context.Background(), vet.Options{Dir: "testdata/broken"}, "./...")
	if err == nil || !strings.Contains(err.Error(), "example.com/broken") || !strings.Contains(err.Error(), "not an int") {
		t.Fatalf("Check(broken) error = %v, want the type error naming the package", err)
	}
	if rep == nil || len(rep.Skipped) != 1 || rep.Skipped[0].Package != "example.com/broken" {
		t.Fatalf("report = %+v, want example.com/broken skipped", rep)
	}
}

// Packages that load are vetted when others do not: one with a type error,
// one whose C header is missing. A package importing the broken one is
// vetted against what of it loaded.
func TestCheckPartial(t *testing.T) {
	rep, err := vet.Check(context.Background(), vet.Options{Dir: "testdata/partial", Tests: true}, "./...")
	if err != nil {
		t.Fatalf("Check(partial) error = %v, want the loadable packages vetted", err)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, filepath.Base(filepath.Dir(f.File))+" "+f.Kind)
	}
	want := "racy predictable-temp racy unsynced-rename user predictable-temp"
	if strings.Join(got, " ") != want {
		t.Errorf("findings = %q, want %q", strings.Join(got, " "), want)
	}
	var skipped []string
	for _, s := range rep.Skipped {
		skipped = append(skipped, s.Package)
		if len(s.Errors) == 0 {
			t.Errorf("skipped %s without its errors", s.Package)
		}
	}
	if want := "example.com/partial/broken example.com/partial/cgo"; strings.Join(skipped, " ") != want {
		t.Errorf("skipped = %q, want %q", strings.Join(skipped, " "), want)
	}
	if want := "example.com/partial/racy example.com/partial/user"; strings.Join(rep.Analyzed, " ") != want {
		t.Errorf("analysed = %q, want %q", strings.Join(rep.Analyzed, " "), want)
	}
}

func TestCheckNoMatch(t *testing.T) {
	_, err := vet.Check(context.Background(), vet.Options{Dir: "testdata/racy"}, "./nosuchdir")
	if err == nil {
		t.Fatal("Check(./nosuchdir) succeeded, want an error")
	}
}

// Facts cross packages: the name helper in one package makes the create in
// another a predictable temp, although each package is analysed alone.
func TestCheckFactsAcrossPackages(t *testing.T) {
	rep, err := vet.Check(context.Background(), vet.Options{Dir: "testdata/helper"}, "./store")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0].Message, "built from the clock") {
		t.Fatalf("findings = %v, want the helper's clock name seen in store", rep.Findings)
	}
}
