package crash

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Kind names an operation in the log; the names are those of the JSON
// field "op" and of the report.
type Kind string

// The operations the log records. Data operations change a file's bytes,
// entry operations a directory's names, attribute operations a file's mode
// or owner; the rest are durability points.
const (
	Write     Kind = "write"     // Node, Off, Data
	Truncate  Kind = "truncate"  // Node, Len (the new size)
	Fallocate Kind = "fallocate" // Node, Off, Len, Flags (FALLOC_FL_*)
	Create    Kind = "create"    // Dir, Name, Node (a new regular file), Mode
	Mkdir     Kind = "mkdir"     // Dir, Name, Node, Mode
	Mkfifo    Kind = "mkfifo"    // Dir, Name, Node, Mode
	Symlink   Kind = "symlink"   // Dir, Name, Node, Target
	Link      Kind = "link"      // Dir, Name, Node (an existing file); Path2 is its other name
	Unlink    Kind = "unlink"    // Dir, Name, Node (the file the name was for)
	Rmdir     Kind = "rmdir"     // Dir, Name, Node
	Rename    Kind = "rename"    // Dir, Name -> Dir2, Name2; Node moved, Node2 replaced or exchanged; Flags (RENAME_*)
	Chmod     Kind = "chmod"     // Node, Mode
	Chown     Kind = "chown"     // Node, UID, GID
	Fsync     Kind = "fsync"     // Node: a file's data and metadata, or a directory's entries
	Fdatasync Kind = "fdatasync" // Node: a file's data and the size it needs
	Sync      Kind = "sync"      // sync(2) or syncfs(2): everything before it
)

// Rename flags the log and the models know.
const (
	RenameNoReplace = 1 // RENAME_NOREPLACE
	RenameExchange  = 2 // RENAME_EXCHANGE
)

// Fallocate modes the log and the models know.
const (
	FallocKeepSize  = 0x01 // FALLOC_FL_KEEP_SIZE
	FallocPunchHole = 0x02 // FALLOC_FL_PUNCH_HOLE
	FallocZeroRange = 0x10 // FALLOC_FL_ZERO_RANGE
)

// A NodeID names a file, directory or symlink in the log. It is given once,
// when the log first sees the node, and never reused, so a file that
// replaces a deleted one is a different node even when the backing file
// system reuses the inode number.
type NodeID uint64

// Root is the NodeID of the directory the workload sees as $HEISEN_CRASH_DIR.
const Root NodeID = 1

// Op is one record of the log: an operation, a stdout line of the
// workload, or the end of the run.
type Op struct {
	Op     Kind   `json:"op"`
	Node   NodeID `json:"node,omitempty"`
	Dir    NodeID `json:"dir,omitempty"`
	Name   string `json:"name,omitempty"`
	Dir2   NodeID `json:"dir2,omitempty"`
	Name2  string `json:"name2,omitempty"`
	Node2  NodeID `json:"node2,omitempty"`
	Off    int64  `json:"off,omitempty"`
	Len    int64  `json:"len,omitempty"`
	Flags  uint32 `json:"flags,omitempty"`
	Mode   uint32 `json:"mode,omitempty"`
	UID    int    `json:"uid,omitempty"`
	GID    int    `json:"gid,omitempty"`
	Target string `json:"target,omitempty"`
	// Data is a write's bytes. The Writer keeps them in the log's data file
	// (DataPath) and records where: DataAt and DataLen. Data inline in the
	// JSON is read too.
	Data    []byte `json:"data,omitempty"`
	DataAt  int64  `json:"data_at,omitempty"`
	DataLen int    `json:"data_len,omitempty"`
	// Path is the node's path under the root when the operation ran, for
	// the report only; the models go by node.
	Path  string `json:"path,omitempty"`
	Path2 string `json:"path2,omitempty"`
}

// Line is one line the workload printed on stdout, and how many of the
// workload's operations had been logged when it was printed.
type Line struct {
	Text  string `json:"text"`
	After int    `json:"after"`
}

