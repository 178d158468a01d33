package stress

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/internal/testcap"
	"golang.org/x/sys/unix"
)

func config(t *testing.T, strategy string, workers, writes, readers int) Config {
	return Config{
		Strategy: strategy, Observer: "none", Dir: t.TempDir(),
		Writers: workers, Writes: writes, Size: 4096, Chunk: 1024, Readers: readers,
		Self: testSelf(t),
	}
}

// runUntilCorrupt runs cfg up to tries times and returns the first result
// with corruption. The races are real, so a single run can come out clean;
// with the barrier and these budgets each run catches them almost always,
// and the retries make a miss of all of them vanishingly unlikely.
func runUntilCorrupt(t *testing.T, cfg Config, tries int) *Result {
	t.Helper()
	for i := range tries {
		cfg.Dir = t.TempDir()
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Corrupt) > 0 {
			return res
		}
		t.Logf("try %d: %d writes, no corruption", i+1, res.Writes)
	}
	t.Fatalf("%s: no corruption in %d runs of %d×%d writes", cfg.Strategy, tries, cfg.Writers, cfg.Writes)
	return nil
}

func TestTimestampCorrupts(t *testing.T) {
	res := runUntilCorrupt(t, config(t, "timestamp", 4, 400, 1), 4)
	if res.Writes != 1600 {
		t.Errorf("writes = %d, want 1600", res.Writes)
	}
	// A rename that finds the shared temp already renamed is the race,
	// not a failure of the system.
	if res.Failed != 0 {
		t.Errorf("%d writes failed (first: %s); collisions are not failures", res.Failed, res.FirstErr)
	}
	for _, c := range res.Corrupt {
		if c.Kind == Valid || c.Reason == "" || c.SeenBy == "" || c.Version == "" {
			t.Errorf("corruption not described: %+v", c)
		}
	}
	t.Logf("%d corrupt versions in %d writes (%d renames lost to a collision); first: %s %s", len(res.Corrupt), res.Writes, res.Collided, res.Corrupt[0].Kind, res.Corrupt[0].Explain)
}

func TestInplaceCorrupts(t *testing.T) {
	res := runUntilCorrupt(t, config(t, "inplace", 2, 400, 1), 4)
	t.Logf("%d corrupt versions in %d writes", len(res.Corrupt), res.Writes)
}

// The story's fix and the library must survive what breaks the others:
// at least 5,000 replaces with readers checking every version they see.
func TestSafeStrategiesStayClean(t *testing.T) {
	for _, s := range []string{"uuid", "atomicfile"} {
		t.Run(s, func(t *testing.T) {
			res, err := Run(context.Background(), config(t, s, 4, 1250, 2))
			if err != nil {
				t.Fatal(err)
			}
			if res.Writes != 5000 || res.Failed != 0 {
				t.Fatalf("writes = %d (failed %d: %s), want 5000 without failures", res.Writes, res.Failed, res.FirstErr)
			}
			for _, c := range res.Corrupt {
				t.Errorf("corrupt version %s seen by %s: %s %s: %s", c.Version, c.SeenBy, c.Kind, c.Reason, c.Explain)
			}
			// The readers must have been reading, or "clean" means nothing.
			if res.Versions < 100 {
				t.Fatalf("readers saw only %d distinct versions in %d reads", res.Versions, res.Reads)
			}
			t.Logf("%d writes, %d reads, %d distinct versions seen, %v", res.Writes, res.Reads, res.Versions, res.Elapsed)
		})
	}
}

// On a full file system replaces fail: each is counted with the first
// error, and none leaves its temp file behind.
func TestFullDiskCountsFailedWrites(t *testing.T) {
	for _, s := range []string{"timestamp", "uuid", "atomicfile"} {
		t.Run(s, func(t *testing.T) {
			cfg := config(t, s, 4, 10, 1)
			// Room for the target, not for a temp beside it: every
			// replace fails, however the writers interleave.
			cfg.Dir, cfg.Size = mountTmpfs(t, "size=256k"), 150000
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Writes != 40 || res.Failed == 0 || !strings.Contains(res.FirstErr, "no space left on device") {
				t.Fatalf("%d of %d writes failed, the first error %q; want failures with ENOSPC", res.Failed, res.Writes, res.FirstErr)
			}
			// A unique temp never fits beside the target. A shared
			// clock-named temp is the race itself: one writer's rename or
			// removal frees the space another's write then uses, or
			// leaves it no temp to rename (collided), so only its
			// failures are guaranteed.
			if s != "timestamp" && (res.Failed != 40 || res.Collided != 0) {
				t.Errorf("%d failed and %d collided of 40 writes of unique temps; want 40 failed", res.Failed, res.Collided)
			}
			temps, _ := filepath.Glob(filepath.Join(cfg.Dir, "*.tmp"))
			if len(temps) > 0 {
				t.Errorf("failed writes left %d temp files: %v", len(temps), temps)
			}
		})
	}
}

// A worker that fails is named once, with its own message.
func TestWorkerFailureSaysWhoOnce(t *testing.T) {
	cfg := config(t, "uuid", 1, 10, 0)
	cfg.Trail = filepath.Join(cfg.Dir, "missing", "trail.jsonl")
	_, err := Run(context.Background(), cfg)
	if err == nil || strings.Count(err.Error(), "writer 1") != 1 || !strings.Contains(err.Error(), cfg.Trail) {
		t.Fatalf("got %v, want an error naming writer 1 once and the trail", err)
	}
	t.Log(err)
}

