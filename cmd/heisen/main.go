// Command heisen finds file-write races: the bugs that hide when you watch them.
//
// Run "heisen help" for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// Exit codes. heisen record exits with its command's status instead, and
// heisen run with 0 whenever its runs complete (docs/ARCHITECTURE.md).
const (
	exitOK          = 0   // the command ran and found nothing it was asked to fail on
	exitFail        = 1   // findings, corruption, or the command's work failed
	exitUsage       = 2   // bad flags or arguments, unreadable input
	exitInterrupted = 130 // stopped by SIGINT or SIGTERM (128 + SIGINT)
)

// A command is one subcommand of heisen. run parses its own flags with its
// own FlagSet so that each command's help and errors stay its own.
type command struct {
	name    string
	summary string
	hidden  bool // internal re-exec entry points, not shown in help
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is the dispatch table; each entry's run function lives in the
// file named after the command.
var commands []command

func init() {
	// Assigned in init because "help" prints the table it is part of.
	commands = []command{
		{name: "demo", summary: "reproduce the story's race, find it in the trail, show the fix (in seconds)", run: cmdDemo},
		{name: "stress", summary: "replace one file from many processes with a chosen strategy and count corrupt versions", run: cmdStress},
		{name: "stress-worker", hidden: true, run: cmdStressWorker},
		{name: "analyze", summary: "read trails afterwards and name the races in them, with evidence", run: cmdAnalyze},
		{name: "record", summary: "record a trail of the file operations of any command (eBPF, or ptrace)", run: cmdRecord},
		{name: "run", summary: "run a flaky command under perturbations and say which timing variable its failures depend on", run: cmdRun},
		{name: "crash", summary: "simulate power loss: check every state a crash may leave a program's files in", run: cmdCrash},
		{name: "crash-serve", hidden: true, run: cmdCrashServe},
		{name: "vet", summary: "find racy temp-file patterns in Go code before it ships", run: cmdVet},
		{name: "version", summary: "print the version", run: cmdVersion},
		{name: "help", summary: "show help for heisen or one command", run: cmdHelp},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a command. It never calls os.Exit, so tests can
// drive the whole CLI in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "-version", "--version":
		args[0] = "version"
	}
	for _, c := range commands {
		if c.name == args[0] {
			code := c.run(ctx, args[1:], stdout, stderr)
			if code == exitOK && ctx.Err() != nil {
				return exitInterrupted
			}
			return code
		}
	}
	fmt.Fprintf(stderr, "heisen: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `heisen finds file-write races: the bugs that hide when you watch them.

Usage:
  heisen <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands {
		if !c.hidden {
			fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprint(w, `
Run "heisen <command> --help" for a command's flags.
Exit codes: 0 ok, 1 findings or failure, 2 usage, 130 interrupted; record
exits with its command's status, and run with 0 when its runs complete
(each command's --help says more).
`)
}

func cmdHelp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	return run(ctx, []string{args[0], "--help"}, stdout, stderr)
}

func cmdVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "", "print the heisen version and the Go version it was built with", stderr)
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	fmt.Fprintf(stdout, "heisen %s\n", version())
	return exitOK
}

// version reports the module version when built with "go install …@vX", and
// the VCS revision when built from a checkout.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if (v == "" || v == "(devel)") && rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v = "devel " + rev + dirty
	}
	if v == "" {
		v = "(devel)"
	}
	return v + " " + bi.GoVersion
}

// newFlagSet makes a FlagSet whose usage text starts with the command's
// synopsis; errors go to stderr and never exit the process.
func newFlagSet(name, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("heisen "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: heisen %s [flags] %s\n\n%s\n", name, synopsis, about)
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintf(out, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args into fs. When it returns ok=false the command must
// return code: exitOK after --help (printed to stdout), exitUsage otherwise.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) (code int, ok bool) {
	// The flag package prints usage to its output on every error, --help
	// included; hold it back so help goes to stdout once and errors to
	// stderr once.
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		stderr := fs.Output()
		fs.SetOutput(stdout)
		fs.Usage()
		fs.SetOutput(stderr)
		return exitOK, false
	case err != nil:
		fs.Usage()
		return exitUsage, false
	}
	return exitOK, true
}

// setFlags returns the names of the flags given on the command line, so
// that a command can tell a value given from the default.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// printError prints err as the error of command cmd, naming the command
// once: a library error that starts with the package's name
// ("stress: create target: …") loses that prefix after "heisen stress:".
func printError(stderr io.Writer, cmd string, err error, pkgs ...string) {
	msg := err.Error()
	for _, p := range append([]string{cmd}, pkgs...) {
		msg = strings.TrimPrefix(msg, p+": ")
	}
	fmt.Fprintf(stderr, "heisen %s: %s\n", cmd, msg)
}

// exitError is a phase's failure: what to print and the exit status. A
// usage error also points at --help.
type exitError struct {
	code  int
	usage bool
	msg   string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, usage: true, msg: fmt.Sprintf(format, a...)}
}

func exitErr(code int, format string, a ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, a...)}
}

// usageError prints a usage error in the one format every command uses.
func usageError(stderr io.Writer, cmd, format string, a ...any) int {
	fmt.Fprintf(stderr, "heisen %s: %s\n", cmd, fmt.Sprintf(format, a...))
	fmt.Fprintf(stderr, "Run 'heisen %s --help' for usage.\n", cmd)
	return exitUsage
}
