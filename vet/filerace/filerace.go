package filerace

import (
	_ "embed"
	"fmt"
	"go/ast"
	"go/constant"
	"go/printer"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/ssa"
)

//go:embed doc.go
var doc string

// Analyzer reports file-write races and replaces that are not crash-safe.
var Analyzer = &analysis.Analyzer{
	Name:      "filerace",
	Doc:       analysisDoc(doc),
	URL:       "https://pkg.go.dev/github.com/heisen-dev/heisen/vet/filerace",
	Run:       run,
	Requires:  []*analysis.Analyzer{buildssa.Analyzer, inspect.Analyzer},
	FactTypes: []analysis.Fact{new(nameFact), new(wrapperFact)},
}

// The diagnostic categories; each is also the word a //heisen:ignore names.
const (
	PredictableTemp   = "predictable-temp"
	RenameWithoutSync = "rename-without-sync"
	CrossDeviceTemp   = "cross-device-temp"
	InplaceTruncate   = "inplace-truncate"
	BadIgnore         = "ignore"
)

// Categories lists the categories a //heisen:ignore comment may name.
var Categories = []string{PredictableTemp, RenameWithoutSync, CrossDeviceTemp, InplaceTruncate}

// analysisDoc returns the "# Analyzer filerace" section of the package
// comment in doc.go without comment markers and without the "filerace: "
// that starts its summary line, as x/tools analyzers do.
func analysisDoc(src string) string {
	_, section, _ := strings.Cut(src, "// # Analyzer filerace\n")
	section, _, _ = strings.Cut(section, "\npackage ")
	var lines []string
	for _, l := range strings.Split(section, "\n") {
		lines = append(lines, strings.TrimPrefix(strings.TrimPrefix(l, "//"), " "))
	}
	return strings.TrimPrefix(strings.TrimSpace(strings.Join(lines, "\n")), "filerace: ")
}

func run(pass *analysis.Pass) (any, error) {
	ssainput := pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA)
	c := &checker{
		pass:     pass,
		tracer:   &tracer{pass: pass, funcs: append(slices.Clip(ssainput.SrcFuncs), ssainput.Pkg.Func("init")), summaries: map[*ssa.Function]*origin{}},
		calls:    map[token.Pos]*ast.CallExpr{},
		wrappers: map[*ssa.Function]*wrapperFact{},
	}
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	for n := range ins.PreorderSeq((*ast.CallExpr)(nil)) {
		call := n.(*ast.CallExpr)
		c.calls[call.Lparen] = call
	}
	c.ignores = parseIgnores(pass)

	for _, fn := range ssainput.SrcFuncs {
		if fn.Parent() != nil || fn.Object() == nil || !returnsString(fn) {
			continue
		}
		// No fact means opaque, so an opaque summary needs none.
		if s := c.tracer.summary(fn); s.kinds&^kOpaque != 0 || s.params != 0 {
			pass.ExportObjectFact(fn.Object(), &nameFact{Kinds: uint16(s.kinds), Params: s.params})
		}
	}
	for _, fn := range ssainput.SrcFuncs {
		if fn.Parent() == nil && fn.Object() != nil {
			if w := c.wrapperOf(fn); w != nil {
				pass.ExportObjectFact(fn.Object(), w)
			}
		}
	}
	var ops, renames []fileOp
	for _, fn := range ssainput.SrcFuncs {
		o, r := c.fileOps(fn)
		ops, renames = append(ops, o...), append(renames, r...)
	}
	for _, op := range ops {
		c.checkCreate(op, renames)
	}
	c.checkInplace(ops, renames)
	return nil, nil
}

func returnsString(fn *ssa.Function) bool {
	res := fn.Signature.Results()
	for i := range res.Len() {
		if isStringish(res.At(i).Type()) {
			return true
		}
	}
	return false
}

type checker struct {
	pass     *analysis.Pass
	tracer   *tracer
	calls    map[token.Pos]*ast.CallExpr // by Lparen, which is what an ssa.Call's Pos is
	ignores  *ignores
	wrappers map[*ssa.Function]*wrapperFact // of the package's functions; nil: none, or being computed
}

