package filerace

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/astutil"
	"golang.org/x/tools/go/ssa"
)

// writers lists functions that write to an io.Writer they are given and
// never sync it; handing a file to any other function might sync it.
var writers = map[string]bool{
	"io.Copy": true, "io.CopyN": true, "io.CopyBuffer": true, "io.WriteString": true,
	"fmt.Fprint": true, "fmt.Fprintf": true, "fmt.Fprintln": true,
	"bufio.NewWriter": true, "bufio.NewWriterSize": true,
	"encoding/json.NewEncoder": true, "encoding/gob.NewEncoder": true, "encoding/xml.NewEncoder": true,
	"encoding/csv.NewWriter": true, "compress/gzip.NewWriter": true, "compress/gzip.NewWriterLevel": true,
	"archive/tar.NewWriter": true, "archive/zip.NewWriter": true,
	"(*text/template.Template).Execute": true, "(*html/template.Template).Execute": true,
	"(*bytes.Buffer).WriteTo": true,
}

// syncFuncs flush a file's data to stable storage.
var syncFuncs = map[string]bool{
	"(*os.File).Sync": true, "syscall.Fsync": true, "syscall.Fdatasync": true, "syscall.Sync": true,
	"golang.org/x/sys/unix.Fsync": true, "golang.org/x/sys/unix.Fdatasync": true,
	"golang.org/x/sys/unix.Sync": true, "golang.org/x/sys/unix.Syncfs": true,
}

// isSync reports whether instr calls a function that syncs a file, or
// takes a file's descriptor (to sync it by hand, perhaps).
func isSync(instr ssa.Instruction) bool {
	call, ok := instr.(*ssa.Call)
	if !ok || call.Call.StaticCallee() == nil {
		return false
	}
	name := fullName(call.Call.StaticCallee())
	return syncFuncs[name] || name == "(*os.File).Fd" || name == "(*os.File).SyscallConn"
}

// syncs reports whether fn may sync a file anywhere.
func syncs(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if isSync(instr) {
				return true
			}
		}
	}
	return false
}

// checkSync reports a rename of a freshly written file that some path
// reaches without syncing the file first: the lostcancel search, on SSA
// blocks, from the create to the rename, pruned where the file is synced.
func (c *checker) checkSync(op fileOp, r fileOp) {
	if c.opensSynced(op) {
		return
	}
	stops := map[ssa.Instruction]bool{}
	var closes []*ssa.Call
	switch {
	case op.writesWhole():
		for _, b := range op.fn.Blocks {
			for _, instr := range b.Instrs {
				if isSync(instr) {
					stops[instr] = true
				}
			}
		}
	case op.file != nil:
		var written, escapes bool
		closes, written, escapes = fileUses(op.file, stops)
		if !written || escapes {
			return
		}
	default:
		return
	}
	if !reaches(op.call, r.call, stops) {
		return
	}
	d := c.unsynced(op, r)
	// The Sync goes before the Close on the path to the rename, not one in
	// an error branch that returns.
	for _, cl := range closes {
		if reaches(op.call, cl, stops) && reaches(cl, r.call, stops) {
			d.SuggestedFixes = c.syncFix(op.fn, cl)
			break
		}
	}
	c.report(d)
}

// checkSyncClosure reports a rename, in a closure of the function that
// writes the file (routedns's deferred rename, buntdb's Shrink), of a file
// that nothing syncs: neither the function nor any closure of it may sync
// it, and it is never handed where it could be.
func (c *checker) checkSyncClosure(op fileOp, r fileOp) {
	if c.opensSynced(op) || op.file == nil {
		return
	}
	stops := map[ssa.Instruction]bool{}
	if _, written, escapes := fileUses(op.file, stops); !written || escapes || len(stops) > 0 {
		return
	}
	c.report(c.unsynced(op, r))
}

