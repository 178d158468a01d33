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
	"runtime"
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
	Run:       guarded(run),
	Requires:  []*analysis.Analyzer{buildssa.Analyzer, inspect.Analyzer},
	FactTypes: []analysis.Fact{new(nameFact), new(wrapperFact), new(lockFact)},
}

// The diagnostic categories; each is also the word a //heisen:ignore names.
const (
	PredictableTemp = "predictable-temp"
	UnsyncedRename  = "unsynced-rename"
	CrossDeviceTemp = "cross-device-temp"
	InPlaceRewrite  = "in-place-rewrite"
	BadIgnore       = "ignore"
	InternalError   = "internal-error" // the analyzer failed on a package: a bug in filerace
)

// Kinds lists the kinds of finding a //heisen:ignore comment may name
// (each diagnostic's analysis.Diagnostic.Category is its kind).
var Kinds = []string{PredictableTemp, UnsyncedRename, CrossDeviceTemp, InPlaceRewrite}

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

// guarded turns a panic in run into a diagnostic of category
// internal-error that names the package and where the panic happened, so
// that a bug in the analyzer costs the findings of one package, said so,
// and never the whole run: the packages that import this one are still
// analysed, without what this one would have told them.
func guarded(run func(*analysis.Pass) (any, error)) func(*analysis.Pass) (any, error) {
	return func(pass *analysis.Pass) (result any, err error) {
		defer func() {
			if r := recover(); r != nil {
				var pos token.Pos
				if len(pass.Files) > 0 {
					pos = pass.Files[0].Package
				}
				pass.Report(analysis.Diagnostic{Pos: pos, Category: InternalError,
					Message: fmt.Sprintf("internal-error: filerace stopped on package %s: %v (%s); its findings are missing; please report this with the code it stopped at",
						pass.Pkg.Path(), r, panicSite())})
				result, err = nil, nil
			}
		}()
		return run(pass)
	}
}

// panicSite names the functions from where a recovered panic happened
// out to the first one of this package, for a bug report.
func panicSite() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	var site []string
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			site = append(site, fmt.Sprintf("%s at %s:%d", f.Function, filepath.Base(f.File), f.Line))
			if strings.Contains(f.Function, "/vet/filerace.") {
				break
			}
		}
		if !more {
			break
		}
	}
	return "in " + strings.Join(site, ", called from ")
}

