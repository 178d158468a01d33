package filerace

import (
	"fmt"
	"go/ast"
	"go/types"
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
	stops := map[ssa.Instruction]bool{}
	var closeCall *ssa.Call
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
		closeCall, written, escapes = fileUses(op.file, stops)
		if !written || escapes {
			return
		}
	default:
		return
	}
	if !reaches(op.call, r.call, stops) {
		return
	}
	file := "the file"
	if op.path != nil {
		file = render(c.pass.Fset, c.argExpr(op.call, op.pathArg))
	}
	if op.name == "os.CreateTemp" || op.name == "io/ioutil.TempFile" {
		file = "the temp file"
	}
	how := "with no Sync on some path between the write and the rename"
	if op.file == nil {
		how = "but " + op.name + " never syncs"
	}
	rename := c.calls[r.call.Pos()]
	d := analysis.Diagnostic{
		Pos:      rename.Pos(),
		End:      rename.End(),
		Category: RenameWithoutSync,
		Message: fmt.Sprintf("rename-without-sync: %s (written at line %d) is renamed over %s %s: "+
			"after a crash the rename can be on disk before the data, leaving the target empty or partial; "+
			"call Sync on the file before closing it, or use atomicfile.WriteFile",
			file, c.pass.Fset.Position(op.call.Pos()).Line, render(c.pass.Fset, c.argExpr(r.call, r.dstArg)), how),
	}
	if closeCall != nil {
		d.SuggestedFixes = c.syncFix(op.fn, closeCall)
	}
	c.report(d)
}

// fileUses classifies the uses of the *os.File f: the instructions that may
// sync it go into stops; written reports a write; escapes reports a use we
// cannot follow (stored, returned, converted and kept).
func fileUses(f ssa.Value, stops map[ssa.Instruction]bool) (closeCall *ssa.Call, written, escapes bool) {
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
					if closeCall == nil {
						closeCall = u
					}
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
				default:
					stops[call] = true
				}
			}
		case *ssa.Defer, *ssa.BinOp, *ssa.DebugRef:
		default:
			escapes = true
		}
	}
	return closeCall, written, escapes
}

// reaches reports whether control can flow from instruction from to
// instruction to without passing through an instruction in stops.
func reaches(from, to ssa.Instruction, stops map[ssa.Instruction]bool) bool {
	// scan returns 1 when it meets to, -1 when it meets a stop, 0 otherwise.
	scan := func(instrs []ssa.Instruction) int {
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
	b := from.Block()
	for i, instr := range b.Instrs {
		if instr == from {
			if r := scan(b.Instrs[i+1:]); r != 0 {
				return r > 0
			}
		}
	}
	seen := map[*ssa.BasicBlock]bool{}
	var search func(blocks []*ssa.BasicBlock) bool
	search = func(blocks []*ssa.BasicBlock) bool {
		for _, b := range blocks {
			if seen[b] {
				continue
			}
			seen[b] = true
			switch scan(b.Instrs) {
			case 1:
				return true
			case -1:
				continue
			}
			if search(b.Succs) {
				return true
			}
		}
		return false
	}
	return search(b.Succs)
}

// syncFix inserts "if err := f.Sync(); err != nil { return err }" before
// the statement that closes f, when the function returns just an error.
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
	text := fmt.Sprintf("if err := %s.Sync(); err != nil {\n%s\treturn err\n%s}\n%s", render(c.pass.Fset, sel.X), indent, indent, indent)
	return []analysis.SuggestedFix{{
		Message:   "Sync the file before closing it",
		TextEdits: []analysis.TextEdit{{Pos: stmt.Pos(), End: stmt.Pos(), NewText: []byte(text)}},
	}}
}
