package crash

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// logOf builds a log from ops; nodes 2.. are the files they create.
func logOf(ops ...Op) *Log {
	return &Log{Header: Header{Format: FormatName}, Ops: ops}
}

// contents lists, for each distinct state at the log's last point, the
// content of path ("-" when missing).
func contents(t *testing.T, l *Log, m *Model, point int, path string) []string {
	t.Helper()
	sp := m.space(l, point)
	init := l.initTree()
	var out []string
	for _, c := range sp.choices(1<<20, 1) {
		tr := sp.build(init, 0, sp.plan(c))
		out = append(out, lookup(tr, path))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func lookup(t *tree, path string) string {
	id := Root
	for _, part := range strings.Split(path, "/") {
		d := t.dir(id)
		if d == nil {
			return "-"
		}
		var ok bool
		if id, ok = d.entries[part]; !ok {
			return "-"
		}
	}
	if n := t.nodes[id]; n != nil && n.kind == kindFile {
		return string(n.data)
	}
	return "?"
}

var (
	mkA     = Op{Op: Create, Dir: Root, Name: "a", Node: 2, Mode: 0o644}
	mkTmp   = Op{Op: Create, Dir: Root, Name: "tmp", Node: 3, Mode: 0o644}
	fsRoot  = Op{Op: Fsync, Node: Root}
	tmpToA  = Op{Op: Rename, Dir: Root, Name: "tmp", Dir2: Root, Name2: "a", Node: 3, Node2: 2}
	writeA  = func(s string) Op { return Op{Op: Write, Node: 2, Data: []byte(s)} }
	writeTm = func(s string) Op { return Op{Op: Write, Node: 3, Data: []byte(s)} }
)

func TestPosixUnsyncedWriteMayBeLost(t *testing.T) {
	l := logOf(mkA, fsRoot, writeA("new"))
	got := contents(t, l, Posix, 3, "a")
	if want := []string{"", "new"}; !slices.Equal(got, want) {
		t.Fatalf("states of a = %q, want %q", got, want)
	}
}

func TestPosixFsyncKeepsDataNotName(t *testing.T) {
	l := logOf(mkA, writeA("new"), Op{Op: Fsync, Node: 2})
	got := contents(t, l, Posix, 3, "a")
	if want := []string{"-", "new"}; !slices.Equal(got, want) {
		t.Fatalf("states of a = %q, want %q: a file's fsync persists its data, not its name", got, want)
	}
	l.Ops = append(l.Ops, fsRoot)
	if got := contents(t, l, Posix, 4, "a"); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("after fsync of the directory, states of a = %q, want only \"new\"", got)
	}
}

func TestPosixRenameBeforeDataSynced(t *testing.T) {
	// The story's writer: temp written without fsync, renamed over a.
	l := logOf(mkA, writeA("old"), Op{Op: Fsync, Node: 2}, fsRoot, mkTmp, writeTm("new"), tmpToA)
	got := contents(t, l, Posix, len(l.Ops), "a")
	if want := []string{"", "new", "old"}; !slices.Equal(got, want) {
		t.Fatalf("states of a = %q, want %q (empty: rename kept, data lost)", got, want)
	}
	if got := contents(t, l, Ext4Ordered, len(l.Ops), "a"); !slices.Equal(got, []string{"new", "old"}) {
		t.Fatalf("ext4-ordered states of a = %q, want old or new (auto_da_alloc)", got)
	}
}

func TestFdatasyncKeepsDataNotMode(t *testing.T) {
	l := logOf(mkA, fsRoot, writeA("x"), Op{Op: Chmod, Node: 2, Mode: 0o600}, Op{Op: Fdatasync, Node: 2})
	sp := Posix.space(l, len(l.Ops))
	if len(sp.vars) != 1 || !sp.vars[0].prefix || l.Ops[sp.vars[0].ops[0]].Op != Chmod {
		t.Fatalf("after fdatasync the one choice should be the chmod, got %+v", sp.vars)
	}
}

func TestTornWriteKeepsWholePieces(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 2*PageSize+10) // three pieces at offset 100
	l := logOf(mkA, fsRoot, Op{Op: Write, Node: 2, Off: 100, Data: data})
	sizes := map[int]bool{}
	for _, c := range contents(t, l, Posix, 3, "a") {
		sizes[len(c)] = true
	}
	for _, want := range []int{0, PageSize, 2 * PageSize, 100 + len(data)} {
		if !sizes[want] {
			t.Errorf("no state with a of %d bytes; sizes %v", want, sizes)
		}
	}
	if len(sizes) != 4 {
		t.Errorf("sizes %v, want 4 (none, up to the first, second or third piece)", sizes)
	}
	// Any subset of the pieces: the last alone leaves a hole before it.
	hole := string(make([]byte, 2*PageSize)) + string(data[2*PageSize-100:])
	if !slices.Contains(contents(t, l, Posix, 3, "a"), hole) {
		t.Error("no state with only the last piece of the write")
	}
}