// A wrapperFact records that a function creates or renames files named by
// its parameters, so that its callers' creates and renames are seen
// through it: a helper that opens a temp file, or renames one into place.
// Parameters are numbered from 1, with the receiver first; 0 means none.
type wrapperFact struct {
	Create               int // creates this parameter's file without O_EXCL and returns it first
	Write                int // writes this parameter's file whole, like os.WriteFile, and never syncs
	RenameSrc, RenameDst int // renames the first parameter's file to the second's
}

func (*wrapperFact) AFact() {}

func (w *wrapperFact) String() string {
	return fmt.Sprintf("wrapper(create %d, write %d, rename %d to %d)", w.Create, w.Write, w.RenameSrc, w.RenameDst)
}

// wrapperOf returns what fn does with files named by its parameters, or nil.
func (c *checker) wrapperOf(fn *ssa.Function) *wrapperFact {
	if fn.Pkg == nil || fn.Pkg.Pkg != c.pass.Pkg || fn.Blocks == nil {
		w := new(wrapperFact)
		if obj := fn.Object(); obj == nil || !c.pass.ImportObjectFact(obj, w) {
			return nil
		}
		return w
	}
	if w, ok := c.wrappers[fn]; ok {
		return w
	}
	c.wrappers[fn] = nil
	param := func(v ssa.Value) int {
		if p, ok := v.(*ssa.Parameter); ok {
			return slices.Index(fn.Params, p) + 1
		}
		return 0
	}
	var w wrapperFact
	ops, renames := c.fileOps(fn)
	for _, r := range renames {
		if src, dst := param(r.path), param(r.dst); src > 0 && dst > 0 {
			w.RenameSrc, w.RenameDst = src, dst
		}
	}
	for _, op := range ops {
		creates, excl := op.creates(c)
		p := param(op.path)
		switch {
		case !creates || excl || p == 0:
		case op.file != nil && returnsFirst(fn, op.file):
			w.Create = p
		case op.writesWhole() && !syncs(fn):
			w.Write = p
		}
	}
	if w == (wrapperFact{}) {
		return nil
	}
	c.wrappers[fn] = &w
	return &w
}

// returnsFirst reports whether fn returns v as its first result.
func returnsFirst(fn *ssa.Function, v ssa.Value) bool {
	for _, b := range fn.Blocks {
		if ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok && len(ret.Results) > 0 && ret.Results[0] == v {
			return true
		}
	}
	return false
}

// A fileOp is a call that opens, creates, reads or renames a file by name:
// of the os package, or of a wrapper that passes its parameters to one.
type fileOp struct {
	call    *ssa.Call
	name    string    // the callee's full name, e.g. "os.WriteFile"
	wrapper bool      // the callee is a wrapper (see wrapperFact), not os
	path    ssa.Value // the name passed (a rename's source), nil for os.CreateTemp
	pathArg int       // path's index in the call's SSA arguments
	dst     ssa.Value // a rename's destination
	dstArg  int
	file    ssa.Value // the *os.File it returns, if any
	fn      *ssa.Function
}

// argExpr returns the source expression of the i'th SSA argument of call,
// whose receiver, for a static method call, is argument 0.
func (c *checker) argExpr(call *ssa.Call, i int) ast.Expr {
	ce := c.calls[call.Pos()]
	if fn := call.Call.StaticCallee(); fn != nil && fn.Signature.Recv() != nil {
		if i == 0 {
			if sel, ok := ce.Fun.(*ast.SelectorExpr); ok {
				return sel.X
			}
			return ce.Fun
		}
		i--
	}
	return ce.Args[i]
}

// writesWhole reports whether op writes a whole file and closes it, like
// os.WriteFile, without handing the file to its caller.
func (op fileOp) writesWhole() bool {
	return op.name == "os.WriteFile" || op.name == "io/ioutil.WriteFile" || op.wrapper && op.file == nil
}

func (op fileOp) reads() bool {
	switch op.name {
	case "os.ReadFile", "io/ioutil.ReadFile", "os.Open":
		return true
	}
	return false
}

