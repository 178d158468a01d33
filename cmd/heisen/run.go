package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heisen-dev/heisen/record"
	"github.com/heisen-dev/heisen/runner"
)

const runAbout = `Runs COMMAND many times under each perturbation, interleaved (A B C A B C ...),
and says for each whether it raises or lowers the failure rate against the
unperturbed baseline: Fisher's exact test, Holm-corrected over the
perturbations, 95% family-wise confidence. A run fails when it exits non-zero,
times out, or its output matches --fail-if.

Perturbations: none, syscall-delay=DUR, one-cpu, cpu-contention=N, chaos,
unbuffered. Exit status 0 whenever the runs completed, whatever they found.
With --keep-failures DIR, each failing run leaves DIR/<perturbation>-<n>.stdout
and .stderr, and with --record also .trail (for heisen analyze).`

// runFlags are heisen run's flags, as parsed.
type runFlags struct {
	fs                        *flag.FlagSet
	perturb, syscalls, failIf *string
	keep                      *string
	runs, parallel            *int
	duration, timeout         *time.Duration
	record, json              *bool
}

func newRunFlags(stderr io.Writer) *runFlags {
	fs := newFlagSet("run", "-- COMMAND [ARGS]", runAbout, stderr)
	return &runFlags{
		fs:       fs,
		perturb:  fs.String("perturb", runner.DefaultPerturbations(), "comma-separated `LIST` of perturbations; none (the baseline) is always included"),
		runs:     fs.Int("runs", 0, fmt.Sprintf("runs per perturbation (default %d without --duration; with it, a cap)", runner.DefaultRuns)),
		duration: fs.Duration("duration", 0, "keep running rounds until this much time has passed"),
		timeout:  fs.Duration("timeout", runner.DefaultTimeout, "per run; a run that takes longer fails and its process group is killed"),
		parallel: fs.Int("parallel", 1, "copies of the command started at once in each slot"),
		syscalls: fs.String("syscalls", runner.DefaultSyscalls, "syscalls that syscall-delay slows: names and the group file"),
		failIf:   fs.String("fail-if", "", "a run whose stdout or stderr matches this `REGEXP` fails even if it exits 0"),
		keep:     fs.String("keep-failures", "", "directory for the stdout and stderr of failing runs"),
		record:   fs.Bool("record", false, "with --keep-failures, record every run with eBPF (heisen record) and keep the trail of each failing one"),
		json:     fs.Bool("json", false, "print one JSON object per perturbation instead of the table"),
	}
}

// cmdRun parses the flags into a runner.Config, runs the comparison and
// prints its report; runner owns the defaults and the checks of the
// config, the CLI only those of its flags.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newRunFlags(stderr)
	if code, ok := parse(f.fs, args, stdout); !ok {
		return code
	}
	cfg, msg := f.config()
	if msg != "" {
		return usageError(stderr, "run", "%s", msg)
	}
	if *f.record {
		r, err := record.New(record.Config{})
		if err != nil {
			fmt.Fprintf(stderr, "heisen run: --record: %v\n", err)
			return exitFail
		}
		defer r.Close()
		cfg.Record = r
	}
	if isTerminal(stderr) {
		cfg.Progress = runProgress(stderr)
	}
	rep, err := runner.Run(ctx, cfg)
	if cfg.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if rep == nil {
		printError(stderr, "run", err, "runner")
		return exitUsage
	}
	if *f.json {
		enc := json.NewEncoder(stdout)
		for _, r := range rep.Results {
			enc.Encode(r)
		}
	} else {
		printRunReport(stdout, rep)
	}
	if err != nil {
		printError(stderr, "run", err, "runner")
		return exitFail
	}
	if rep.Interrupted {
		fmt.Fprintln(stderr, "heisen run: interrupted; the table shows the runs completed so far")
		return exitInterrupted
	}
	return exitOK
}

// config turns the flags into a runner.Config, or a usage message. A zero
// given is an error, not the default: only a flag left out takes it.
func (f *runFlags) config() (runner.Config, string) {
	cfg := runner.Config{Command: f.fs.Args(), Runs: *f.runs, Duration: *f.duration, Timeout: *f.timeout,
		Parallel: *f.parallel, Syscalls: *f.syscalls, KeepFailures: *f.keep}
	if len(cfg.Command) == 0 {
		return cfg, "no command to run (heisen run [flags] -- COMMAND [ARGS])"
	}
	var err error
	if cfg.Perturbations, err = runner.ParsePerturbations(*f.perturb); err != nil {
		return cfg, fmt.Sprintf("--perturb: %v", err)
	}
	set := setFlags(f.fs)
	switch {
	case *f.runs < 0 || set["runs"] && *f.runs == 0:
		return cfg, fmt.Sprintf("--runs %d: must be positive", *f.runs)
	case *f.duration < 0 || set["duration"] && *f.duration == 0:
		return cfg, fmt.Sprintf("--duration %s: must be positive", *f.duration)
	case *f.timeout <= 0:
		return cfg, "--timeout must be positive"
	case *f.parallel < 1:
		return cfg, "--parallel must be at least 1"
	case *f.record && *f.keep == "":
		return cfg, "--record needs --keep-failures DIR for the trails"
	}
	if *f.failIf != "" {
		if cfg.FailIf, err = regexp.Compile(*f.failIf); err != nil {
			return cfg, fmt.Sprintf("--fail-if: %v", err)
		}
	}
	return cfg, ""
}

// runProgress shows the failures so far on one line of the terminal.
func runProgress(stderr io.Writer) func(done, total int, so runner.Report) {
	return func(done, total int, so runner.Report) {
		var b strings.Builder
		for _, r := range so.Results {
			fmt.Fprintf(&b, "  %s %d/%d", r.Perturbation, r.Failures, r.Runs)
		}
		of := ""
		if total > 0 {
			of = fmt.Sprintf("/%d", total)
		}
		fmt.Fprintf(stderr, "\r\033[Krun %d%s  failures:%s", done, of, b.String())
	}
}

func printRunReport(w io.Writer, rep *runner.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "perturbation\truns\tfailures\trate\t95% CI\tmedian\tp\tverdict")
	for _, r := range rep.Results {
		p := "-"
		if r.P != nil {
			p = fmt.Sprintf("%.2g", *r.P)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t[%.1f%%, %.1f%%]\t%.3fs\t%s\t%s\n",
			r.Perturbation, r.Runs, r.Failures, 100*r.Rate, 100*r.CILow, 100*r.CIHigh, r.MedianS, p, r.Verdict)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range rep.Results {
		if r.Reading != "" {
			fmt.Fprintf(w, "%s %s: %s\n", r.Perturbation, r.Verdict, r.Reading)
		}
	}
	fmt.Fprintf(w, "%s.\n", rep.Summary)
	fmt.Fprintf(w, "Verdicts: Fisher's exact test against none, Holm-corrected over %s (95%% family-wise confidence).\n", plural(rep.Compared, "comparison"))
}