// unsynced is the unsynced-rename diagnostic of op's file renamed by r.
func (c *checker) unsynced(op fileOp, r fileOp) analysis.Diagnostic {
	file := "the file"
	if op.path != nil && !op.result {
		file = render(c.pass.Fset, c.argExpr(op.call, op.pathArg))
	}
	if op.name == "os.CreateTemp" || op.name == "io/ioutil.TempFile" || op.result {
		file = "the temp file"
	}
	how := "with no Sync on some path between the write and the rename"
	if op.file == nil {
		how = "but " + op.name + " never syncs"
	}
	rename := c.calls[r.call.Pos()]
	return analysis.Diagnostic{
		Pos:      rename.Pos(),
		End:      rename.End(),
		Category: UnsyncedRename,
		Message: fmt.Sprintf("unsynced-rename: %s (written at line %d) is renamed over %s %s: "+
			"after a crash the rename can be on disk before the data, leaving the target empty or partial; "+
			"call Sync on the file before closing it, or use atomicfile.WriteFile",
			file, c.pass.Fset.Position(op.call.Pos()).Line, render(c.pass.Fset, c.argExpr(r.call, r.dstArg)), how),
	}
}

// fileUses classifies the uses of the *os.File f: the instructions that may
// sync it go into stops; closes are its Close calls; written reports a
// write; escapes reports a use we cannot follow (stored, returned,
// converted and kept).
func fileUses(f ssa.Value, stops map[ssa.Instruction]bool) (closes []*ssa.Call, written, escapes bool) {
	for _, u := range *f.Referrers() {
		switch u := u.(type) {
		case *ssa.Call:
			callee := u.Call.StaticCallee()
			if callee == nil {
				stops[u] = true
				continue
			}
			switch name := fullName(callee); {
			case u.Call.Args[0] == f && strings.HasPrefix(name, "(*os.File)."):
				switch strings.TrimPrefix(name, "(*os.File).") {
				case "Sync", "Fd", "SyscallConn":
					stops[u] = true
				case "Write", "WriteString", "WriteAt", "ReadFrom":
					written = true
				case "Close":
					closes = append(closes, u)
				}
			case writers[name]:
				written = true
			default:
				stops[u] = true
			}
		case *ssa.MakeInterface:
			for _, uu := range *u.Referrers() {
				call, ok := uu.(*ssa.Call)
				switch {
				case !ok:
					escapes = true
				case call.Call.StaticCallee() != nil && writers[fullName(call.Call.StaticCallee())]:
					written = true
				case writeOnly(u.Type()):
					// A function of an io.Writer (docker/cli's config
					// file, runc's state file) writes into the file but
					// has no Sync to call.
					written = true
				default:
					stops[call] = true
				}
			}
		case *ssa.Store:
			// A file captured by a closure lives in a heap cell (runc's
			// saveState, whose deferred cleanup closes the temp): the uses
			// of the cell's loads are the file's uses.
			a, ok := u.Addr.(*ssa.Alloc)
			if !ok || u.Val != f || cellOf(f) != a {
				escapes = true
				continue
			}
			cl, w, esc := cellUses(a, stops)
			closes, written, escapes = append(closes, cl...), written || w, escapes || esc
		case *ssa.Defer, *ssa.BinOp, *ssa.DebugRef:
		default:
			escapes = true
		}
	}
	return closes, written, escapes
}

// cellOf returns the heap cell a file is stored into, if it is stored
// into one cell once and the cell holds nothing else.
func cellOf(f ssa.Value) *ssa.Alloc {
	var cell *ssa.Alloc
	for _, u := range *f.Referrers() {
		if st, ok := u.(*ssa.Store); ok && st.Val == f {
			a, ok := st.Addr.(*ssa.Alloc)
			if !ok || cell != nil {
				return nil
			}
			cell = a
		}
	}
	if cell == nil {
		return nil
	}
	for _, u := range *cell.Referrers() {
		if st, ok := u.(*ssa.Store); ok && st.Val != f {
			return nil
		}
	}
	return cell
}