func (op fileOp) truncates(c *checker) bool {
	if op.wrapper {
		return op.writesWhole()
	}
	switch op.name {
	case "os.WriteFile", "io/ioutil.WriteFile", "os.Create":
		return true
	case "os.OpenFile":
		return c.hasFlag(op, "O_TRUNC")
	}
	return false
}

// creates reports whether op may create a file, and whether it insists on
// creating it (O_EXCL). Flags it cannot read count as exclusive, to stay quiet.
func (op fileOp) creates(c *checker) (creates, excl bool) {
	if op.wrapper {
		return true, false // wrapperFact records only creates without O_EXCL
	}
	switch op.name {
	case "os.WriteFile", "io/ioutil.WriteFile", "os.Create":
		return true, false
	case "os.OpenFile":
		if _, ok := op.call.Call.Args[1].(*ssa.Const); !ok {
			return true, true
		}
		return c.hasFlag(op, "O_CREATE"), c.hasFlag(op, "O_EXCL")
	case "os.CreateTemp", "io/ioutil.TempFile":
		return true, true
	}
	return false, false
}

// hasFlag reports whether the constant flags of an os.OpenFile call include
// os.<flag>, as defined for the platform the package is built for.
func (c *checker) hasFlag(op fileOp, flag string) bool {
	k, ok := op.call.Call.Args[1].(*ssa.Const)
	if !ok {
		return false
	}
	obj, ok := op.call.Call.StaticCallee().Pkg.Pkg.Scope().Lookup(flag).(*types.Const)
	if !ok {
		return false
	}
	want, _ := constant.Int64Val(obj.Val())
	got, _ := constant.Int64Val(k.Value)
	return got&want == want
}

func (c *checker) fileOps(fn *ssa.Function) (ops, renames []fileOp) {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			call, ok := instr.(*ssa.Call)
			if !ok {
				continue
			}
			callee := call.Call.StaticCallee()
			if callee == nil {
				continue
			}
			op := fileOp{call: call, name: fullName(callee), fn: fn}
			switch op.name {
			case "os.Rename":
				op.path, op.dst, op.dstArg = call.Call.Args[0], call.Call.Args[1], 1
				renames = append(renames, op)
				continue
			case "os.Create", "os.OpenFile", "os.Open":
				op.path, op.file = call.Call.Args[0], extract(call, 0)
			case "os.CreateTemp", "io/ioutil.TempFile":
				op.file = extract(call, 0)
			case "os.WriteFile", "io/ioutil.WriteFile", "os.ReadFile", "io/ioutil.ReadFile":
				op.path = call.Call.Args[0]
			default:
				w := c.wrapperOf(callee)
				if w == nil {
					continue
				}
				op.wrapper = true
				args := call.Call.Args
				if w.RenameSrc > 0 && w.RenameDst > 0 && w.RenameSrc <= len(args) && w.RenameDst <= len(args) {
					r := op
					r.path, r.pathArg, r.dst, r.dstArg = args[w.RenameSrc-1], w.RenameSrc-1, args[w.RenameDst-1], w.RenameDst-1
					renames = append(renames, r)
				}
				switch {
				case w.Create > 0 && w.Create <= len(args):
					op.path, op.pathArg = args[w.Create-1], w.Create-1
					if op.file = extract(call, 0); op.file == nil && call.Call.Signature().Results().Len() == 1 {
						op.file = call
					}
				case w.Write > 0 && w.Write <= len(args):
					op.path, op.pathArg = args[w.Write-1], w.Write-1
				default:
					continue
				}
			}
			ops = append(ops, op)
		}
	}
	return ops, renames
}

// extract returns the i'th result of a call returning a tuple, or nil.
func extract(call *ssa.Call, i int) ssa.Value {
	for _, r := range *call.Referrers() {
		if e, ok := r.(*ssa.Extract); ok && e.Index == i {
			return e
		}
	}
	return nil
}

