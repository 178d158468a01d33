package trail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// MaxLine is the longest line a Writer writes, newline included: 4096
// bytes, PIPE_BUF on Linux. Every write(2) a Writer makes is at most this
// long and ends at a line boundary, so processes appending to one trail
// file (or one pipe) never interleave inside a line.
const MaxLine = 4096

// ErrTooLong is returned by Write for an event whose line would exceed
// MaxLine (two long paths full of escapes can). Such an event is not cut:
// a loss record with lost:1 and the event's ts, pid, tid and src is
// written in its place, so readers count it as lost instead of analysing a
// truncated path.
var ErrTooLong = errors.New("trail: event line longer than 4096 bytes")

// A Writer appends events to a trail. It is safe for concurrent use by
// goroutines; each event is encoded and written under a lock.
//
// Unbuffered (the default) every event is one write(2) of one line, made
// before Write returns: events survive a crash of the process right after,
// and several processes may share one trail file opened with Open.
//
// Buffered (option Buffered) events collect in a MaxLine buffer written
// with one write(2) when the next event would not fit, on Flush, and on
// Close; a crash loses at most the buffered lines. Use it on hot paths;
// it still never splits a line between writes.
//
// After a write fails (a full disk, a reader that closed the pipe) the
// Writer writes nothing more, so the trail is a prefix of what was given
// to it: every later Write returns the first error, and Unwritten counts
// the events that are not in the trail. A line the failed write left cut
// short at the end of a regular file is truncated away.
type Writer struct {
	mu       sync.Mutex
	w        io.Writer
	c        io.Closer // non-nil when the Writer opened the file
	name     string
	buffered bool
	buf      []byte
	err      error  // first error, returned by Close
	failed   bool   // a write failed: nothing more is written
	unwrit   uint64 // events not in the trail because a write failed

	// WriteStamped stamps events with the pid and keeps the last call id string.
	pid      int
	lastCall uint64
	callID   string
}

// An Option configures a Writer.
type Option func(*Writer)

// Buffered makes the Writer collect events and write them in batches of
// whole lines, at most MaxLine bytes each.
func Buffered() Option { return func(w *Writer) { w.buffered = true } }

// Create creates or truncates the trail file at path and opens it for
// appending.
func Create(path string, opts ...Option) (*Writer, error) {
	return openFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, opts)
}

// Open opens the trail file at path for appending, creating it if needed.
// Several processes may Open the same file and write to it at once.
func Open(path string, opts ...Option) (*Writer, error) {
	return openFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, opts)
}

func openFile(path string, flag int, opts []Option) (*Writer, error) {
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("trail: %w", err) // the *fs.PathError names the operation and path
	}
	w := NewWriter(f, opts...)
	w.c, w.name = f, path
	return w, nil
}

// NewWriter returns a Writer that writes to dst, which it does not close.
// Each line reaches dst in one Write call of at most MaxLine bytes.
func NewWriter(dst io.Writer, opts ...Option) *Writer {
	w := &Writer{w: dst, name: "trail"}
	if f, ok := dst.(interface{ Name() string }); ok {
		w.name = f.Name() // an *os.File: errors name it
	}
	for _, o := range opts {
		o(w)
	}
	w.buf = make([]byte, 0, 2*MaxLine)
	return w
}

// Write appends e to the trail. It returns ErrTooLong, having written a
// loss record instead, when e's line would exceed MaxLine, and the write
// error, wrapped with the file name, when writing fails.
func (w *Writer) Write(e *Event) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked(e)
}

func (w *Writer) writeLocked(e *Event) error {
	if w.failed {
		w.unwrit++
		return w.err
	}
	if !w.buffered {
		w.buf = w.buf[:0]
	}
	start := len(w.buf)
	w.buf = AppendJSON(w.buf, e)
	var tooLong error
	if len(w.buf)-start > MaxLine {
		tooLong = ErrTooLong
		loss := Event{TS: e.TS, PID: e.PID, TID: e.TID, Src: e.Src, Lost: 1, FD: NoFD}
		w.buf = AppendJSON(w.buf[:start], &loss)
	}
	if !w.buffered {
		return errors.Join(tooLong, w.flushLocked(len(w.buf)))
	}
	if len(w.buf) <= MaxLine {
		return tooLong
	}
	// The new line does not fit: write the lines before it, then keep it
	// at the front of the buffer.
	err := w.flushLocked(start)
	return errors.Join(tooLong, err)
}

// flushLocked writes w.buf[:n] and keeps the rest at the front of buf.
// On error nothing more is written: retrying could duplicate a partial
// line, and a trail is a record, not a queue. The lines not written, those
// buffered included, are counted in unwrit.
func (w *Writer) flushLocked(n int) error {
	if w.failed {
		return w.err
	}
	if n == 0 {
		return nil
	}
	m, werr := w.w.Write(w.buf[:n])
	if werr == nil {
		w.buf = w.buf[:copy(w.buf, w.buf[n:])]
		return nil
	}
	var pe *fs.PathError
	if errors.As(werr, &pe) {
		werr = pe.Err // the name is w.name: say it once
	}
	m = max(0, min(m, n))
	whole := bytes.LastIndexByte(w.buf[:m], '\n') + 1
	err := fmt.Errorf("trail: write %s: %w", w.name, werr)
	if cut := m - whole; cut > 0 {
		if terr := w.dropPartial(int64(cut)); terr != nil {
			err = fmt.Errorf("%w; a partial line is left at its end: %v", err, terr)
		}
	}
	w.failed, w.err = true, err
	w.unwrit += uint64(bytes.Count(w.buf[whole:], []byte{'\n'}))
	w.buf = w.buf[:0]
	return err
}

// dropPartial truncates the last cut bytes of the destination, a line that
// a failed write left unfinished, when it is a regular file.
func (w *Writer) dropPartial(cut int64) error {
	f, ok := w.w.(interface {
		Stat() (fs.FileInfo, error)
		Truncate(int64) error
	})
	if !ok {
		return errors.New("not a file")
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() < cut {
		return errors.New("not a regular file")
	}
	return f.Truncate(fi.Size() - cut)
}

// Unwritten is the number of events given to Write or Trace that are not
// in the trail because a write failed. It is final after Close.
func (w *Writer) Unwritten() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.unwrit
}

// Flush writes the buffered events. It is a no-op for unbuffered Writers.
// After a failed write it returns that first error.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked(len(w.buf))
}

// Close flushes the buffered events, closes the file if the Writer opened
// it, and returns the first error any Write or Trace met (Trace cannot
// return its own). Close is safe to call more than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked(len(w.buf))
	if w.c != nil {
		if err := w.c.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("trail: close %s: %w", w.name, err)
		}
		w.c = nil
	}
	return w.err
}
