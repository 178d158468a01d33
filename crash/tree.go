package crash

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// PageSize is the granularity at which a write may survive in part.
const PageSize = 4096

// inode is one file, directory, symlink or fifo of a state.
type inode struct {
	kind     nodeKind
	mode     uint32 // permission bits
	uid, gid int
	data     []byte // regular files
	owned    bool   // data may be changed in place (not shared with another tree)
	target   string // symlinks
	entries  map[string]NodeID
}

// tree is a file system state: nodes by id, reachable from Root.
type tree struct{ nodes map[NodeID]*inode }

func newTree() *tree {
	return &tree{nodes: map[NodeID]*inode{Root: {kind: kindDir, mode: 0o755, entries: map[string]NodeID{}}}}
}

// clone copies t; file data is shared until written.
func (t *tree) clone() *tree {
	c := &tree{nodes: make(map[NodeID]*inode, len(t.nodes))}
	for id, n := range t.nodes {
		m := *n
		m.owned = false
		if n.entries != nil {
			m.entries = make(map[string]NodeID, len(n.entries))
			for k, v := range n.entries {
				m.entries[k] = v
			}
		}
		c.nodes[id] = &m
		n.owned = false
	}
	return c
}

// apply applies op. Node creation always happens; the entry part of an
// entry operation only when entry is true (a file can exist, reachable
// through a link, though the name it was created under was lost). keep
// selects the pieces of a write that survive (see pieceKept); -1 applies
// it whole.
func (t *tree) apply(op *Op, entry bool, keep int) {
	switch op.Op {
	case Write:
		t.write(op, keep)
	case Truncate:
		if f := t.file(op.Node); f != nil {
			f.resize(op.Len)
		}
	case Fallocate:
		t.fallocate(op)
	case Create, Mkdir, Mkfifo, Symlink:
		if t.nodes[op.Node] == nil {
			n := &inode{kind: map[Kind]nodeKind{Create: kindFile, Mkdir: kindDir, Mkfifo: kindFifo, Symlink: kindLink}[op.Op], mode: op.Mode & 0o7777, uid: op.UID, gid: op.GID, target: op.Target, owned: true}
			if n.kind == kindDir {
				n.entries = map[string]NodeID{}
			}
			t.nodes[op.Node] = n
		}
		if entry {
			t.link(op.Dir, op.Name, op.Node)
		}
	case Link:
		if entry && t.nodes[op.Node] != nil {
			t.link(op.Dir, op.Name, op.Node)
		}
	case Unlink, Rmdir:
		if d := t.dir(op.Dir); entry && d != nil && d.entries[op.Name] == op.Node {
			delete(d.entries, op.Name)
		}
	case Rename:
		if entry {
			t.rename(op)
		}
	case Chmod:
		if n := t.nodes[op.Node]; n != nil {
			n.mode = op.Mode & 0o7777
		}
	case Chown:
		if n := t.nodes[op.Node]; n != nil {
			n.uid, n.gid = op.UID, op.GID
		}
	}
}

func (t *tree) dir(id NodeID) *inode {
	if n := t.nodes[id]; n != nil && n.kind == kindDir {
		return n
	}
	return nil
}

func (t *tree) file(id NodeID) *inode {
	if n := t.nodes[id]; n != nil && n.kind == kindFile {
		if !n.owned {
			n.data = slices.Clone(n.data)
			n.owned = true
		}
		return n
	}
	return nil
}

func (t *tree) link(dir NodeID, name string, id NodeID) {
	if d := t.dir(dir); d != nil {
		d.entries[name] = id
	}
}

func (t *tree) rename(op *Op) {
	from, to := t.dir(op.Dir), t.dir(op.Dir2)
	if from == nil || to == nil {
		return
	}
	src, ok := from.entries[op.Name]
	if !ok || src != op.Node {
		return
	}
	if op.Flags&RenameExchange != 0 {
		dst, ok := to.entries[op.Name2]
		if !ok {
			return
		}
		from.entries[op.Name], to.entries[op.Name2] = dst, src
		return
	}
	delete(from.entries, op.Name)
	to.entries[op.Name2] = src
}

func (n *inode) resize(size int64) {
	if size <= int64(len(n.data)) {
		n.data = n.data[:size]
		return
	}
	n.data = append(n.data, make([]byte, size-int64(len(n.data)))...)
}

// write applies a write whole (keep -1) or the pieces that keep, a piece
// value (see pieceKept), selects.
func (t *tree) write(op *Op, keep int) {
	f := t.file(op.Node)
	if f == nil {
		return
	}
	if keep < 0 {
		t.writeAt(f, op.Off, op.Data)
		return
	}
	n := pieces(op.Off, len(op.Data))
	for j := range n {
		if pieceKept(n, keep, j) {
			from, to := pieceEnd(op.Off, len(op.Data), j), pieceEnd(op.Off, len(op.Data), j+1)
			t.writeAt(f, op.Off+int64(from), op.Data[from:to])
		}
	}
}

func (t *tree) writeAt(f *inode, off int64, data []byte) {
	if end := off + int64(len(data)); end > int64(len(f.data)) {
		f.resize(end)
	}
	copy(f.data[off:], data)
}