// renamedBy returns the rename whose source is the file op created: in the
// same function the same value or the file's Name(), renamed after the
// create; elsewhere in the package the same constant, package variable or
// field.
func (c *checker) renamedBy(op fileOp, renames []fileOp) *fileOp {
	var other *fileOp
	for i, r := range renames {
		if r.fn == op.fn {
			// Renaming a file out of the way before creating it anew (log
			// rotation) is not renaming the file created.
			if (op.path != nil && c.sameValue(op.path, r.path, 0) || op.file != nil && isNameOf(r.path, op.file)) && reaches(op.call, r.call, nil) {
				return &renames[i]
			}
		} else if other == nil && op.path != nil {
			if k := c.pathKey(op.path); k != "" && k == c.pathKey(r.path) {
				other = &renames[i]
			}
		}
	}
	return other
}

// isNameOf reports whether v is f.Name().
func isNameOf(v, f ssa.Value) bool {
	call, ok := v.(*ssa.Call)
	if !ok {
		return false
	}
	callee := call.Call.StaticCallee()
	return callee != nil && fullName(callee) == "(*os.File).Name" && call.Call.Args[0] == f
}

func (c *checker) checkCreate(op fileOp, renames []fileOp) {
	creates, excl := op.creates(c)
	if !creates {
		return
	}
	r := c.renamedBy(op, renames)
	if r != nil {
		c.checkCrossDevice(op, *r)
		if r.fn == op.fn {
			c.checkSync(op, *r)
		}
	}
	if op.path == nil || excl {
		return
	}
	// Unless it is renamed, a predictable name is reported only in the
	// system temp directory, which every program shares, and not in tests,
	// which make their scratch directories so.
	if k := c.tracer.of(op.path); k.predictable() && (r != nil || k&kTempDir != 0 && !c.inTest(op.call.Pos())) {
		c.reportPredictable(op, r, k)
	}
}

func (c *checker) reportPredictable(op fileOp, r *fileOp, k kind) {
	call := c.calls[op.call.Pos()]
	noun, what, harm, shared := "file", "is created", "so two writers open the same file and interleave their writes", ""
	fix := "open it with O_EXCL, or in a directory only this user can write"
	if k&kTempDir != 0 {
		what = "is created in the shared temp directory"
		shared = "; there another user can also create it first, or plant a symlink to a file of yours (glog's CVE-2024-45339)"
	}
	if r != nil {
		what = fmt.Sprintf("is created and then renamed over %s", render(c.pass.Fset, c.argExpr(r.call, r.dstArg)))
		noun, harm = "temp file", "so two writers open the same temp file, truncate and interleave their writes, and the rename publishes a spliced file"
		fix = "use atomicfile.WriteFile, or os.CreateTemp in the target's directory"
	}
	d := analysis.Diagnostic{
		Pos:      call.Pos(),
		End:      call.End(),
		Category: PredictableTemp,
		Message: fmt.Sprintf("predictable-temp: %s %s %s without O_EXCL; its name is %s, %s%s; %s",
			noun, render(c.pass.Fset, c.argExpr(op.call, op.pathArg)), what, k.why(), harm, shared, fix),
	}
	if k.varies() {
		d.SuggestedFixes = c.exclFix(op, call)
	}
	c.report(d)
}

// exclFix opens the predictable name with O_EXCL, so that a second writer
// fails with EEXIST instead of trampling the first. Offered only for names
// that change between calls: a fixed name left behind by a crash would make
// every later O_EXCL create fail.
func (c *checker) exclFix(op fileOp, call *ast.CallExpr) []analysis.SuggestedFix {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	os := render(c.pass.Fset, sel.X)
	var edits []analysis.TextEdit
	switch op.name {
	case "os.Create":
		edits = []analysis.TextEdit{
			{Pos: sel.Sel.Pos(), End: sel.Sel.End(), NewText: []byte("OpenFile")},
			{Pos: call.Args[0].End(), End: call.Args[0].End(),
				NewText: fmt.Appendf(nil, ", %[1]s.O_RDWR|%[1]s.O_CREATE|%[1]s.O_EXCL, 0o666", os)},
		}
	case "os.OpenFile":
		edits = []analysis.TextEdit{{Pos: call.Args[1].End(), End: call.Args[1].End(), NewText: fmt.Appendf(nil, "|%s.O_EXCL", os)}}
	default:
		return nil
	}
	return []analysis.SuggestedFix{{Message: "Open with O_EXCL so a second writer fails instead of trampling the first", TextEdits: edits}}
}