// mountTmpfs mounts a tmpfs with opts on a fresh directory, unmounted when
// the test ends.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		testcap.Missing(t, "root (CAP_SYS_ADMIN) to mount a tmpfs", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func TestDuration(t *testing.T) {
	cfg := config(t, "uuid", 2, 0, 1)
	cfg.Duration = 300 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes == 0 || res.Elapsed < cfg.Duration || res.Elapsed > 10*time.Second {
		t.Fatalf("a 300ms run made %d writes in %v", res.Writes, res.Elapsed)
	}
}

// Cancelling a run kills every worker and still returns the counts so far.
func TestInterrupt(t *testing.T) {
	cfg := config(t, "uuid", 2, 0, 1)
	cfg.Duration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Progress = func(p Progress) {
		if p.Writes > 0 {
			cancel()
		}
	}
	done := make(chan struct{})
	var res *Result
	var err error
	go func() {
		res, err = Run(ctx, cfg)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Writes == 0 || res.Elapsed <= 0 {
		t.Fatalf("interrupted = %v, writes = %d, elapsed = %v", res.Interrupted, res.Writes, res.Elapsed)
	}
	assertGone(t, res)
}

// A run cancelled before any write ends as one cancelled later does: no
// error, Interrupted, and no process left.
func TestInterruptBeforeRelease(t *testing.T) {
	cfg := config(t, "uuid", 2, 10, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted {
		t.Fatalf("a run with a cancelled context returned Interrupted = false: %+v", res)
	}
	assertGone(t, res)
}

// assertGone fails unless every writer process of res has been reaped.
func assertGone(t *testing.T, res *Result) {
	t.Helper()
	for id, pid := range res.PIDs {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("writer %d (pid %d) still exists after Run returned: %v", id, pid, err)
		}
	}
}

// With a trail, every writer logs the open of its temp and the rename, with
// its pid: the story's log line.
func TestTrail(t *testing.T) {
	cfg := config(t, "timestamp", 2, 20, 0)
	cfg.Trail = filepath.Join(cfg.Dir, "trail.jsonl")
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(cfg.Trail)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pids := map[int]bool{}
	for _, pid := range res.PIDs {
		pids[pid] = true
	}
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct {
			PID  int    `json:"pid"`
			Op   string `json:"op"`
			Path string `json:"path"`
			Src  string `json:"src"`
			TS   string `json:"ts"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("trail line %q: %v", sc.Text(), err)
		}
		if e.Src != "stress" || !pids[e.PID] || e.TS == "" || !filepath.IsAbs(e.Path) {
			t.Fatalf("trail line %q: want src stress, a writer's pid, a time and an absolute path", sc.Text())
		}
		counts[e.Op]++
	}
	if counts["open"] != 40 || counts["rename"] != 40 || counts["close"] != 40 {
		t.Fatalf("trail has %v, want 40 opens, closes and renames", counts)
	}
}

// The strace observer wraps each writer in strace -f; the writers still
// run and report.
func TestStraceWrap(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		testcap.Missing(t, "strace (the Debian package strace, which .ci/run installs)", err)
	}
	cfg := config(t, "uuid", 2, 50, 1)
	cfg.Wrap = []string{"strace", "-f", "-o", "/dev/null"}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 100 || len(res.Corrupt) != 0 {
		t.Fatalf("writes = %d, corrupt = %d", res.Writes, len(res.Corrupt))
	}
}

// An attached observer gets every writer's pid before the first write and
// is stopped after the last; the writers leave the trail to it.
func TestAttach(t *testing.T) {
	cfg := config(t, "uuid", 3, 20, 0)
	cfg.Trail = filepath.Join(cfg.Dir, "observer.jsonl")
	var got []int
	stopped := false
	cfg.Attach = func(_ context.Context, pids []int, trail string) (func() error, error) {
		got = pids
		if trail != cfg.Trail {
			t.Errorf("Attach got trail %q, want %q", trail, cfg.Trail)
		}
		if b, err := os.ReadFile(filepath.Join(cfg.Dir, "target")); err != nil || Validate(b).Header.Writer != 0 {
			t.Errorf("Attach ran after a writer had written")
		}
		return func() error { stopped = true; return nil }, nil
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !stopped {
		t.Fatalf("Attach saw pids %v, stopped %v", got, stopped)
	}
	for _, pid := range res.PIDs {
		if !slices.Contains(got, pid) {
			t.Errorf("writer pid %d not handed to Attach (got %v)", pid, got)
		}
	}
	if _, err := os.Stat(cfg.Trail); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("writers wrote the observer's trail themselves: %v", err)
	}
}

func TestRunRejectsWhatHeadersCannotHold(t *testing.T) {
	for _, mod := range []func(*Config){
		func(c *Config) { c.Writers = MaxWriters + 1 },
		func(c *Config) { c.Writes = MaxWrites + 1 },
		func(c *Config) { c.Size = MaxSize + 1 },
	} {
		cfg := config(t, "uuid", 2, 10, 0)
		mod(&cfg)
		if res, err := Run(context.Background(), cfg); err == nil || res != nil {
			t.Errorf("Run(%d workers, %d writes, %d bytes) = %v, %v; want an error", cfg.Writers, cfg.Writes, cfg.Size, res, err)
		}
		if entries, _ := os.ReadDir(cfg.Dir); len(entries) > 0 {
			t.Errorf("Run(%d workers, %d writes, %d bytes) wrote %d files", cfg.Writers, cfg.Writes, cfg.Size, len(entries))
		}
	}
}
