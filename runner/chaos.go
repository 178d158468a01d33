package runner

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// chaosShare bounds the time chaos keeps a process stopped, as a share of
// the run's time so far.
const chaosShare = 0.25

// chaos stops a random process of the tree rooted at root with SIGSTOP for
// 1–50 ms at random moments, rr's chaos mode from outside, until done is
// closed. The stopped time never exceeds chaosShare of the elapsed time by
// more than chaos's own scheduling delay (a stop lasts until chaos gets a CPU
// to continue it), and every stopped process is continued before chaos
// returns.
func chaos(done <-chan struct{}, root int, rng *rand.Rand) {
	start := time.Now()
	var stopped time.Duration
	for {
		gap := time.Duration(rng.Int64N(int64(5 * time.Millisecond)))
		select {
		case <-done:
			return
		case <-time.After(gap):
		}
		d := time.Millisecond + time.Duration(rng.Int64N(int64(49*time.Millisecond)))
		budget := time.Duration(chaosShare*float64(time.Since(start)+d)) - stopped
		d = min(d, budget)
		if d < time.Millisecond {
			continue
		}
		tree := processTree(root)
		pid := tree[rng.IntN(len(tree))]
		at := time.Now()
		if unix.Kill(pid, unix.SIGSTOP) != nil {
			continue // gone already
		}
		select {
		case <-done:
		case <-time.After(d):
		}
		unix.Kill(pid, unix.SIGCONT)
		// Count the stop as it really lasted: on a loaded machine the
		// timer fires late, and the budget must see that.
		stopped += time.Since(at)
	}
}

// processTree returns root and all its descendants, found by walking the
// parent pids in /proc/*/stat. root is always in the result.
func processTree(root int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// parentOf reads the ppid from /proc/<pid>/stat: the fourth field, counted
// after the command name, which may itself contain spaces and parentheses.
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	return parseStatPPID(string(b))
}

// parseStatPPID parses the ppid out of the text of /proc/<pid>/stat.
func parseStatPPID(s string) (int, bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}