func (c *checker) checkCrossDevice(op fileOp, r fileOp) {
	var src kind
	if op.path != nil {
		src = c.tracer.of(op.path)
	} else {
		src = c.tracer.of(op.call)
	}
	if src&kTempDir == 0 || c.tracer.of(r.dst)&kTempDir != 0 {
		return
	}
	call := c.calls[op.call.Pos()]
	dst := c.argExpr(r.call, r.dstArg)
	d := analysis.Diagnostic{
		Pos:      call.Pos(),
		End:      call.End(),
		Category: CrossDeviceTemp,
		Message: fmt.Sprintf("cross-device-temp: the temp file is made in the system temp directory and renamed to %s at %s; "+
			"when they are on different file systems (a tmpfs /tmp, a container volume) the rename fails with EXDEV; "+
			"create the temp file in the target's directory: os.CreateTemp(filepath.Dir(%[1]s), …)",
			render(c.pass.Fset, dst), c.where(r.call.Pos())),
	}
	d.SuggestedFixes = c.dirFix(op, call, r.dst)
	c.report(d)
}

// dirFix makes the temp file in filepath.Dir(dst) when dst can be written at
// the create: a parameter or a constant.
func (c *checker) dirFix(op fileOp, call *ast.CallExpr, dst ssa.Value) []analysis.SuggestedFix {
	var dstText string
	switch d := dst.(type) {
	case *ssa.Parameter:
		dstText = d.Name()
	case *ssa.Const:
		dstText = d.Value.ExactString()
	default:
		return nil
	}
	// The expression to replace: CreateTemp's dir argument, or an
	// os.TempDir() call inside the name.
	var target ast.Expr
	if op.path == nil {
		target = call.Args[0]
	} else {
		ast.Inspect(c.argExpr(op.call, op.pathArg), func(n ast.Node) bool {
			if ce, ok := n.(*ast.CallExpr); ok && target == nil {
				if sel, ok := ce.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "TempDir" {
					target = ce
				}
			}
			return target == nil
		})
	}
	if target == nil {
		return nil
	}
	file := c.fileOf(call.Pos())
	filepathName, edits := importName(c.pass.Fset, file, "path/filepath")
	edits = append(edits, analysis.TextEdit{Pos: target.Pos(), End: target.End(), NewText: fmt.Appendf(nil, "%s.Dir(%s)", filepathName, dstText)})
	return []analysis.SuggestedFix{{Message: "Create the temp file in the target's directory", TextEdits: edits}}
}

func (c *checker) fileOf(pos token.Pos) *ast.File {
	for _, f := range c.pass.Files {
		if f.FileStart <= pos && pos <= f.FileEnd {
			return f
		}
	}
	return nil
}

// importName returns the name under which file imports path, and an edit
// adding the import when it does not.
func importName(fset *token.FileSet, file *ast.File, path string) (string, []analysis.TextEdit) {
	base := path[strings.LastIndex(path, "/")+1:]
	for _, imp := range file.Imports {
		if imp.Path.Value == `"`+path+`"` {
			if imp.Name != nil {
				return imp.Name.Name, nil
			}
			return base, nil
		}
	}
	for _, decl := range file.Decls {
		if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.IMPORT && gd.Lparen.IsValid() {
			return base, []analysis.TextEdit{{Pos: gd.Lparen + 1, End: gd.Lparen + 1, NewText: []byte("\n\t\"" + path + "\"")}}
		}
	}
	return base, []analysis.TextEdit{{Pos: file.Name.End(), End: file.Name.End(), NewText: []byte("\n\nimport \"" + path + "\"")}}
}