// MaskPieces is the most 4 KiB pieces a write may span for a crash to keep
// any subset of them; of a longer write a crash keeps a prefix.
const MaskPieces = 16

// pieceMax is the largest piece value of a write of n pieces: all of them.
func pieceMax(n int) int {
	if n <= MaskPieces {
		return 1<<n - 1
	}
	return n
}

// pieceKept says whether piece j of a write of n pieces survives under
// piece value v: for up to MaskPieces pieces v is a bit mask of the kept
// pieces, for more it counts the kept pieces from the first.
func pieceKept(n, v, j int) bool {
	if n <= MaskPieces {
		return v>>j&1 == 1
	}
	return j < v
}

// pieces is how many 4 KiB-aligned pieces a write of n bytes at off spans.
func pieces(off int64, n int) int {
	if n == 0 {
		return 1
	}
	return int((off+int64(n)-1)/PageSize - off/PageSize + 1)
}

// pieceEnd is how many bytes of a write of n bytes at off its first k
// pieces hold.
func pieceEnd(off int64, n, k int) int {
	if k <= 0 {
		return 0
	}
	end := (off/PageSize + int64(k)) * PageSize
	return int(min(end-off, int64(n)))
}

func (t *tree) fallocate(op *Op) {
	f := t.file(op.Node)
	if f == nil {
		return
	}
	end := op.Off + op.Len
	if op.Flags&(FallocPunchHole|FallocZeroRange) != 0 {
		for i := op.Off; i < min(end, int64(len(f.data))); i++ {
			f.data[i] = 0
		}
	}
	if op.Flags&FallocKeepSize == 0 && end > int64(len(f.data)) {
		f.resize(end)
	}
}

// walk calls fn for every node reachable from Root, directories before
// their entries, entries in name order; path is relative to the root ("" for
// the root). A node reachable twice through hard links is visited each time;
// a directory is entered once.
func (t *tree) walk(fn func(path string, id NodeID, n *inode) error) error {
	seen := map[NodeID]bool{}
	var visit func(path string, id NodeID) error
	visit = func(path string, id NodeID) error {
		n := t.nodes[id]
		if n == nil {
			return nil
		}
		if n.kind == kindDir {
			if seen[id] {
				return nil
			}
			seen[id] = true
		}
		if err := fn(path, id, n); err != nil {
			return err
		}
		if n.kind != kindDir {
			return nil
		}
		names := make([]string, 0, len(n.entries))
		for name := range n.entries {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if err := visit(filepath.Join(path, name), n.entries[name]); err != nil {
				return err
			}
		}
		return nil
	}
	return visit("", Root)
}

// Sum is a state's content digest: two states with the same Sum look the
// same to any checker that reads names, types, modes, owners and bytes.
type Sum [sha256.Size]byte

func (t *tree) sum() Sum {
	h := sha256.New()
	var b [8]byte
	num := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	str := func(s string) {
		num(uint64(len(s)))
		h.Write([]byte(s))
	}
	t.walk(func(path string, id NodeID, n *inode) error {
		str(path)
		num(uint64(n.kind)<<32 | uint64(n.mode))
		num(uint64(n.uid)<<32 | uint64(uint32(n.gid)))
		str(n.target)
		num(uint64(len(n.data)))
		h.Write(n.data)
		return nil
	})
	var s Sum
	h.Sum(s[:0])
	return s
}

// materialize creates the state's tree under dir, which must be an empty
// directory. Owners are set only when running as root.
func (t *tree) materialize(dir string) error {
	root := os.Geteuid() == 0
	var dirs []string
	var modes []uint32
	err := t.walk(func(rel string, id NodeID, n *inode) error {
		p := filepath.Join(dir, rel)
		var err error
		switch n.kind {
		case kindDir:
			if rel != "" {
				err = os.Mkdir(p, 0o700)
			}
			dirs, modes = append(dirs, p), append(modes, n.mode)
		case kindFile:
			err = os.WriteFile(p, n.data, 0o600)
			if err == nil {
				err = os.Chmod(p, os.FileMode(n.mode&0o777)|modeBits(n.mode))
			}
		case kindLink:
			err = os.Symlink(n.target, p)
		case kindFifo:
			err = unix.Mkfifo(p, n.mode&0o777)
		}
		if err == nil && root && (n.uid != 0 || n.gid != 0) {
			err = os.Lchown(p, n.uid, n.gid)
		}
		return err
	})
	// Directory modes last, so a read-only directory is filled first.
	for i := len(dirs) - 1; err == nil && i >= 0; i-- {
		err = os.Chmod(dirs[i], os.FileMode(modes[i]&0o777)|modeBits(modes[i]))
	}
	if err != nil {
		return fmt.Errorf("materialize state in %s: %w", dir, err)
	}
	return nil
}

func modeBits(m uint32) os.FileMode {
	var fm os.FileMode
	if m&unix.S_ISUID != 0 {
		fm |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		fm |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		fm |= os.ModeSticky
	}
	return fm
}