// End is how the run ended.
type End struct {
	// Status is the workload's exit status (128+N when killed by signal N),
	// -1 when it did not start.
	Status int `json:"status"`
	// Interrupted says the run was stopped by heisen (SIGINT or SIGTERM)
	// before the workload finished.
	Interrupted bool   `json:"interrupted,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Header is the first line of a log.
type Header struct {
	Format  string   `json:"format"` // FormatName
	Dir     string   `json:"dir"`    // where the workload saw the file system
	Command []string `json:"command"`
}

// FormatName is the value of a log header's "format" field.
const FormatName = "heisen-crash-log/1"

// record is one line of the log file: exactly one field is set.
type record struct {
	Header *Header `json:"header,omitempty"`
	Init   *Op     `json:"init,omitempty"` // the directory's contents before the workload ran
	Op     *Op     `json:"do,omitempty"`
	Line   *Line   `json:"stdout,omitempty"`
	End    *End    `json:"end,omitempty"`
}

// Log is a whole operation log, read back.
type Log struct {
	Header Header
	// Init builds the directory's contents as the workload found them; all
	// of it is durable before the first crash point.
	Init []Op
	// Ops are the workload's operations in the order they took effect.
	// Crash point k is the moment after Ops[:k].
	Ops   []Op
	Lines []Line
	// End is nil when the log stops short (heisen itself was killed).
	End *End
}

// A Writer appends records to a log file, and the bytes of writes to its
// data file. It is safe for concurrent use.
type Writer struct {
	mu     sync.Mutex
	f      *os.File
	bw     *bufio.Writer
	enc    *json.Encoder
	data   *os.File
	dbw    *bufio.Writer
	dataAt int64
	ops    int
	err    error
	done   bool
}

// DataPath is where the bytes of a log's writes are: raw, one after the
// other, so that logging a write costs a copy rather than an encoding.
func DataPath(log string) string { return log + ".data" }

// CreateLog creates the log file at path and its data file; it fails if
// either exists, so no earlier log is overwritten.
func CreateLog(path string, h Header) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("crash log: create %s: %w", path, err)
	}
	data, err := os.OpenFile(DataPath(path), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("crash log: create %s: %w", DataPath(path), err)
	}
	w := &Writer{f: f, data: data, dbw: bufio.NewWriterSize(data, 1<<20)}
	w.bw = bufio.NewWriterSize(dataFirst{w.dbw, f}, 1<<16)
	w.enc = json.NewEncoder(w.bw)
	h.Format = FormatName
	w.put(record{Header: &h})
	return w, w.err
}

// dataFirst flushes the data file's buffer before anything reaches the log
// file, so that a record on disk never points past the data on disk, even
// when heisen is killed.
type dataFirst struct {
	data *bufio.Writer
	log  io.Writer
}

func (d dataFirst) Write(p []byte) (int, error) {
	if err := d.data.Flush(); err != nil {
		return 0, err
	}
	return d.log.Write(p)
}

func (w *Writer) put(r record) {
	if w.err != nil {
		return
	}
	for _, op := range []*Op{r.Init, r.Op} {
		if op != nil && len(op.Data) > 0 {
			if _, err := w.dbw.Write(op.Data); err != nil {
				w.err = fmt.Errorf("crash log: write %s: %w", w.data.Name(), err)
				return
			}
			op.DataAt, op.DataLen, op.Data = w.dataAt, len(op.Data), nil
			w.dataAt += int64(op.DataLen)
		}
	}
	if err := w.enc.Encode(r); err != nil {
		w.err = fmt.Errorf("crash log: write %s: %w", w.f.Name(), err)
	}
}

// Init appends one operation of the directory's initial contents.
func (w *Writer) Init(op Op) {
	w.mu.Lock()
	w.put(record{Init: &op})
	w.mu.Unlock()
}

// Lock holds the log so that an operation and its record happen as one
// step: a file system calls Lock, does the operation, then Append and
// Unlock. Records then come in the order the operations took effect.
func (w *Writer) Lock()   { w.mu.Lock() }
func (w *Writer) Unlock() { w.mu.Unlock() }

// Append appends a workload operation; the caller holds Lock.
func (w *Writer) Append(op Op) {
	w.put(record{Op: &op})
	w.ops++
}

// Flush writes what is buffered to the files (the data first); the caller
// holds Lock. Flushing now and then bounds what a killed heisen loses.
func (w *Writer) Flush() {
	if err := w.bw.Flush(); err != nil && w.err == nil {
		w.err = fmt.Errorf("crash log: write %s: %w", w.f.Name(), err)
	}
}

// Ops is the number of workload operations appended; the caller holds Lock.
func (w *Writer) Ops() int { return w.ops }

// AppendLine appends a stdout line at the current position; the caller
// holds Lock.
func (w *Writer) AppendLine(text string) {
	w.put(record{Line: &Line{Text: text, After: w.ops}})
}

// Close appends the end record, flushes and closes the file.
func (w *Writer) Close(end End) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return w.err
	}
	w.done = true
	w.put(record{End: &end})
	// The data first: a record never points past the data file's end.
	for _, f := range []struct {
		bw *bufio.Writer
		f  *os.File
	}{{w.dbw, w.data}, {w.bw, w.f}} {
		if err := f.bw.Flush(); err != nil && w.err == nil {
			w.err = fmt.Errorf("crash log: write %s: %w", f.f.Name(), err)
		}
		if err := f.f.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("crash log: close %s: %w", f.f.Name(), err)
		}
	}
	return w.err
}

// ReadLog reads the log file at path and its data file.
func ReadLog(path string) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("crash log: %w", err)
	}
	defer f.Close()
	data, err := os.ReadFile(DataPath(path))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("crash log: %w", err)
	}
	l, err := DecodeLog(f, data)
	if err != nil {
		return nil, fmt.Errorf("crash log: read %s: %w", path, err)
	}
	return l, nil
}

// ErrNotLog is returned for input that does not start with a log header.
var ErrNotLog = errors.New("not a heisen crash log (no header line)")

// DecodeLog reads a log whose data file holds data, and checks that every
// record is one the models can use: known operations on nodes that exist,
// with their bytes in the data file.
func DecodeLog(r io.Reader, data []byte) (*Log, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<30)
	l := &Log{}
	v := newValidator()
	for n := 1; sc.Scan(); n++ {
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil && n == 1 {
			return nil, ErrNotLog
		} else if err != nil && !sc.Scan() && l.End == nil {
			break // a last line cut short: the log of a run that was killed
		} else if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if n == 1 {
			if rec.Header == nil || rec.Header.Format != FormatName {
				return nil, ErrNotLog
			}
			l.Header = *rec.Header
			continue
		}
		if l.End != nil {
			return nil, fmt.Errorf("line %d: record after the end record", n)
		}
		var err error
		switch {
		case rec.Init != nil && len(l.Ops) == 0 && len(l.Lines) == 0:
			err = errors.Join(attach(rec.Init, data), v.check(rec.Init))
			l.Init = append(l.Init, *rec.Init)
		case rec.Op != nil:
			err = errors.Join(attach(rec.Op, data), v.check(rec.Op))
			l.Ops = append(l.Ops, *rec.Op)
		case rec.Line != nil:
			if rec.Line.After != len(l.Ops) {
				err = fmt.Errorf("stdout line after %d operations, but %d were logged", rec.Line.After, len(l.Ops))
			}
			l.Lines = append(l.Lines, *rec.Line)
		case rec.End != nil:
			l.End = rec.End
		default:
			err = errors.New("record of no known kind, or initial contents after the workload's operations")
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if l.Header.Format == "" {
		return nil, ErrNotLog
	}
	return l, nil
}

// attach gives op its bytes from the data file.
func attach(op *Op, data []byte) error {
	if op.DataLen == 0 && op.DataAt == 0 {
		return nil
	}
	end := op.DataAt + int64(op.DataLen)
	if op.DataAt < 0 || op.DataLen < 0 || len(op.Data) > 0 || end > int64(len(data)) {
		return fmt.Errorf("data %d+%d outside the data file's %d bytes", op.DataAt, op.DataLen, len(data))
	}
	op.Data = data[op.DataAt:end:end]
	return nil
}

// String describes the operation for a report, by path.
func (op *Op) String() string {
	switch op.Op {
	case Write:
		return fmt.Sprintf("write %d bytes at %d to %s", len(op.Data), op.Off, op.Path)
	case Truncate:
		return fmt.Sprintf("truncate %s to %d", op.Path, op.Len)
	case Fallocate:
		return fmt.Sprintf("fallocate %s %d+%d mode %#x", op.Path, op.Off, op.Len, op.Flags)
	case Create, Mkdir, Mkfifo, Unlink, Rmdir:
		return fmt.Sprintf("%s %s", op.Op, op.Path)
	case Symlink:
		return fmt.Sprintf("symlink %s -> %s", op.Path, op.Target)
	case Link:
		return fmt.Sprintf("link %s as %s", op.Path2, op.Path)
	case Rename:
		s := fmt.Sprintf("rename %s to %s", op.Path, op.Path2)
		switch {
		case op.Flags&RenameExchange != 0:
			s += " (exchange)"
		case op.Node2 != 0:
			s += " (replacing it)"
		}
		return s
	case Chmod:
		return fmt.Sprintf("chmod %s %#o", op.Path, op.Mode)
	case Chown:
		return fmt.Sprintf("chown %s %d:%d", op.Path, op.UID, op.GID)
	case Fsync, Fdatasync:
		p := op.Path
		if p == "" {
			p = "."
		}
		return fmt.Sprintf("%s %s", op.Op, p)
	}
	return string(op.Op)
}