func (c *checker) checkInplace(ops, renames []fileOp) {
	var reads []fileOp
	for _, op := range ops {
		if op.reads() && !c.inTest(op.call.Pos()) {
			reads = append(reads, op)
		}
	}
	for _, w := range ops {
		if !w.truncates(c) || c.inTest(w.call.Pos()) {
			continue
		}
		if c.renamedBy(w, renames) != nil {
			continue // a temp file: the other diagnostics cover it
		}
		for _, r := range reads {
			same := r.fn == w.fn && c.sameValue(r.path, w.path, 0)
			if !same {
				kw := c.pathKeys(w)
				for _, k := range c.pathKeys(r) {
					same = same || slices.Contains(kw, k)
				}
			}
			if !same {
				continue
			}
			call := c.calls[w.call.Pos()]
			c.report(analysis.Diagnostic{
				Pos:      call.Pos(),
				End:      call.End(),
				Category: InplaceTruncate,
				Message: fmt.Sprintf("inplace-truncate: %s truncates %s in place, and this package also reads it (%s): "+
					"a reader between the truncate and the last write sees it empty or partial, and a crash leaves it so; "+
					"write a temp file in the same directory and rename it over (atomicfile.WriteFile)",
					w.name, render(c.pass.Fset, c.argExpr(w.call, w.pathArg)), c.where(r.call.Pos())),
			})
			break
		}
	}
}

// where names a position briefly for a message: file base name and line.
func (c *checker) where(pos token.Pos) string {
	p := c.pass.Fset.Position(pos)
	return fmt.Sprintf("%s:%d", filepath.Base(p.Filename), p.Line)
}

func (c *checker) inTest(pos token.Pos) bool {
	return strings.HasSuffix(c.pass.Fset.Position(pos).Filename, "_test.go")
}

// pathKeys names the path of op for matching across functions: its
// pathKey, and the fields its function stores the same path into
// (NewHistory(path) reads path and keeps it in h.path, which a method writes).
func (c *checker) pathKeys(op fileOp) []string {
	var keys []string
	if k := c.pathKey(op.path); k != "" {
		keys = append(keys, k)
	}
	for _, b := range op.fn.Blocks {
		for _, instr := range b.Instrs {
			if s, ok := instr.(*ssa.Store); ok {
				if fa, ok := s.Addr.(*ssa.FieldAddr); ok && c.sameValue(s.Val, op.path, 0) {
					if k := c.pathField(fa.X.Type(), fa.Field); k != "" {
						keys = append(keys, k)
					}
				}
			}
		}
	}
	return keys
}

// pathKey names a path value so that reads and writes in different
// functions can be matched: a constant, a package variable, a struct field,
// or a pure call of those. It returns "" for anything else.
func (c *checker) pathKey(v ssa.Value) string {
	switch v := v.(type) {
	case *ssa.Const:
		if v.Value != nil && v.Value.Kind() == constant.String {
			return "const " + v.Value.ExactString()
		}
	case *ssa.UnOp:
		if v.Op != token.MUL {
			return ""
		}
		switch x := v.X.(type) {
		case *ssa.Global:
			return "global " + x.RelString(nil)
		case *ssa.FieldAddr:
			return c.pathField(x.X.Type(), x.Field)
		}
	case *ssa.Field:
		return c.pathField(v.X.Type(), v.Field)
	case *ssa.Call:
		fn := v.Call.StaticCallee()
		if fn == nil || !c.pure(fn) {
			return ""
		}
		keys := make([]string, len(v.Call.Args))
		for i, a := range v.Call.Args {
			if keys[i] = c.pathKey(a); keys[i] == "" {
				return ""
			}
		}
		return fullName(fn) + "(" + strings.Join(keys, ",") + ")"
	}
	return ""
}

// pathField returns the fieldKey of a field for matching paths across
// functions, if the package sets the field in at most one place: a field
// set in many places (cmd/go's Action.Target) holds many different files.
func (c *checker) pathField(t types.Type, i int) string {
	k := fieldKey(t, i)
	if len(c.tracer.fieldStores(k)) > 1 {
		return ""
	}
	return k
}

// fieldKey names field i of struct type t (or *t).
func fieldKey(t types.Type, i int) string {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	s, ok := t.Underlying().(*types.Struct)
	if !ok {
		return ""
	}
	return fmt.Sprintf("field %s.%s", t, s.Field(i).Name())
}

