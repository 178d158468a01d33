package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heisen-dev/heisen/internal/ptrace"
	"github.com/heisen-dev/heisen/record"
	"github.com/heisen-dev/heisen/runner"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "-- COMMAND [ARGS]",
		`Runs COMMAND many times under each perturbation, interleaved (A B C A B C ...),
and says for each whether it raises or lowers the failure rate against the
unperturbed baseline: Fisher's exact test, Holm-corrected over the
perturbations, 95% family-wise confidence. A run fails when it exits non-zero,
times out, or its output matches --fail-if.

Perturbations: none, syscall-delay=DUR, one-cpu, cpu-contention=N, chaos,
unbuffered. Exit status 0 whenever the runs completed, whatever they found.
With --keep-failures DIR, each failing run leaves DIR/<perturbation>-<n>.stdout
and .stderr, and with --record also .trail (for heisen analyze).`, stderr)
	perturb := fs.String("perturb", runner.DefaultPerturbations(), "comma-separated `LIST` of perturbations; none (the baseline) is always included")
	runs := fs.Int("runs", 0, "runs per perturbation (default 20 without --duration; with it, a cap)")
	duration := fs.Duration("duration", 0, "keep running rounds until this much time has passed")
	timeout := fs.Duration("timeout", defaultRunTimeout, "per run; a run that takes longer fails and its process group is killed")
	parallel := fs.Int("parallel", 1, "copies of the command started at once in each slot")
	syscalls := fs.String("syscalls", "file", "syscalls that syscall-delay slows: names and the group file")
	failIf := fs.String("fail-if", "", "a run whose stdout or stderr matches this `REGEXP` fails even if it exits 0")
	keep := fs.String("keep-failures", "", "directory for the stdout and stderr of failing runs")
	rec := fs.Bool("record", false, "with --keep-failures, record every run with eBPF (heisen record) and keep the trail of each failing one")
	asJSON := fs.Bool("json", false, "print one JSON object per perturbation instead of the table")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	cfg := runner.Config{Command: fs.Args(), Duration: *duration, Timeout: *timeout, Parallel: *parallel, KeepFailures: *keep}
	if len(cfg.Command) == 0 {
		return usageError(stderr, "run", "no command to run (heisen run [flags] -- COMMAND [ARGS])")
	}
	var err error
	if cfg.Perturbations, err = runner.ParsePerturbations(*perturb); err != nil {
		return usageError(stderr, "run", "--perturb: %v", err)
	}
	switch {
	case *runs < 0:
		return usageError(stderr, "run", "--runs must be positive")
	case *duration < 0:
		return usageError(stderr, "run", "--duration must be positive")
	case *timeout <= 0:
		return usageError(stderr, "run", "--timeout must be positive")
	case *parallel < 1:
		return usageError(stderr, "run", "--parallel must be at least 1")
	}
	cfg.Runs = *runs
	if cfg.Runs == 0 && cfg.Duration == 0 {
		cfg.Runs = 20
	}
	if cfg.Syscalls, err = ptrace.Syscalls(*syscalls); err != nil {
		return usageError(stderr, "run", "--syscalls: %v", err)
	}
	if *failIf != "" {
		if cfg.FailIf, err = regexp.Compile(*failIf); err != nil {
			return usageError(stderr, "run", "--fail-if: %v", err)
		}
	}
	if *rec {
		if *keep == "" {
			return usageError(stderr, "run", "--record needs --keep-failures DIR for the trails")
		}
		r, err := record.New(record.Config{})
		if err != nil {
			fmt.Fprintf(stderr, "heisen run: --record: %v\n", err)
			return exitFail
		}
		defer r.Close()
		cfg.Record = r
	}
	if isTerminal(stderr) {
		cfg.Progress = func(done, total int, so runner.Report) {
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
	rep, err := runner.Run(ctx, cfg)
	if cfg.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if rep == nil {
		fmt.Fprintf(stderr, "heisen run: %v\n", err)
		return exitUsage
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range rep.Results {
			enc.Encode(r)
		}
	} else {
		printRunReport(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "heisen run: %v\n", err)
		return exitFail
	}
	if rep.Interrupted {
		fmt.Fprintln(stderr, "heisen run: interrupted; the table shows the runs completed so far")
		return exitInterrupted
	}
	return exitOK
}

// defaultRunTimeout bounds one run of the command.
const defaultRunTimeout = time.Minute

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
	plural := "s"
	if rep.Compared == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "Verdicts: Fisher's exact test against none, Holm-corrected over %d comparison%s (95%% family-wise confidence).\n", rep.Compared, plural)
}