func TestCrossDirectoryRenameIsAtomic(t *testing.T) {
	mkD := Op{Op: Mkdir, Dir: Root, Name: "d", Node: 4, Mode: 0o755}
	mv := Op{Op: Rename, Dir: Root, Name: "a", Dir2: 4, Name2: "b", Node: 2}
	l := logOf(mkA, mkD, fsRoot, Op{Op: Fsync, Node: 2}, mv)
	sp := Posix.space(l, len(l.Ops))
	init := l.initTree()
	for _, c := range sp.all() {
		tr := sp.build(init, 0, sp.plan(c))
		inA, inB := lookup(tr, "a") != "-", lookup(tr, "d/b") != "-"
		if inA == inB {
			t.Fatalf("choice %v: a present %v, d/b present %v; the rename must be in exactly one place", c, inA, inB)
		}
	}
}

func TestSyncMakesEverythingDurable(t *testing.T) {
	l := logOf(mkA, writeA("x"), Op{Op: Sync}, writeA("y"))
	if got := contents(t, l, Posix, 3, "a"); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("after sync, states of a = %q, want only x", got)
	}
}

func TestDeletedFileDataIsNoChoice(t *testing.T) {
	l := logOf(mkTmp, fsRoot, writeTm("gone"), Op{Op: Unlink, Dir: Root, Name: "tmp", Node: 3}, fsRoot)
	if sp := Posix.space(l, len(l.Ops)); len(sp.vars) != 0 {
		t.Fatalf("the write to a durably deleted file is a choice: %+v", sp.vars)
	}
}

func TestStatesDedupeAndReplay(t *testing.T) {
	l := logOf(mkA, fsRoot, writeA("1"), Op{Op: Fsync, Node: 2}, writeA("2"), Op{Op: Fsync, Node: 2})
	l.Lines = []Line{{Text: "1", After: 4}, {Text: "2", After: 6}}
	var states []*State
	l.States(Options{Model: Posix, PerPoint: 64}, func(s *State) bool {
		if !s.Dup {
			states = append(states, s)
		}
		return true
	})
	// point 0..2: "", then "1" (points 3,4 with ack), "2" ...; each (content, acks) once.
	seen := map[string]bool{}
	for _, s := range states {
		k := lookup(s.tree, "a") + "/" + string(rune('0'+s.Acked))
		if seen[k] {
			t.Fatalf("state %s repeats content+acks %q", s.ID, k)
		}
		seen[k] = true
		r, err := l.Replay(Posix, s.ID)
		if err != nil {
			t.Fatalf("replay %s: %v", s.ID, err)
		}
		if r.Sum != s.Sum {
			t.Fatalf("replay %s gives a different state", s.ID)
		}
	}
	if len(states) < 4 {
		t.Fatalf("only %d states", len(states))
	}
	dir := t.TempDir()
	if err := states[len(states)-1].Materialize(dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a")); err != nil || string(b) != "2" {
		t.Fatalf("materialized a = %q, %v; want 2", b, err)
	}
}

func TestIDRoundTrip(t *testing.T) {
	for _, c := range [][]int{nil, {0}, {3, 3, 3, 1, 0, 0}, {12, 1}} {
		id := encodeID(7, c)
		p, got, err := decodeID(id)
		if err != nil || p != 7 || !slices.Equal(got, c) && len(c)+len(got) > 0 {
			t.Fatalf("decode(encode(%v)) = %d %v %v (id %q)", c, p, got, err, id)
		}
	}
	for _, bad := range []string{"", "x:1", "-1:", "3:a", "3:1*0", "3:1*x"} {
		if _, _, err := decodeID(bad); err == nil {
			t.Errorf("decodeID(%q) succeeded", bad)
		}
	}
}

func TestReplayRejectsWrongChoices(t *testing.T) {
	l := logOf(mkA, writeA("x"))
	for _, id := range []string{"9:", "2:", "2:1.1.1", "2:9.0"} {
		if _, err := l.Replay(Posix, id); err == nil {
			t.Errorf("Replay(%q) succeeded", id)
		}
	}
}

// replacesLog is the log of n small replaces, each fsynced and its
// directory fsynced, one line printed after each: the benchmark workload.
func replacesLog(n int) *Log {
	l := logOf(mkA, Op{Op: Write, Node: 2, Data: []byte("version 0")}, Op{Op: Fsync, Node: 2}, fsRoot)
	for v := 1; v <= n; v++ {
		tmp := NodeID(v + 2)
		l.Ops = append(l.Ops,
			Op{Op: Create, Dir: Root, Name: "tmp", Node: tmp},
			Op{Op: Write, Node: tmp, Data: []byte(fmt.Sprintf("version %d %s", v, strings.Repeat("x", 64)))},
			Op{Op: Fsync, Node: tmp},
			Op{Op: Rename, Dir: Root, Name: "tmp", Dir2: Root, Name2: "a", Node: tmp},
			Op{Op: Fsync, Node: Root})
		l.Lines = append(l.Lines, Line{Text: fmt.Sprint(v), After: len(l.Ops)})
	}
	return l
}

