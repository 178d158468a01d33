package atomicfile

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRemoveStaleTempsLeavesYoungTempsUnlocked plays a writer between
// creating its named temp and locking it, the instant staleAge covers:
// RemoveStaleTemps must not take the lock then, or the writer's own
// LOCK_NB fails and its replace with it.
func TestRemoveStaleTempsLeavesYoungTempsUnlocked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	var buf [nameMax]byte
	temp := filepath.Join(dir, string(buf[:tempName(&buf, "target")]))
	fd, err := unix.Open(temp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	created := time.Now()

	var stop atomic.Bool
	removerErr := make(chan error, 1)
	go func() {
		var err error
		for !stop.Load() && err == nil {
			var removed []string
			if removed, err = RemoveStaleTemps(path); err == nil && len(removed) > 0 {
				t.Errorf("removed the young temp: %q", removed)
			}
		}
		removerErr <- err
	}()
	// Try the writer's lock over and over while the remover runs; release
	// it at once so that the remover keeps trying too.
	busy := 0
	for start := time.Now(); time.Since(start) < 500*time.Millisecond && busy == 0; {
		switch err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err {
		case nil:
			unix.Flock(fd, unix.LOCK_UN)
		case unix.EWOULDBLOCK:
			busy++
		default:
			t.Fatal(err)
		}
	}
	stop.Store(true)
	if err := <-removerErr; err != nil {
		t.Fatal(err)
	}
	if busy > 0 {
		t.Errorf("RemoveStaleTemps held the lock of a temp created %v ago, younger than %v", time.Since(created), staleAge)
	}
}
