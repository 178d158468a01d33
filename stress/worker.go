package stress

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/heisen-dev/heisen/trail"
)

// WorkerEnv is the environment variable a test binary checks in TestMain
// to become a worker: when it is "1", TestMain should call
// os.Exit(WorkerMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)).
const WorkerEnv = "HEISEN_STRESS_WORKER"

// barrierFD is the descriptor on which every writer and reader waits
// before its first operation: the read end of a pipe whose write end the
// parent closes once all of them are running, so they start within
// microseconds of each other instead of one fork apart.
const barrierFD = 3

// spec is what the parent tells one writer or reader, as one JSON argument.
type spec struct {
	Role     string `json:"role"` // "writer" or "reader"
	ID       int    `json:"id"`   // writers count from 1
	Strategy string `json:"strategy,omitempty"`
	Target   string `json:"target"`
	Writes   int    `json:"writes,omitempty"` // 0: until stdin closes
	Size     int    `json:"size,omitempty"`
	Chunk    int    `json:"chunk,omitempty"`
	Think    string `json:"think,omitempty"`
	Trail    string `json:"trail,omitempty"`
}

// message is one line a writer or reader prints on stdout for the parent.
type message struct {
	T        string   `json:"t"` // "hello", "progress", "corrupt", "done"
	PID      int      `json:"pid,omitempty"`
	N        int      `json:"n,omitempty"`      // writes or reads so far
	Failed   int      `json:"failed,omitempty"` // replaces that failed, see Result.Failed
	Collided int      `json:"collided,omitempty"`
	Seen     int      `json:"seen,omitempty"` // distinct versions a reader saw
	FirstErr string   `json:"first_err,omitempty"`
	Version  string   `json:"version,omitempty"` // content id of a corrupt version
	Claims   string   `json:"claims,omitempty"`  // the write its header names, "w3#42"
	Kind     string   `json:"kind,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Explain  string   `json:"explain,omitempty"`
	Sources  []string `json:"sources,omitempty"`
	Size     int      `json:"size,omitempty"`
	At       int64    `json:"at,omitempty"`   // unix nanoseconds
	File     string   `json:"file,omitempty"` // where the corrupt bytes were saved
}

// progressEvery is how many writes a writer makes between two progress
// messages: often enough for a live line, rare enough to cost nothing.
const progressEvery = 32

// WorkerMain runs one worker, a writer or reader process, as the parent's Run
// described it in args, and returns its exit code. Both entry points call
// it: the heisen binary's hidden "stress-worker" command and, in tests, a
// test binary re-executed with WorkerEnv set. stdin is how the parent
// stops a reader (by closing it); stdout carries messages to the parent.
func WorkerMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "stress worker: want one JSON argument; this is an internal command started by heisen stress")
		return 2
	}
	var s spec
	if err := json.Unmarshal([]byte(args[0]), &s); err != nil {
		fmt.Fprintf(stderr, "stress worker: bad spec: %v\n", err)
		return 2
	}
	out := &messenger{w: bufio.NewWriter(stdout)}
	out.send(message{T: "hello", PID: os.Getpid()})
	waitBarrier()
	var err error
	switch s.Role {
	case "writer":
		err = writer(s, stdin, out)
	case "reader":
		err = reader(s, stdin, out)
	default:
		err = fmt.Errorf("unknown role %q", s.Role)
	}
	if err != nil {
		fmt.Fprintf(stderr, "stress %s %d: %v\n", s.Role, s.ID, err)
		return 1
	}
	return 0
}

// waitBarrier blocks until the parent closes the barrier pipe. A worker
// started by hand, without the pipe, does not wait: the read fails at once
// on a closed descriptor.
func waitBarrier() {
	f := os.NewFile(barrierFD, "barrier")
	var b [1]byte
	f.Read(b[:]) // returns at EOF, when the parent closes its end
	f.Close()
}

// messenger writes messages as JSON lines, flushing each so the parent
// sees progress as it happens.
type messenger struct{ w *bufio.Writer }

func (m *messenger) send(msg message) {
	b, _ := json.Marshal(msg)
	m.w.Write(append(b, '\n'))
	m.w.Flush()
}

func writer(s spec, stdin io.Reader, out *messenger) error {
	think, err := ParseThink(s.Think)
	if err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
	replace, err := replacerFor(s.Strategy, rnd)
	if err != nil {
		return err
	}
	ops := &fileOps{pid: os.Getpid()}
	if s.Trail != "" {
		if ops.tr, err = trail.Open(s.Trail); err != nil {
			return err
		}
		defer ops.tr.Close()
	}
	c := checker{out: out, dir: filepath.Dir(s.Target), seen: map[string]bool{}}
	var failed, collided int
	var firstErr string
	n := 0
	var stop *atomic.Bool
	if s.Writes == 0 {
		stop = stopOnEOF(stdin)
	}
	last := s.Writes
	if last == 0 {
		last = MaxWrites // until stdin closes, as far as headers can count
	}
	var data []byte // every version in one buffer: replace is done with it when it returns
	for seq := 1; seq <= last; seq++ {
		if stop != nil && stop.Load() {
			break
		}
		data = contentInto(data, s.ID, seq, s.Size)
		if err := replace(ops, s.Target, data, s.Chunk); err != nil {
			if lostToCollision(s.Strategy, err) {
				collided++
			} else {
				failed++
				if firstErr == "" {
					firstErr = err.Error()
				}
			}
		}
		n++
		// Check right after our own rename: a version spliced by a
		// colliding writer is often replaced before any reader sees it.
		if b, err := os.ReadFile(s.Target); err == nil && !bytes.Equal(b, data) {
			c.check(b)
		}
		if n%progressEvery == 0 {
			out.send(message{T: "progress", N: n, Failed: failed, Collided: collided})
		}
		if d := think.Sample(rnd); d > 0 {
			time.Sleep(d)
		}
	}
	out.send(message{T: "done", N: n, Failed: failed, Collided: collided, FirstErr: firstErr})
	return nil
}

// reader reads the target until stdin closes, checking every distinct
// version it sees.
func reader(s spec, stdin io.Reader, out *messenger) error {
	stop := stopOnEOF(stdin)
	c := checker{out: out, dir: filepath.Dir(s.Target), seen: map[string]bool{}}
	var last []byte
	reads, seen := 0, 0
	for !stop.Load() {
		b, err := os.ReadFile(s.Target)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // between an unlink and a create: no version to check
			}
			return err
		}
		reads++
		if bytes.Equal(b, last) {
			continue
		}
		seen++
		last = b
		c.check(b)
		if seen%progressEvery == 0 {
			out.send(message{T: "progress", N: reads, Seen: seen})
		}
	}
	out.send(message{T: "done", N: reads, Seen: seen})
	return nil
}

// stopOnEOF returns a flag that becomes true when the parent closes r.
func stopOnEOF(r io.Reader) *atomic.Bool {
	var stop atomic.Bool
	go func() {
		io.Copy(io.Discard, r)
		stop.Store(true)
	}()
	return &stop
}

// checker validates versions and reports each corrupt one once.
type checker struct {
	out  *messenger
	dir  string
	seen map[string]bool // ids of corrupt versions already reported
}

func (c *checker) check(b []byte) {
	v := Validate(b)
	if v.Kind == Valid {
		return
	}
	id := versionID(b)
	if c.seen[id] {
		return
	}
	c.seen[id] = true
	c.out.send(message{
		T: "corrupt", Version: id, Claims: v.claims(), Kind: v.Kind.String(), Reason: v.Reason,
		Explain: v.Explain(), Sources: v.Sources(), Size: len(b), At: time.Now().UnixNano(),
		File: c.save(id, b),
	})
}

// versionID names a version by its content, so that processes that see the
// same bytes report the same version.
func versionID(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// save keeps a corrupt version beside the target as "corrupt-<id>" for
// inspection after --keep, and returns its path ("" when it could not).
// Processes saving the same version write the same bytes.
func (c *checker) save(id string, b []byte) string {
	p := filepath.Join(c.dir, "corrupt-"+id)
	if os.WriteFile(p, b, 0o644) != nil {
		return ""
	}
	return p
}
