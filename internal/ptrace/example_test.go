package ptrace_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/heisen-dev/heisen/internal/ptrace"
)

// Trace only the renames of a shell script and its children, reading the
// paths from the tracee's memory at entry and the result at exit.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	nrs, _ := ptrace.Syscalls("rename,renameat,renameat2")
	cfg := &ptrace.Config{
		Syscalls: nrs,
		Enter: func(s *ptrace.Stop) ptrace.Action {
			from, to := s.Args[0], s.Args[1] // rename(from, to)
			if s.Name() != "rename" {
				from, to = s.Args[1], s.Args[3] // renameat*(dirfd, from, dirfd, to)
			}
			a, _ := s.ReadString(from, 4096)
			b, _ := s.ReadString(to, 4096)
			s.Note = filepath.Base(a) + " -> " + filepath.Base(b)
			return ptrace.Action{TraceExit: true}
		},
		Exit: func(s *ptrace.Stop) { fmt.Println("rename", s.Note, "=", s.Ret) },
	}
	cmd := &ptrace.Cmd{Path: "sh", Args: []string{"sh", "-c", "echo v1 > new.tmp && mv new.tmp config && mv missing config"}, Dir: dir}
	res, err := ptrace.Run(context.Background(), cmd, cfg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("exit", res.ExitCode())
	// Output:
	// rename new.tmp -> config = 0
	// rename missing -> config = -2
	// exit 1
}
