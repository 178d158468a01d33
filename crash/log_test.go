package crash

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.log")
	w, err := CreateLog(path, Header{Dir: "/d", Command: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	w.Init(Op{Op: Chmod, Node: Root, Mode: 0o755})
	w.Lock()
	w.Append(mkA)
	w.AppendLine("saved")
	w.Append(writeA("x"))
	w.Unlock()
	if err := w.Close(End{Status: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateLog(path, Header{}); err == nil {
		t.Fatal("CreateLog overwrote an existing log")
	}
	l, err := ReadLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Init) != 1 || len(l.Ops) != 2 || len(l.Lines) != 1 || l.Lines[0].After != 1 || l.End == nil || l.End.Status != 3 {
		t.Fatalf("read back %+v", l)
	}
	if string(l.Ops[1].Data) != "x" || l.Header.Dir != "/d" {
		t.Fatalf("read back %+v", l)
	}
	if b, err := os.ReadFile(DataPath(path)); err != nil || string(b) != "x" {
		t.Fatalf("data file holds %q, %v; want the write's byte", b, err)
	}
}

func TestDecodeLogRejects(t *testing.T) {
	h := `{"header":{"format":"heisen-crash-log/1","dir":"/d","command":["x"]}}` + "\n"
	for name, in := range map[string]string{
		"empty":        "",
		"no header":    `{"do":{"op":"sync"}}`,
		"bad json":     h + "{\n" + `{"do":{"op":"sync"}}`,
		"unknown op":   h + `{"do":{"op":"explode"}}`,
		"write to dir": h + `{"do":{"op":"write","node":1,"data":"eA=="}}`,
		"huge":         h + `{"do":{"op":"create","dir":1,"name":"a","node":2}}` + "\n" + `{"do":{"op":"truncate","node":2,"len":99999999999}}`,
		"bad name":     h + `{"do":{"op":"create","dir":1,"name":"a/b","node":2}}`,
		"reused node":  h + `{"do":{"op":"mkdir","dir":1,"name":"a","node":1}}`,
		"line count":   h + `{"stdout":{"text":"x","after":5}}`,
		"after end":    h + `{"end":{"status":0}}` + "\n" + `{"do":{"op":"sync"}}`,
		"no data file": h + `{"do":{"op":"create","dir":1,"name":"a","node":2}}` + "\n" + `{"do":{"op":"write","node":2,"data_at":0,"data_len":3}}`,
	} {
		if _, err := DecodeLog(strings.NewReader(in), nil); err == nil {
			t.Errorf("%s: DecodeLog succeeded", name)
		}
	}
	if _, err := DecodeLog(strings.NewReader(`{"x":1}`), nil); !errors.Is(err, ErrNotLog) {
		t.Errorf("DecodeLog of another JSON file: %v, want ErrNotLog", err)
	}
}

// FuzzDecodeLog checks that any input either fails to decode or gives a
// log whose states can all be listed and rebuilt.
func FuzzDecodeLog(f *testing.F) {
	h := `{"header":{"format":"heisen-crash-log/1","dir":"/d","command":["x"]}}` + "\n"
	f.Add([]byte(h + `{"do":{"op":"create","dir":1,"name":"a","node":2}}` + "\n" + `{"do":{"op":"write","node":2,"off":4090,"data":"eHl6eHl6eHl6"}}` + "\n" + `{"stdout":{"text":"1","after":2}}` + "\n" + `{"end":{"status":0}}`))
	f.Add([]byte(h + `{"do":{"op":"mkdir","dir":1,"name":"d","node":2}}` + "\n" + `{"do":{"op":"create","dir":2,"name":"a","node":3}}` + "\n" + `{"do":{"op":"rename","dir":2,"name":"a","dir2":1,"name2":"b","node":3}}` + "\n" + `{"do":{"op":"fsync","node":2}}`))
	f.Add([]byte(h + `{"do":{"op":"create","dir":1,"name":"a","node":2}}` + "\n" + `{"do":{"op":"write","node":2,"off":4094,"data_at":2,"data_len":9}}`))
	f.Add([]byte(h + `{"init":{"op":"create","dir":1,"name":"a","node":2}}` + "\n" + `{"do":{"op":"link","dir":1,"name":"b","node":2}}` + "\n" + `{"do":{"op":"rename","dir":1,"name":"a","dir2":1,"name2":"b","node":2,"node2":2,"flags":2}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := DecodeLog(bytes.NewReader(in), []byte("0123456789abcdef"))
		if err != nil {
			return
		}
		for _, m := range Models {
			n := 0
			l.States(Options{Model: m, PerPoint: 8, Seed: 1}, func(s *State) bool {
				r, err := l.Replay(m, s.ID)
				if err != nil {
					t.Fatalf("state %s listed but not replayable: %v", s.ID, err)
				}
				if r.Sum != s.Sum {
					t.Fatalf("state %s replays to other content than listed", s.ID)
				}
				n++
				return n < 200
			})
		}
	})
}

// BenchmarkAppendWrite64K is what logging one 64 KiB write costs the FUSE
// server: the bytes copied to the data file, a short JSON record.
func BenchmarkAppendWrite64K(b *testing.B) {
	w, err := CreateLog(filepath.Join(b.TempDir(), "log"), Header{})
	if err != nil {
		b.Fatal(err)
	}
	op := Op{Op: Write, Node: 2, Data: make([]byte, 64<<10), Path: "bulk"}
	b.SetBytes(64 << 10)
	for b.Loop() {
		w.Lock()
		w.Append(op)
		w.Unlock()
	}
	w.Close(End{})
}

// TestDecodeLogCutShort reads the log of a run killed mid-line: what was
// complete, and no end record.
func TestDecodeLogCutShort(t *testing.T) {
	h := `{"header":{"format":"heisen-crash-log/1","dir":"/d","command":["x"]}}` + "\n"
	l, err := DecodeLog(strings.NewReader(h+`{"do":{"op":"sync"}}`+"\n"+`{"do":{"op":"cre`), nil)
	if err != nil || len(l.Ops) != 1 || l.End != nil {
		t.Fatalf("cut-short log: %+v, %v; want its one whole operation and no end", l, err)
	}
	if _, err := DecodeLog(strings.NewReader(h+`{"do":{"op":"cre`+"\n"+`{"do":{"op":"sync"}}`), nil); err == nil {
		t.Fatal("a bad line before the last one was accepted")
	}
}