// cellUses classifies the uses of the file in cell a: through loads in
// its function, and through loads in the closures that capture it. A
// closure that may sync the file stops the path where it is made.
func cellUses(a *ssa.Alloc, stops map[ssa.Instruction]bool) (closes []*ssa.Call, written, escapes bool) {
	merge := func(cl []*ssa.Call, w, esc bool) {
		closes, written, escapes = append(closes, cl...), written || w, escapes || esc
	}
	for _, u := range *a.Referrers() {
		switch u := u.(type) {
		case *ssa.Store, *ssa.DebugRef:
		case *ssa.UnOp:
			if u.Op != token.MUL {
				escapes = true
				continue
			}
			merge(fileUses(u, stops))
		case *ssa.MakeClosure:
			for i, b := range u.Bindings {
				if b != a {
					continue
				}
				inner := map[ssa.Instruction]bool{}
				for _, fu := range *u.Fn.(*ssa.Function).FreeVars[i].Referrers() {
					load, ok := fu.(*ssa.UnOp)
					if !ok || load.Op != token.MUL {
						escapes = true
						continue
					}
					_, w, esc := fileUses(load, inner)
					written, escapes = written || w, escapes || esc
				}
				if len(inner) > 0 {
					stops[u] = true
				}
			}
		default:
			escapes = true
		}
	}
	return closes, written, escapes
}

// writeOnly reports whether the interface type t can write but offers no
// way to sync: it has Write and none of Sync, Fd, SyscallConn.
func writeOnly(t types.Type) bool {
	it, ok := t.Underlying().(*types.Interface)
	if !ok {
		return false
	}
	has := func(name string) bool {
		for i := range it.NumMethods() {
			if it.Method(i).Name() == name {
				return true
			}
		}
		return false
	}
	return has("Write") && !has("Sync") && !has("Fd") && !has("SyscallConn")
}

// reaches reports whether control can flow from instruction from to
// instruction to without passing through an instruction in stops. It
// follows what comparisons with nil say along a path: after a branch on
// err != nil, and through the φ-nodes that carry err on, a later branch
// on the same error goes one way only, so a failed write that returns
// before the rename does not count as a path to it.
func reaches(from, to ssa.Instruction, stops map[ssa.Instruction]bool) bool {
	b := from.Block()
	for i, instr := range b.Instrs {
		if instr == from {
			if r := scan(b.Instrs[i+1:], to, stops); r != 0 {
				return r > 0
			}
		}
	}
	s := &pathSearch{to: to, stops: stops, seen: map[string]bool{}, budget: 50 * len(b.Parent().Blocks)}
	found := s.next(b, nilFacts{})
	if s.budget < 0 {
		// Too many paths to tell apart: fall back to ignoring the
		// branches' conditions, which only ever finds more paths.
		s = &pathSearch{to: to, stops: stops, seen: map[string]bool{}, budget: -1, blind: true}
		return s.next(b, nilFacts{})
	}
	return found
}

// scan returns 1 when instrs meet to, -1 when they meet a stop, 0 otherwise.
func scan(instrs []ssa.Instruction, to ssa.Instruction, stops map[ssa.Instruction]bool) int {
	for _, instr := range instrs {
		switch {
		case instr == to:
			return 1
		case stops[instr]:
			return -1
		}
	}
	return 0
}

// nilFacts records, along one path, which values are known non-nil (true)
// or nil (false).
type nilFacts map[ssa.Value]bool

func (f nilFacts) with(v ssa.Value, nonNil bool) nilFacts {
	g := make(nilFacts, len(f)+1)
	for k, x := range f {
		g[k] = x
	}
	g[v] = nonNil
	return g
}

