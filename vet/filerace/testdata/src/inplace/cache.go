package inplace

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The shape of folbricht/routedns's memory cache before #603 ("Write the
// memory cache and blocklist files atomically", cache-memory.go): the
// constructor loads the file named by an options field through a helper
// taking the name, and Close and a ticker save it through another helper
// that creates it in place; a reader (or a crash) during the save sees it
// empty or partial.
type CacheOptions struct {
	Filename     string
	SaveInterval time.Duration
}

type memCache struct {
	items map[string]string
	opt   CacheOptions
}

func NewMemCache(opt CacheOptions) *memCache {
	if opt.SaveInterval == 0 {
		opt.SaveInterval = time.Minute
	}
	c := &memCache{items: map[string]string{}, opt: opt}
	if opt.Filename != "" {
		c.loadFrom(opt.Filename)
	}
	go c.saveEvery()
	return c
}

func (c *memCache) Close() error {
	if c.opt.Filename != "" {
		return c.saveTo(c.opt.Filename)
	}
	return nil
}

func (c *memCache) saveEvery() {
	for {
		time.Sleep(c.opt.SaveInterval)
		c.saveTo(c.opt.Filename)
	}
}

func (c *memCache) saveTo(filename string) error {
	f, err := os.Create(filename) // want `in-place-rewrite: os.Create truncates filename in place, and this package also reads it \(cache.go:\d+\)`
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewEncoder(f).Encode(c.items)
}

func (c *memCache) loadFrom(filename string) error {
	f, err := os.Open(filename)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewDecoder(f).Decode(&c.items)
}

// The same through an O_TRUNC open, the name passed on by one more call.
type journal struct{ path string }

func openJournal(path string) (*journal, error) {
	j := &journal{path: path}
	_, err := readJournal(j.path)
	return j, err
}

func readJournal(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (j *journal) rewrite(lines []string) error { return writeLines(j.path, lines) }

func writeLines(name string, lines []string) error {
	return writeLinesTo(name, lines)
}

func writeLinesTo(name string, lines []string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644) // want `in-place-rewrite: os.OpenFile truncates name in place`
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.WriteString(l + "\n")
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Near misses, quiet.

// The helpers are called with two different fields: the package reads one
// file and rewrites another.
type exporter struct {
	in, out string
}

func (e *exporter) run() error {
	b, err := readJournal(e.in)
	if err != nil {
		return err
	}
	return e.emit(e.out, b)
}

func (e *exporter) emit(name string, b []byte) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	f.Write(b)
	return f.Close()
}

// Appending, not truncating: what was there stays readable.
type appendLog struct{ path string }

func (l *appendLog) replay() ([]byte, error) { return readJournal(l.path) }

func (l *appendLog) add(line string) error { return appendTo(l.path, line) }

func appendTo(name, line string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	f.WriteString(line)
	return f.Close()
}

// Replaced through a synced temp file and a rename, as routedns does since
// #603: readers see the old file or the new one.
type snapshot struct{ path string }

func (s *snapshot) load() ([]byte, error) { return readJournal(s.path) }

func (s *snapshot) save(b []byte) error { return replace(s.path, b) }

func replace(name string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".snap-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// A field set in two places holds two files (like cmd/go's Action.Target):
// a read and a create through it need not be of the same file.
type unit struct{ target string }

func units(dir string) []*unit {
	return []*unit{{target: dir + "/a"}, {target: dir + "/b"}}
}

func (u *unit) cached() ([]byte, error) { return readJournal(u.target) }

func (u *unit) build(b []byte) error { return (&exporter{}).emit(u.target, b) }

// A file of the run's own, in a directory made by os.MkdirTemp, written
// and then read back (heisen's runner keeps each run's output so): nobody
// else knows its name, so nobody reads it while it is rewritten.
type runOutput struct{ stdout string }

type scratchRunner struct{ work string }

func newScratchRunner() (*scratchRunner, error) {
	work, err := os.MkdirTemp("", "run-")
	return &scratchRunner{work: work}, err
}

func (r *scratchRunner) once(seq int) (runOutput, error) {
	o := runOutput{stdout: filepath.Join(r.work, time.Now().Format("150405")+".out")}
	f, err := os.Create(o.stdout)
	if err != nil {
		return o, err
	}
	return o, f.Close()
}

func (r *scratchRunner) matches(o runOutput) bool {
	b, err := readJournal(o.stdout)
	return err == nil && len(b) > 0
}
