//go:build linux && (amd64 || arm64)

package record_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/heisen-dev/heisen/record"
	"github.com/heisen-dev/heisen/trail"
)

// Record a shell command and everything it starts into a trail file,
// keeping only paths under /srv/app. Needs root (eBPF); on other machines
// record.RunPtrace takes the same arguments.
func ExampleRunCommand() {
	w, err := trail.Create("app.trail.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()
	cmd := exec.Command("sh", "-c", "cd /srv/app && ./deploy.sh")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	code, st, err := record.RunCommand(context.Background(), record.Config{Paths: []string{"/srv/app"}}, cmd, w)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("exit %d, %d events, %d lost\n", code, st.Events, st.Lost)
}
