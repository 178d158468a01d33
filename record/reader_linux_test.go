//go:build linux && (amd64 || arm64)

package record

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/heisen-dev/heisen/internal/testcap"
	"github.com/heisen-dev/heisen/trail"
)

// niceOf returns the calling thread's nice value.
func niceOf(t *testing.T) int {
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	return 20 - prio
}

// The reader runs at yieldNice while the ring is under a quarter full and
// at its starting priority above that, both ways, as often as it changes.
func TestYielderFollowsTheRing(t *testing.T) {
	testcap.Root(t, "lower a nice value again (CAP_SYS_NICE)")
	done := make(chan struct{})
	go func() { // on a thread of its own, which ends with it
		defer close(done)
		runtime.LockOSThread()
		base := niceOf(t)
		y := newYielder()
		if !y.ok {
			t.Error("root could not lower its nice value back")
			return
		}
		for _, step := range []struct{ unread, want int }{
			{0, yieldNice}, {255, yieldNice}, {256, base}, {1024, base}, {10, yieldNice}, {1024, base},
		} {
			y.adjust(step.unread, 1024)
			if got := niceOf(t); got != step.want {
				t.Errorf("%d of 1024 bytes unread: nice %d, want %d", step.unread, got, step.want)
			}
		}
	}()
	<-done
}

// niceThreads lists this process's threads at nice n.
func niceThreads(t *testing.T, n int) []string {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var at []string
	for _, d := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", d.Name(), "stat"))
		if err != nil {
			continue // the thread ended
		}
		// Field 19 is nice; the fields after the command's ")" start at 3.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 16 && f[16] == fmt.Sprint(n) {
			at = append(at, d.Name())
		}
	}
	return at
}

// While Run waits on an empty ring, the caller's own thread is at
// yieldNice; when Run returns, that thread is back at its own priority. Run
// must not read on a thread of its own that ends with it: a thread's end
// kills the children it started with a parent-death signal.
func TestRunYieldsOnTheCallersThread(t *testing.T) {
	if len(niceThreads(t, yieldNice)) > 0 {
		testcap.Missing(t, "a test process below nice 19 (it runs under nice -n 19)", nil)
	}
	r, err := New(Config{})
	skipWithoutEBPF(t, err)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	type ran struct{ tid, before, after int }
	result := make(chan ran, 1)
	errs := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		x := ran{tid: unix.Gettid(), before: niceOf(t)}
		errs <- r.Run(ctx, trail.NewWriter(&bytes.Buffer{}))
		x.after = niceOf(t)
		result <- x
	}()
	var at []string
	poll(t, "a thread at nice 19 while recording", func() bool {
		at = niceThreads(t, yieldNice)
		return len(at) == 1
	})
	cancel()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	x := <-result
	if at[0] != fmt.Sprint(x.tid) {
		t.Errorf("thread %s yielded, want the caller's thread %d", at[0], x.tid)
	}
	if x.after != x.before {
		t.Errorf("the caller's thread is at nice %d after Run, want %d as before", x.after, x.before)
	}
}

// poll waits up to 10 s for ok.
func poll(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// A batch ends at the first event stamped at or after its start, even
// while the program keeps writing: the one shell thread's events are in
// the ring in the order of their stamps, so the batch holds exactly those
// before its start and one after.
func TestBatchEndsWhileTheProgramWrites(t *testing.T) {
	dir := realTemp(t)
	cmd := exec.Command("sh", "-c", `while :; do echo x >> f; done`)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	r, err := New(Config{PIDs: []int{cmd.Process.Pid}, Paths: []string{dir}})
	skipWithoutEBPF(t, err)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The batch starts reading at the deadline (the ring never wakes
	// its reader), 50 ms after the batch's end.
	until := time.Now().Add(50 * time.Millisecond)
	r.rd.SetDeadline(until.Add(50 * time.Millisecond))
	read := make(chan error, 1)
	go func() { read <- r.readBatch(&ringbuf.Record{}, &yielder{}, until.UnixNano()) }()
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		r.Close() // ends the read
		t.Fatal("the batch was still reading after a minute")
	}
	after := 0
	for _, e := range r.held {
		if !e.TS.Before(until) {
			after++
		}
	}
	if len(r.held) < 2 || after != 1 || r.held[len(r.held)-1].TS.Before(until) {
		t.Errorf("the batch holds %d events, %d of them stamped after its end; want some before and the last after", len(r.held), after)
	}
}