func run(pass *analysis.Pass) (any, error) {
	ssainput := pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA)
	c := &checker{
		pass:     pass,
		tracer:   &tracer{pass: pass, funcs: append(slices.Clip(ssainput.SrcFuncs), ssainput.Pkg.Func("init")), summaries: map[*ssa.Function]*origin{}},
		calls:    map[token.Pos]*ast.CallExpr{},
		wrappers: map[*ssa.Function]*wrapperFact{},
		locks:    map[*ssa.Function]int{},
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
			if e := c.lockEffect(fn); e != 0 {
				pass.ExportObjectFact(fn.Object(), &lockFact{Effect: e})
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
	callers  map[*ssa.Function][]*ssa.Call  // the package's static calls, by callee; built on first use
	locks    map[*ssa.Function]int          // the package's functions' lockEffect
}

// A wrapperFact records that a function creates or renames files named by
// its parameters, so that its callers' creates and renames are seen
// through it: a helper that opens a temp file, or renames one into place.
// Parameters are numbered from 1, with the receiver first; 0 means none.
type wrapperFact struct {
	Create               int // creates this parameter's file without O_EXCL and returns it first
	Write                int // writes this parameter's file whole, like os.WriteFile, and never syncs
	RenameSrc, RenameDst int // renames the first parameter's file to the second's
	Temp                 int // returns as this result (from 1) the name of a file it wrote, closed and never synced
}

func (*wrapperFact) AFact() {}

func (w *wrapperFact) String() string {
	if w.Temp > 0 {
		return fmt.Sprintf("wrapper(create %d, write %d, rename %d to %d, unsynced temp %d)", w.Create, w.Write, w.RenameSrc, w.RenameDst, w.Temp)
	}
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
		if src, dst := param(unwrap(r.path)), param(unwrap(r.dst)); src > 0 && dst > 0 && src != dst {
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
	w.Temp = unsyncedTemp(fn, ops)
	if w == (wrapperFact{}) {
		return nil
	}
	c.wrappers[fn] = &w
	return &w
}

// unwrap returns the argument of a helper of one string argument that v
// calls, as restic's fs.Rename passes both names through fixpath; else v.
func unwrap(v ssa.Value) ssa.Value {
	if call, ok := v.(*ssa.Call); ok && call.Call.StaticCallee() != nil && len(call.Call.Args) == 1 && isStringish(call.Type()) {
		return call.Call.Args[0]
	}
	return v
}

// unsyncedTemp returns the result (from 1) through which fn returns the
// name of a file it created, wrote and never synced (go-ethereum's
// writeTemporaryKeyFile), or 0.
func unsyncedTemp(fn *ssa.Function, ops []fileOp) int {
	if syncs(fn) {
		return 0
	}
	for _, op := range ops {
		if op.file == nil || op.wrapper {
			continue
		}
		stops := map[ssa.Instruction]bool{}
		if _, written, escapes := fileUses(op.file, stops); !written || escapes || len(stops) > 0 {
			continue
		}
		for _, b := range fn.Blocks {
			if ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok {
				for i, v := range ret.Results {
					if isNameOf(v, op.file) {
						return i + 1
					}
				}
			}
		}
	}
	return 0
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
	result  bool      // path is a result of the call, not an argument
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
// os.<flag> (or syscall.<flag>, for flags os does not name), as defined for
// the platform the package is built for.
func (c *checker) hasFlag(op fileOp, flag string) bool {
	k, ok := op.call.Call.Args[1].(*ssa.Const)
	if !ok || k.Value == nil || k.Value.Kind() != constant.Int {
		return false
	}
	os := op.call.Call.StaticCallee().Pkg.Pkg
	obj, ok := os.Scope().Lookup(flag).(*types.Const)
	for _, imp := range os.Imports() {
		if !ok && imp.Path() == "syscall" {
			obj, ok = imp.Scope().Lookup(flag).(*types.Const)
		}
	}
	if !ok {
		return false
	}
	want, _ := constant.Int64Val(obj.Val())
	got, _ := constant.Int64Val(k.Value)
	return want != 0 && got&want == want
}

// opensSynced reports whether op opens its file with O_SYNC or O_DSYNC, so
// that each write reaches the disk before it returns.
func (c *checker) opensSynced(op fileOp) bool {
	return op.name == "os.OpenFile" && (c.hasFlag(op, "O_SYNC") || c.hasFlag(op, "O_DSYNC"))
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
				case w.Temp > 0:
					op.result = true
					if op.path = extract(call, w.Temp-1); op.path == nil && call.Call.Signature().Results().Len() == 1 {
						op.path = call
					}
					if op.path == nil {
						continue
					}
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
		} else if r.fn.Parent() == op.fn && (op.path != nil && captures(op.path, r.path, r.fn) || op.file != nil && capturedNameOf(r.path, op.file, r.fn)) {
			return &renames[i] // in a closure or deferred function (routedns)
		} else if other == nil && op.path != nil {
			if k := c.pathKey(op.path); k != "" && k == c.pathKey(r.path) {
				other = &renames[i]
			}
		}
	}
	return other
}

// captures reports whether v, in closure inner, is the variable or value
// that outer's value path holds, captured.
func captures(path, v ssa.Value, inner *ssa.Function) bool {
	load := false
	if u, ok := v.(*ssa.UnOp); ok && u.Op == token.MUL {
		v, load = u.X, true
	}
	fv, ok := v.(*ssa.FreeVar)
	if !ok {
		return false
	}
	i := slices.Index(inner.FreeVars, fv)
	for _, b := range inner.Parent().Blocks {
		for _, instr := range b.Instrs {
			mc, ok := instr.(*ssa.MakeClosure)
			if !ok || mc.Fn != inner || i < 0 || i >= len(mc.Bindings) {
				continue
			}
			bound := mc.Bindings[i]
			if !load {
				return bound == path
			}
			if u, ok := path.(*ssa.UnOp); ok && u.Op == token.MUL && u.X == bound {
				return true
			}
		}
	}
	return false
}

// capturedNameOf reports whether v, in closure inner, is f.Name() of the
// file f its parent captured in a heap cell.
func capturedNameOf(v, f ssa.Value, inner *ssa.Function) bool {
	call, ok := v.(*ssa.Call)
	if !ok || call.Call.StaticCallee() == nil || fullName(call.Call.StaticCallee()) != "(*os.File).Name" {
		return false
	}
	cell := cellOf(f)
	load, ok := call.Call.Args[0].(*ssa.UnOp)
	if !ok || load.Op != token.MUL || cell == nil {
		return false
	}
	fv, ok := load.X.(*ssa.FreeVar)
	i := slices.Index(inner.FreeVars, fv)
	if !ok || i < 0 {
		return false
	}
	for _, u := range *cell.Referrers() {
		if mc, ok := u.(*ssa.MakeClosure); ok && mc.Fn == inner && i < len(mc.Bindings) && mc.Bindings[i] == cell {
			return true
		}
	}
	return false
}

// isNameOf reports whether v is f.Name(), also through a load of the heap
// cell a closure captures f in.
func isNameOf(v, f ssa.Value) bool {
	call, ok := v.(*ssa.Call)
	if !ok {
		return false
	}
	callee := call.Call.StaticCallee()
	if callee == nil || fullName(callee) != "(*os.File).Name" {
		return false
	}
	recv := call.Call.Args[0]
	if load, ok := recv.(*ssa.UnOp); ok && load.Op == token.MUL {
		if cell := cellOf(f); cell != nil && load.X == cell {
			return true
		}
	}
	return recv == f
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
		} else if r.fn.Parent() == op.fn {
			c.checkSyncClosure(op, *r)
		}
	}
	if op.path == nil || excl || op.result {
		return
	}
	// Unless it is renamed, a predictable name is reported only in the
	// system temp directory, which every program shares, and not in tests,
	// which make their scratch directories so.
	k := c.tracer.of(op.path)
	// Writers that take an exclusive file lock first are serialized by it,
	// whatever the temp is named; but in the shared temp directory another
	// user, who does not take the lock, can still create the name first.
	if k&kTempDir == 0 && c.lockHeld(op.call) {
		return
	}
	if r != nil && c.fixedSuffix(op.path, r.dst) {
		c.reportPredictable(op, r, k, "the target's name with a fixed suffix: every writer gets the same name")
	} else if k.predictable() && (r != nil || k&kTempDir != 0 && !c.inTest(op.call.Pos())) {
		c.reportPredictable(op, r, k, k.why())
	}
}

