package vet_test

import (
	"context"
	"strings"
	"testing"

	"github.com/heisen-dev/heisen/vet"
)

// With tests loaded, package racy is analyzed twice (alone and as the test
// variant); each finding must still be reported once.
func TestCheckTestsDeduplicated(t *testing.T) {
	findings, err := vet.Check(context.Background(), vet.Options{Dir: "testdata/racy", Tests: true}, "./...")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, f.Category)
	}
	if strings.Join(got, " ") != "predictable-temp rename-without-sync" {
		t.Fatalf("findings = %v, want predictable-temp and rename-without-sync once each", findings)
	}
	if m := findings[0].Message; !strings.Contains(m, "built from the clock") || !strings.Contains(m, "os.CreateTemp in the target's directory") {
		t.Errorf("predictable-temp message = %q, want the cause and the remedy", m)
	}
}

func TestCheckTypeErrorIsError(t *testing.T) {
	_, err := vet.Check(context.Background(), vet.Options{Dir: "testdata/broken"}, "./...")
	if err == nil || !strings.Contains(err.Error(), "example.com/broken") || !strings.Contains(err.Error(), "not an int") {
		t.Fatalf("Check(broken) error = %v, want the type error naming the package", err)
	}
}

func TestCheckNoMatch(t *testing.T) {
	_, err := vet.Check(context.Background(), vet.Options{Dir: "testdata/racy"}, "./nosuchdir")
	if err == nil {
		t.Fatal("Check(./nosuchdir) succeeded, want an error")
	}
}
