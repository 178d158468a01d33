package main

import (
	"context"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts in testdata/script run the real heisen binary:
// testscript re-executes this test binary as "heisen".
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"heisen": main,
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// Scripts must not depend on the developer's terminal or colours.
			env.Setenv("NO_COLOR", "1")
			return nil
		},
	})
}

func TestRunNoArgsIsUsage(t *testing.T) {
	var out, errb strings.Builder
	if code := run(context.Background(), nil, &out, &errb); code != exitUsage {
		t.Fatalf("run() = %d, want %d", code, exitUsage)
	}
	if errb.Len() == 0 {
		t.Fatal("run() printed no usage to stderr")
	}
}