// pure reports whether fn returns the same string for the same arguments.
func (c *checker) pure(fn *ssa.Function) bool {
	switch pkgPath(fn) {
	case "path", "path/filepath", "strings", "strconv", "fmt":
		return true
	}
	var s origin
	if fn.Pkg != nil && fn.Pkg.Pkg == c.pass.Pkg && fn.Blocks != nil {
		s = c.tracer.summary(fn)
	} else if f := new(nameFact); fn.Object() != nil && c.pass.ImportObjectFact(fn.Object(), f) {
		s.kinds = kind(f.Kinds)
	} else {
		return false
	}
	return s.kinds&^(kConst|kInput) == 0
}

// sameValue reports whether a and b compute the same string: the same SSA
// value, or the same pure expression computed twice.
func (c *checker) sameValue(a, b ssa.Value, depth int) bool {
	if a == b {
		return true
	}
	if depth > 8 || a == nil || b == nil {
		return false
	}
	depth++
	switch a := a.(type) {
	case *ssa.Const:
		b, ok := b.(*ssa.Const)
		return ok && a.Value != nil && b.Value != nil && constant.Compare(a.Value, token.EQL, b.Value)
	case *ssa.BinOp:
		b, ok := b.(*ssa.BinOp)
		return ok && a.Op == b.Op && c.sameValue(a.X, b.X, depth) && c.sameValue(a.Y, b.Y, depth)
	case *ssa.UnOp:
		b, ok := b.(*ssa.UnOp)
		if !ok || a.Op != token.MUL || b.Op != token.MUL {
			return false
		}
		switch x := a.X.(type) {
		case *ssa.Global, *ssa.Alloc:
			// A package variable, or a local captured by a closure.
			return x == b.X
		}
		fa, ok1 := a.X.(*ssa.FieldAddr)
		fb, ok2 := b.X.(*ssa.FieldAddr)
		return ok1 && ok2 && fa.Field == fb.Field && c.sameValue(fa.X, fb.X, depth)
	case *ssa.Field:
		b, ok := b.(*ssa.Field)
		return ok && a.Field == b.Field && c.sameValue(a.X, b.X, depth)
	case *ssa.MakeInterface:
		b, ok := b.(*ssa.MakeInterface)
		return ok && c.sameValue(a.X, b.X, depth)
	case *ssa.Convert:
		b, ok := b.(*ssa.Convert)
		return ok && c.sameValue(a.X, b.X, depth)
	case *ssa.Slice:
		b, ok := b.(*ssa.Slice)
		if !ok {
			return false
		}
		aa, ok1 := a.X.(*ssa.Alloc)
		ab, ok2 := b.X.(*ssa.Alloc)
		if ok1 && ok2 {
			ea, eb := elems(aa), elems(ab)
			if len(ea) != len(eb) {
				return false
			}
			for i := range ea {
				if !c.sameValue(ea[i], eb[i], depth) {
					return false
				}
			}
			return true
		}
		return c.sameValue(a.X, b.X, depth) && c.sameValue(a.Low, b.Low, depth) && c.sameValue(a.High, b.High, depth)
	case *ssa.Call:
		b, ok := b.(*ssa.Call)
		if !ok {
			return false
		}
		fa, fb := a.Call.StaticCallee(), b.Call.StaticCallee()
		if fa == nil || fa != fb || !c.pure(fa) || len(a.Call.Args) != len(b.Call.Args) {
			return false
		}
		for i := range a.Call.Args {
			if !c.sameValue(a.Call.Args[i], b.Call.Args[i], depth) {
				return false
			}
		}
		return true
	}
	return false
}

// elems returns the values stored into the backing array of a variadic
// call, in index order.
func elems(a *ssa.Alloc) []ssa.Value {
	var vs []ssa.Value
	for _, r := range *a.Referrers() {
		ia, ok := r.(*ssa.IndexAddr)
		if !ok {
			continue
		}
		for _, rr := range *ia.Referrers() {
			if s, ok := rr.(*ssa.Store); ok {
				vs = append(vs, s.Val)
			}
		}
	}
	return vs
}

// render prints an expression as it appears in the source.
func render(fset *token.FileSet, n ast.Node) string {
	var sb strings.Builder
	if err := printer.Fprint(&sb, fset, n); err != nil {
		return "?"
	}
	return sb.String()
}