// BenchmarkStates lists and builds every state of 100 small replaces (the
// model's side of heisen crash's states per second, without the checker).
func BenchmarkStates(b *testing.B) {
	l := replacesLog(100)
	var n int
	for b.Loop() {
		n = 0
		l.States(Options{Model: Posix, PerPoint: 64}, func(s *State) bool {
			if !s.Dup {
				n++
			}
			return true
		})
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "states/s")
}

// BenchmarkMaterialize writes one state of the replaces log to disk.
func BenchmarkMaterialize(b *testing.B) {
	l := replacesLog(100)
	var st *State
	l.States(Options{Model: Posix, PerPoint: 64}, func(s *State) bool {
		if !s.Dup {
			st = s
		}
		return true
	})
	dir := b.TempDir()
	for i := 0; b.Loop(); i++ {
		d := filepath.Join(dir, fmt.Sprint(i))
		os.Mkdir(d, 0o755)
		if err := st.Materialize(d); err != nil {
			b.Fatal(err)
		}
	}
}

func TestExt4FsyncCommitsMetadataNotOtherData(t *testing.T) {
	mkB := Op{Op: Create, Dir: Root, Name: "b", Node: 3, Mode: 0o644}
	l := logOf(mkA, mkB, Op{Op: Write, Node: 3, Data: []byte("b")}, Op{Op: Fsync, Node: 2})
	if got := contents(t, l, Ext4Ordered, len(l.Ops), "b"); !slices.Equal(got, []string{"", "b"}) {
		t.Fatalf("ext4-ordered states of b after an fsync of a = %q; want b's name kept (journal commit), its data either way", got)
	}
	if got := contents(t, l, Posix, len(l.Ops), "b"); !slices.Equal(got, []string{"", "-", "b"}) {
		t.Fatalf("posix states of b = %q, want missing, empty or b", got)
	}
}

func TestExchangeAndFallocate(t *testing.T) {
	mkB := Op{Op: Create, Dir: Root, Name: "b", Node: 3, Mode: 0o644}
	l := logOf(mkA, mkB, writeA("aaaa"), Op{Op: Write, Node: 3, Data: []byte("bb")},
		Op{Op: Rename, Dir: Root, Name: "a", Dir2: Root, Name2: "b", Node: 2, Node2: 3, Flags: RenameExchange},
		Op{Op: Fallocate, Node: 2, Off: 1, Len: 2, Flags: FallocPunchHole | FallocKeepSize},
		Op{Op: Fallocate, Node: 3, Off: 0, Len: 6},
		Op{Op: Sync})
	tr := Posix.space(l, len(l.Ops)).build(l.initTree(), 0, Posix.space(l, len(l.Ops)).plan(nil))
	if a, b := lookup(tr, "a"), lookup(tr, "b"); a != "bb\x00\x00\x00\x00" || b != "a\x00\x00a" {
		t.Fatalf("after exchange and fallocates a=%q b=%q", a, b)
	}
}

func TestLongWriteKeepsAPrefix(t *testing.T) {
	n := MaskPieces + 4
	l := logOf(mkA, fsRoot, Op{Op: Write, Node: 2, Data: bytes.Repeat([]byte("x"), n*PageSize)})
	sp := Posix.space(l, 3)
	if len(sp.vars) != 1 || sp.vars[0].max != n {
		t.Fatalf("a write of %d pieces has choices %+v, want one of 0..%d", n, sp.vars, n)
	}
	st, err := l.Replay(Posix, "3:3")
	if err != nil {
		t.Fatal(err)
	}
	if got := lookup(st.tree, "a"); len(got) != 3*PageSize {
		t.Fatalf("keeping 3 of %d pieces left %d bytes", n, len(got))
	}
	if f := st.Fate(l, 2); f != fmt.Sprintf("in part (the first 3 of %d pieces)", n) {
		t.Fatalf("fate %q", f)
	}
	short := logOf(mkA, fsRoot, Op{Op: Write, Node: 2, Data: bytes.Repeat([]byte("x"), 3*PageSize)})
	if st, err = short.Replay(Posix, "3:5"); err != nil || st.Fate(short, 2) != "in part (piece 1, 3 of 3)" {
		t.Fatalf("mask 5 of a 3-piece write: %v %q", err, st.Fate(short, 2))
	}
}