// fixedSuffix reports whether the temp name path is the target's name dst
// with a constant appended (target + ".tmp"): whatever the target's name
// is made of, every writer of that target computes the same temp name.
func (c *checker) fixedSuffix(path, dst ssa.Value) bool {
	add, ok := path.(*ssa.BinOp)
	if !ok || add.Op != token.ADD {
		return false
	}
	k, ok := add.Y.(*ssa.Const)
	if !ok || k.Value == nil || k.Value.Kind() != constant.String || constant.StringVal(k.Value) == "" {
		return false
	}
	if c.sameValue(add.X, dst, 0) {
		return true
	}
	// The target's name computed twice by the same helper from the same
	// arguments: cachePath()+".tmp" renamed over cachePath().
	a, ok1 := add.X.(*ssa.Call)
	b, ok2 := dst.(*ssa.Call)
	if !ok1 || !ok2 || a.Call.StaticCallee() == nil || a.Call.StaticCallee() != b.Call.StaticCallee() || len(a.Call.Args) != len(b.Call.Args) {
		return false
	}
	for i := range a.Call.Args {
		if !c.sameValue(a.Call.Args[i], b.Call.Args[i], 0) {
			return false
		}
	}
	return true
}

func (c *checker) reportPredictable(op fileOp, r *fileOp, k kind, why string) {
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
			noun, render(c.pass.Fset, c.argExpr(op.call, op.pathArg)), what, why, harm, shared, fix),
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
	// A target in the temp directory or in a test's scratch directory
	// (which is under it) is on the temp's file system; so is one joined
	// onto the directory the temp was made in.
	if src&kTempDir == 0 || c.tracer.of(r.dst)&(kTempDir|kScratch) != 0 || op.path == nil && joinsOnto(r.dst, op.call.Call.Args[0]) {
		return
	}
	if failureHandled(r.call) {
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

// failureHandled reports whether the error of call is only tested against
// nil, never returned, wrapped or logged, and the branch taken when it is
// not nil goes on without failing (returns no error, does not panic or
// exit): the code expects the call to fail and goes another way when it
// does (renameio's tempDir renames a probe from the temp directory and
// falls back to the target's directory on EXDEV), so a rename failing
// across devices is not a bug there.
func failureHandled(call *ssa.Call) bool {
	refs := *call.Referrers()
	if len(refs) == 0 {
		return false // ignored, not handled
	}
	for _, r := range refs {
		switch r := r.(type) {
		case *ssa.DebugRef:
		case *ssa.BinOp:
			if r.Op != token.EQL && r.Op != token.NEQ || !isNil(r.X) && !isNil(r.Y) || !failsOn(r) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// failsOn reports whether cmp, an error compared with nil, decides an if
// whose failure branch goes on without failing in turn.
func failsOn(cmp *ssa.BinOp) bool {
	for _, r := range *cmp.Referrers() {
		branch, ok := r.(*ssa.If)
		if !ok {
			continue
		}
		failed := branch.Block().Succs[0] // err != nil holds
		if cmp.Op == token.EQL {
			failed = branch.Block().Succs[1]
		}
		for _, b := range cmp.Parent().Blocks {
			if failed.Dominates(b) && fails(b) {
				return false
			}
		}
		return true
	}
	return false
}

// fails reports whether block b returns an error that may not be nil,
// panics, or exits the program.
func fails(b *ssa.BasicBlock) bool {
	errType := types.Universe.Lookup("error").Type()
	for _, instr := range b.Instrs {
		switch in := instr.(type) {
		case *ssa.Panic:
			return true
		case *ssa.Return:
			for _, v := range in.Results {
				if types.Identical(v.Type(), errType) && !isNil(v) {
					return true
				}
			}
		case *ssa.Call:
			if fn := in.Call.StaticCallee(); fn != nil {
				switch name := fullName(fn); {
				case name == "os.Exit", strings.HasPrefix(name, "log.Fatal"), strings.HasPrefix(name, "log.Panic"),
					strings.HasPrefix(name, "(*log.Logger).Fatal"), strings.HasPrefix(name, "(*log.Logger).Panic"):
					return true
				}
			}
		}
	}
	return false
}

// joinsOnto reports whether path is filepath.Join(dir, …).
func joinsOnto(path, dir ssa.Value) bool {
	call, ok := path.(*ssa.Call)
	if !ok || call.Call.StaticCallee() == nil || fullName(call.Call.StaticCallee()) != "path/filepath.Join" {
		return false
	}
	s, ok := call.Call.Args[0].(*ssa.Slice)
	if !ok {
		return false
	}
	a, ok := s.X.(*ssa.Alloc)
	if !ok {
		return false
	}
	parts := elems(a)
	return len(parts) > 0 && parts[0] == dir
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
		if c.tracer.of(w.path)&(kRandom|kScratch) != 0 {
			continue // a file of this run's own, under a directory made by os.MkdirTemp: nobody else reads it
		}
		for _, r := range reads {
			if w.wrapper && r.fn == w.call.Call.StaticCallee() {
				// The helper rewrites in place a file it reads itself
				// (restic's prepare-release replace): reported in the
				// helper, once, not again at every call.
				continue
			}
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
				Category: InPlaceRewrite,
				Message: fmt.Sprintf("in-place-rewrite: %s truncates %s in place, and this package also reads it (%s): "+
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
// pathKey, the fields its function stores the same path into
// (NewHistory(path) reads path and keeps it in h.path, which a method
// writes), and for a path that is a parameter, the keys of what the
// package's calls pass for it (routedns's cache: writeToFile(filename)
// creates the file in place, loadFromFile(filename) opens it, and both are
// called with the options' Filename field).
func (c *checker) pathKeys(op fileOp) []string {
	var keys []string
	if k := c.pathKey(op.path); k != "" {
		keys = append(keys, k)
	}
	if p, ok := op.path.(*ssa.Parameter); ok {
		keys = append(keys, c.argKeys(op.fn, p, 0)...)
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

// argKeys returns the pathKeys of the arguments that the package's static
// calls of fn, outside its tests, pass for parameter p, following a
// parameter passed on through up to three calls.
func (c *checker) argKeys(fn *ssa.Function, p *ssa.Parameter, depth int) []string {
	i := slices.Index(fn.Params, p)
	if i < 0 || depth > 2 {
		return nil
	}
	var keys []string
	for _, call := range c.callsOf(fn) {
		if c.inTest(call.Pos()) || i >= len(call.Call.Args) {
			continue
		}
		arg := call.Call.Args[i]
		if k := c.pathKey(arg); k != "" {
			keys = append(keys, k)
		} else if ap, ok := arg.(*ssa.Parameter); ok {
			keys = append(keys, c.argKeys(call.Parent(), ap, depth+1)...)
		}
	}
	return keys
}

// callsOf returns the package's static calls of fn.
func (c *checker) callsOf(fn *ssa.Function) []*ssa.Call {
	if c.callers == nil {
		c.callers = map[*ssa.Function][]*ssa.Call{}
		for _, f := range c.tracer.funcs {
			for _, b := range f.Blocks {
				for _, instr := range b.Instrs {
					if call, ok := instr.(*ssa.Call); ok && call.Call.StaticCallee() != nil {
						callee := call.Call.StaticCallee()
						c.callers[callee] = append(c.callers[callee], call)
					}
				}
			}
		}
	}
	return c.callers[fn]
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
		return ok && sameConst(a, b)
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

// sameConst reports whether two constants are the same value of the same
// type. constant.Compare panics on values of different kinds (a string and
// a bool), so kinds are compared first.
func sameConst(a, b *ssa.Const) bool {
	if a.Value == nil || b.Value == nil {
		return a.Value == nil && b.Value == nil && types.Identical(a.Type(), b.Type())
	}
	return types.Identical(a.Type(), b.Type()) && a.Value.Kind() == b.Value.Kind() &&
		a.Value.Kind() != constant.Unknown && constant.Compare(a.Value, token.EQL, b.Value)
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