// key names the facts for the visited set; values are told apart by their
// SSA names, unique within a function.
func (f nilFacts) key() string {
	var parts []string
	for v, x := range f {
		parts = append(parts, fmt.Sprintf("%s=%t", v.Name(), x))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

type pathSearch struct {
	to     ssa.Instruction
	stops  map[ssa.Instruction]bool
	seen   map[string]bool // block index and facts
	budget int             // block visits left; below 0 the search gave up
	blind  bool            // ignore branch conditions
}

// next follows the successors of b, whose instructions have been scanned.
func (s *pathSearch) next(b *ssa.BasicBlock, facts nilFacts) bool {
	succs := b.Succs
	branch := []nilFacts{facts, facts}
	if v, nonNilIfTrue, ok := nilTest(b); ok && !s.blind {
		if nonNil, known := facts[v]; known {
			if nonNil == nonNilIfTrue {
				succs = succs[:1]
			} else {
				succs, branch = succs[1:], branch[1:]
			}
		} else {
			branch = []nilFacts{facts.with(v, nonNilIfTrue), facts.with(v, !nonNilIfTrue)}
		}
	}
	for i, succ := range succs {
		if s.visit(b, succ, branch[i]) {
			return true
		}
	}
	return false
}

// visit enters block b from its predecessor pred.
func (s *pathSearch) visit(pred, b *ssa.BasicBlock, facts nilFacts) bool {
	if !s.blind {
		for _, instr := range b.Instrs {
			phi, ok := instr.(*ssa.Phi)
			if !ok {
				break
			}
			if x, known := facts[phi.Edges[slices.Index(b.Preds, pred)]]; known {
				facts = facts.with(phi, x)
			}
		}
	}
	key := fmt.Sprintf("%d %s", b.Index, facts.key())
	if s.blind {
		key = fmt.Sprint(b.Index)
	}
	if s.seen[key] {
		return false
	}
	s.seen[key] = true
	if !s.blind {
		if s.budget--; s.budget < 0 {
			return false
		}
	}
	switch scan(b.Instrs, s.to, s.stops) {
	case 1:
		return true
	case -1:
		return false
	}
	return s.next(b, facts)
}

// nilTest returns the value that b's branch compares with nil, and whether
// the branch's true successor is the one where it is non-nil.
func nilTest(b *ssa.BasicBlock) (v ssa.Value, nonNilIfTrue, ok bool) {
	ifi, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If)
	if !ok {
		return nil, false, false
	}
	cmp, ok := ifi.Cond.(*ssa.BinOp)
	if !ok || cmp.Op != token.EQL && cmp.Op != token.NEQ {
		return nil, false, false
	}
	switch {
	case isNil(cmp.Y):
		v = cmp.X
	case isNil(cmp.X):
		v = cmp.Y
	default:
		return nil, false, false
	}
	return v, cmp.Op == token.NEQ, true
}

func isNil(v ssa.Value) bool {
	c, ok := v.(*ssa.Const)
	return ok && c.Value == nil
}

// syncFix inserts "if err := f.Sync(); err != nil { f.Close(); return err }"
// before the statement that closes f, when the function returns just an
// error.
func (c *checker) syncFix(fn *ssa.Function, closeCall *ssa.Call) []analysis.SuggestedFix {
	res := fn.Signature.Results()
	if res.Len() != 1 || !types.Identical(res.At(0).Type(), types.Universe.Lookup("error").Type()) {
		return nil
	}
	call := c.calls[closeCall.Pos()]
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	path, _ := astutil.PathEnclosingInterval(c.fileOf(call.Pos()), call.Pos(), call.End())
	var stmt ast.Stmt
	for i, n := range path {
		if _, ok := n.(*ast.BlockStmt); ok && i > 0 {
			stmt, _ = path[i-1].(ast.Stmt)
			break
		}
	}
	if stmt == nil {
		return nil
	}
	indent := strings.Repeat("\t", c.pass.Fset.Position(stmt.Pos()).Column-1)
	f := render(c.pass.Fset, sel.X)
	text := fmt.Sprintf("if err := %s.Sync(); err != nil {\n%s\t%s.Close()\n%s\treturn err\n%s}\n%s", f, indent, f, indent, indent, indent)
	return []analysis.SuggestedFix{{
		Message:   "Sync the file before closing it",
		TextEdits: []analysis.TextEdit{{Pos: stmt.Pos(), End: stmt.Pos(), NewText: []byte(text)}},
	}}
}
