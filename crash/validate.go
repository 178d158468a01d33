package crash

import "fmt"

// MaxFileSize is the largest file the models hold: a log whose operations
// would make a file larger is refused, so a damaged log cannot make the
// reader allocate without bound.
const MaxFileSize = 1 << 30

type nodeKind byte

const (
	kindFile nodeKind = 'f'
	kindDir  nodeKind = 'd'
	kindLink nodeKind = 'l'
	kindFifo nodeKind = 'p'
)

// validator checks that each operation names nodes of the right kind, so
// the models can apply any subset of a log without checking again.
type validator struct{ kinds map[NodeID]nodeKind }

func newValidator() *validator {
	return &validator{kinds: map[NodeID]nodeKind{Root: kindDir}}
}

func (v *validator) check(op *Op) error {
	if err := v.check1(op); err != nil {
		return fmt.Errorf("%s: %w", op.Op, err)
	}
	return nil
}

func (v *validator) check1(op *Op) error {
	switch op.Op {
	case Write, Truncate, Fallocate:
		if err := v.want(op.Node, kindFile); err != nil {
			return err
		}
		end := op.Off + int64(len(op.Data))
		if op.Op != Write {
			end = op.Off + op.Len
		}
		if op.Off < 0 || op.Len < 0 || end > MaxFileSize {
			return fmt.Errorf("node %d: range %d+%d outside [0, %d]", op.Node, op.Off, op.Len, int64(MaxFileSize))
		}
	case Create, Mkdir, Mkfifo, Symlink:
		if err := v.want(op.Dir, kindDir); err != nil {
			return err
		}
		if op.Node == 0 || v.kinds[op.Node] != 0 {
			return fmt.Errorf("node %d is not new", op.Node)
		}
		v.kinds[op.Node] = map[Kind]nodeKind{Create: kindFile, Mkdir: kindDir, Mkfifo: kindFifo, Symlink: kindLink}[op.Op]
		return validName(op.Name)
	case Link, Unlink, Rmdir:
		if err := v.want(op.Dir, kindDir); err != nil {
			return err
		}
		if v.kinds[op.Node] == 0 {
			return fmt.Errorf("unknown node %d", op.Node)
		}
		return validName(op.Name)
	case Rename:
		if err := v.want(op.Dir, kindDir); err != nil {
			return err
		}
		if err := v.want(op.Dir2, kindDir); err != nil {
			return err
		}
		if v.kinds[op.Node] == 0 || (op.Node2 != 0 && v.kinds[op.Node2] == 0) {
			return fmt.Errorf("unknown node %d or %d", op.Node, op.Node2)
		}
		if op.Flags&^(RenameNoReplace|RenameExchange) != 0 {
			return fmt.Errorf("flags %#x not modelled", op.Flags)
		}
		if err := validName(op.Name); err != nil {
			return err
		}
		return validName(op.Name2)
	case Chmod, Chown, Fsync, Fdatasync:
		if v.kinds[op.Node] == 0 {
			return fmt.Errorf("unknown node %d", op.Node)
		}
	case Sync:
	default:
		return fmt.Errorf("unknown operation")
	}
	return nil
}

func (v *validator) want(id NodeID, k nodeKind) error {
	if got := v.kinds[id]; got != k {
		return fmt.Errorf("node %d is not a %s", id, map[nodeKind]string{kindFile: "regular file", kindDir: "directory"}[k])
	}
	return nil
}

func validName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 255 {
		return fmt.Errorf("bad name %q", name)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return fmt.Errorf("bad name %q", name)
		}
	}
	return nil
}
