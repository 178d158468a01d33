package filerace

import (
	"go/constant"
	"go/token"
	"go/types"
	"regexp"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"
)

// kind is a set of places the parts of a string (a file name) came from.
type kind uint16

const (
	kClock   kind = 1 << iota // time.Now and what is formatted from it
	kPid                      // os.Getpid: the same for every goroutine of a process
	kCounter                  // a package-level, atomic or loop counter: starts over in every process
	kConst                    // literal text such as a ".tmp" suffix
	kRandom                   // crypto/rand, math/rand, uuid, os.CreateTemp, os.MkdirTemp, t.TempDir
	kTempDir                  // os.TempDir or a temp file or directory made under it
	kInput                    // parameters, fields, globals: the target, same for every writer
	kOpaque                   // results of calls and computations we cannot see into
	kScratch                  // a test's own directory (t.TempDir) or a temp made in it
)

// predictable reports whether two writers computing a name of this origin
// arrive at the same name: it is made only of the clock, the pid, counters,
// constants and the inputs every writer shares (the target's name), with
// nothing random and nothing we cannot see into.
func (k kind) predictable() bool {
	return k&(kRandom|kOpaque) == 0 && k&(kClock|kPid|kCounter|kConst) != 0
}

// varies reports whether the name changes from one call to the next, so that
// a name left behind by a crash is not the next call's name too.
func (k kind) varies() bool { return k&(kClock|kCounter) != 0 }

// why explains in words how two writers end up with the same name.
func (k kind) why() string {
	switch {
	case k&kClock != 0 && k&kPid != 0:
		return "built from the pid and the clock: two goroutines of one process within one clock tick get the same name"
	case k&kClock != 0:
		return "built from the clock: two writers within one clock tick (a second, or a coarse nanosecond clock) get the same name"
	case k&kCounter != 0 && k&kPid != 0:
		return "built from the pid and a counter: processes in different pid namespaces (containers) sharing the directory get the same name"
	case k&kCounter != 0:
		return "built from a counter that starts over in every process: two processes get the same name"
	case k&kPid != 0:
		return "built from the pid alone: every goroutine of a process gets the same name"
	default:
		return "a fixed name: every writer gets the same name"
	}
}

// origin is where a string value came from. params is used only while
// summarizing a function: bit i means the value passes parameter i through.
type origin struct {
	kinds  kind
	params uint64
}

func (o origin) union(p origin) origin { return origin{o.kinds | p.kinds, o.params | p.params} }

// nameFact summarizes the string results of a function for callers in other
// packages: where their parts come from, and which parameters pass through.
type nameFact struct {
	Kinds  uint16
	Params uint64
}

func (*nameFact) AFact() {}

func (f *nameFact) String() string { return "name(" + kind(f.Kinds).String() + ")" }

func (k kind) String() string {
	var parts []string
	for i, n := range []string{"clock", "pid", "counter", "const", "random", "tempdir", "input", "opaque", "scratch"} {
		if k&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, "|")
}

// A tracer follows string values backwards through SSA to their sources. It
// looks into callees of the same package through summaries and into callees
// of other packages through nameFacts.
type tracer struct {
	pass      *analysis.Pass
	funcs     []*ssa.Function           // the package's functions and its initializer
	summaries map[*ssa.Function]*origin // nil while being computed (recursion)
	globals   map[*ssa.Global][]ssa.Value
	fields    map[string]*kind // by fieldKey; nil while being computed
	fieldVals map[string][]ssa.Value
}

// fieldOrigin returns what the package stores into the field that f
// addresses (in any value of its type), traced from inside the storing
// functions. A field whose origin is being computed contributes nothing.
func (t *tracer) fieldOrigin(f *ssa.FieldAddr) kind {
	key := fieldKey(f.X.Type(), f.Field)
	if key == "" {
		return 0
	}
	stores := t.fieldStores(key)
	if k, ok := t.fields[key]; ok {
		if k == nil {
			return 0
		}
		return *k
	}
	t.fields[key] = nil
	var k kind
	for _, v := range stores {
		k |= t.of(v)
	}
	t.fields[key] = &k
	return k
}

// fieldStores returns the values the package stores into the field named
// by key (see fieldKey), in any value of its type.
func (t *tracer) fieldStores(key string) []ssa.Value {
	if t.fieldVals == nil {
		t.fields = map[string]*kind{}
		t.fieldVals = map[string][]ssa.Value{}
		for _, fn := range t.funcs {
			for _, b := range fn.Blocks {
				for _, instr := range b.Instrs {
					if s, ok := instr.(*ssa.Store); ok {
						if fa, ok := s.Addr.(*ssa.FieldAddr); ok {
							k := fieldKey(fa.X.Type(), fa.Field)
							t.fieldVals[k] = append(t.fieldVals[k], s.Val)
						}
					}
				}
			}
		}
	}
	return t.fieldVals[key]
}

// globalStores returns the values the package stores into g.
func (t *tracer) globalStores(g *ssa.Global) []ssa.Value {
	if t.globals == nil {
		t.globals = map[*ssa.Global][]ssa.Value{}
		for _, fn := range t.funcs {
			for _, b := range fn.Blocks {
				for _, instr := range b.Instrs {
					if s, ok := instr.(*ssa.Store); ok {
						if g, ok := s.Addr.(*ssa.Global); ok {
							t.globals[g] = append(t.globals[g], s.Val)
						}
					}
				}
			}
		}
	}
	return t.globals[g]
}

// of returns the origin of v as seen from inside its function: parameters
// are inputs.
func (t *tracer) of(v ssa.Value) kind {
	o := t.trace(v, map[ssa.Value]bool{})
	if o.params != 0 {
		o.kinds |= kInput
	}
	return o.kinds
}

// summary returns the origin of fn's string results in terms of its parameters.
func (t *tracer) summary(fn *ssa.Function) origin {
	if s, ok := t.summaries[fn]; ok {
		if s == nil {
			return origin{kinds: kOpaque}
		}
		return *s
	}
	t.summaries[fn] = nil
	var o origin
	seen := map[ssa.Value]bool{}
	for _, b := range fn.Blocks {
		if ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok {
			for _, r := range ret.Results {
				if isStringish(r.Type()) {
					o = o.union(t.trace(r, seen))
				}
			}
		}
	}
	t.summaries[fn] = &o
	return o
}

var fmtVerb = regexp.MustCompile(`%[-+# 0-9.*\[\]]*[a-zA-Z%]`)

func constOrigin(c *ssa.Const) origin {
	if c.Value == nil {
		return origin{}
	}
	if c.Value.Kind() == constant.String {
		// A format string or a separator adds nothing a writer could collide on.
		s := fmtVerb.ReplaceAllString(constant.StringVal(c.Value), "")
		if strings.Trim(s, `/\`) == "" {
			return origin{}
		}
	}
	return origin{kinds: kConst}
}

// trace returns what v is built from, following its operands back
// through the function's SSA form; seen stops the walk at a value already
// visited (a loop's phi). Each kind of value that takes more than a line
// to follow has a helper of its own: paramOrigin, phiOrigin, loadOrigin.
func (t *tracer) trace(v ssa.Value, seen map[ssa.Value]bool) origin {
	if seen[v] {
		return origin{}
	}
	seen[v] = true
	switch v := v.(type) {
	case *ssa.Const:
		return constOrigin(v)
	case *ssa.Parameter:
		return paramOrigin(v)
	case *ssa.BinOp:
		return t.trace(v.X, seen).union(t.trace(v.Y, seen))
	case *ssa.Phi:
		return t.phiOrigin(v, seen)
	case *ssa.UnOp:
		return t.loadOrigin(v, seen)
	case *ssa.Index:
		return t.trace(v.X, seen)
	case *ssa.MakeInterface:
		return t.trace(v.X, seen)
	case *ssa.ChangeType:
		return t.trace(v.X, seen)
	case *ssa.Convert:
		return t.trace(v.X, seen)
	case *ssa.Slice:
		if a, ok := v.X.(*ssa.Alloc); ok {
			return t.stores(a, seen)
		}
		return t.trace(v.X, seen)
	case *ssa.MakeSlice:
		if filledRandomly(v) {
			return origin{kinds: kRandom}
		}
		return origin{kinds: kOpaque}
	case *ssa.Alloc:
		return t.stores(v, seen)
	case *ssa.Extract:
		return t.trace(v.Tuple, seen)
	case *ssa.Call:
		return t.call(&v.Call, seen)
	case *ssa.Field, *ssa.FreeVar:
		return origin{kinds: kInput}
	}
	return origin{kinds: kOpaque}
}

// paramOrigin is the origin of one of its function's parameters: that
// parameter's bit, so that a summary can say which arguments a result is
// built from; a parameter past the 64 bits is an input.
func paramOrigin(v *ssa.Parameter) origin {
	for i, p := range v.Parent().Params {
		if p == v && i < 64 {
			return origin{params: 1 << i}
		}
	}
	return origin{kinds: kInput}
}

// phiOrigin returns the union of the origins of v's edges, and marks an integer
// that adds to itself around a loop (i = i + 1) as a counter.
func (t *tracer) phiOrigin(v *ssa.Phi, seen map[ssa.Value]bool) origin {
	var o origin
	for _, e := range v.Edges {
		if b, ok := e.(*ssa.BinOp); ok && isInteger(v.Type()) && (b.X == v || b.Y == v) {
			o.kinds |= kCounter
		}
		o = o.union(t.trace(e, seen))
	}
	return o
}

// loadOrigin returns the origin of a unary operation: a load (*p) is traced to
// what p points at (a package variable, a local, a field, an element or a
// flag); any other operation is opaque.
func (t *tracer) loadOrigin(v *ssa.UnOp, seen map[ssa.Value]bool) origin {
	if v.Op != token.MUL {
		return origin{kinds: kOpaque}
	}
	switch x := v.X.(type) {
	case *ssa.Global:
		return t.globalOrigin(x, isInteger(v.Type()), seen)
	case *ssa.Alloc:
		return t.stores(x, seen)
	case *ssa.FieldAddr:
		return origin{kinds: kInput | t.fieldOrigin(x)}
	case *ssa.IndexAddr:
		// An element: what the slice or array was built from.
		return t.trace(x.X, seen)
	case *ssa.UnOp:
		// Through a pointer kept in a package variable: a flag.
		if _, ok := x.X.(*ssa.Global); ok {
			return origin{kinds: kInput}
		}
	}
	return origin{kinds: kOpaque}
}

// globalOrigin returns the origin of a load of package variable g: a package
// variable is as unique as what the package stores in it (var pid =
// os.Getpid(), or a dir from os.MkdirTemp). An integer is a pid or else a
// counter; anything else is an input unless something random went in.
func (t *tracer) globalOrigin(g *ssa.Global, integer bool, seen map[ssa.Value]bool) origin {
	var o origin
	for _, val := range t.globalStores(g) {
		o = o.union(t.foreign(val, seen))
	}
	if integer {
		if o.kinds&kPid != 0 {
			return origin{kinds: kPid}
		}
		return origin{kinds: kCounter}
	}
	if o.kinds&kRandom != 0 {
		return o
	}
	return o.union(origin{kinds: kInput})
}

// foreign traces a value of another function: its parameters are inputs.
func (t *tracer) foreign(v ssa.Value, seen map[ssa.Value]bool) origin {
	o := t.trace(v, seen)
	if o.params != 0 {
		o = origin{kinds: o.kinds | kInput}
	}
	return o
}

// stores returns the origin of what is stored into a local variable or
// array (the backing array of a variadic call, a byte buffer).
func (t *tracer) stores(a *ssa.Alloc, seen map[ssa.Value]bool) origin {
	if filledRandomly(a) {
		return origin{kinds: kRandom}
	}
	var o origin
	for _, r := range *a.Referrers() {
		switch r := r.(type) {
		case *ssa.Store:
			if r.Addr == a {
				o = o.union(t.trace(r.Val, seen))
			}
		case *ssa.IndexAddr:
			for _, rr := range *r.Referrers() {
				if s, ok := rr.(*ssa.Store); ok && s.Addr == r {
					o = o.union(t.trace(s.Val, seen))
				}
			}
		}
	}
	return o
}

// filledRandomly reports whether the buffer v (or a slice of it) is filled
// by crypto/rand or math/rand.
func filledRandomly(v ssa.Value) bool {
	for _, r := range *v.Referrers() {
		switch r := r.(type) {
		case *ssa.Slice:
			if filledRandomly(r) {
				return true
			}
		case *ssa.Call:
			fn := r.Call.StaticCallee()
			if fn == nil {
				continue
			}
			if isRandomPkg(pkgPath(fn)) {
				return true
			}
			if n := fullName(fn); (n == "io.ReadFull" || n == "io.ReadAtLeast") && len(r.Call.Args) > 0 && isRandomReader(r.Call.Args[0]) {
				return true
			}
		}
	}
	return false
}

func isRandomReader(v ssa.Value) bool {
	if u, ok := v.(*ssa.UnOp); ok {
		if g, ok := u.X.(*ssa.Global); ok && g.Pkg != nil {
			return isRandomPkg(g.Pkg.Pkg.Path())
		}
	}
	return false
}

func isRandomPkg(path string) bool {
	switch path {
	case "crypto/rand", "math/rand", "math/rand/v2":
		return true
	}
	return strings.Contains(path, "uuid") || strings.HasSuffix(path, "/ulid")
}

// passThrough lists packages whose functions build strings from their
// arguments without adding anything unique.
var passThrough = map[string]bool{
	"fmt": true, "strconv": true, "strings": true, "path": true, "path/filepath": true,
	"time": true, "encoding/hex": true, "encoding/base64": true, "encoding/base32": true,
}

func (t *tracer) call(c *ssa.CallCommon, seen map[ssa.Value]bool) origin {
	if b, ok := c.Value.(*ssa.Builtin); ok && b.Name() == "append" {
		return t.trace(c.Args[0], seen).union(t.trace(c.Args[1], seen))
	}
	fn := c.StaticCallee()
	if fn == nil {
		return origin{kinds: kOpaque}
	}
	args := func() origin {
		var o origin
		for _, a := range c.Args {
			if _, ok := a.Type().Underlying().(*types.Signature); !ok { // strings.Map's mapping adds nothing
				o = o.union(t.trace(a, seen))
			}
		}
		return o
	}
	name, pkg := fullName(fn), pkgPath(fn)
	switch {
	case isRandomPkg(pkg):
		return origin{kinds: kRandom}
	case name == "time.Now":
		return origin{kinds: kClock}
	case name == "os.Getpid" || name == "os.Getppid" || name == "syscall.Getpid" || name == "golang.org/x/sys/unix.Getpid":
		return origin{kinds: kPid}
	case name == "os.Hostname":
		return origin{kinds: kInput} // the same for every writer on the host
	case name == "os.TempDir":
		return origin{kinds: kTempDir}
	case name == "(*testing.common).TempDir":
		// Under the system temp directory, but a test's targets are in it
		// too, so it is told apart from the shared directory itself.
		return origin{kinds: kScratch | kRandom}
	case name == "os.CreateTemp" || name == "os.MkdirTemp" || name == "io/ioutil.TempFile" || name == "io/ioutil.TempDir":
		o := origin{kinds: kRandom}
		if len(c.Args) > 0 {
			dir := t.trace(c.Args[0], seen).kinds
			if isEmptyString(c.Args[0]) || dir&kTempDir != 0 {
				o.kinds |= kTempDir
			}
			o.kinds |= dir & kScratch
		}
		return o
	case name == "os.Create" || name == "os.OpenFile" || name == "os.Open" || name == "(*os.File).Name":
		// A file's name is the name it was opened with.
		return t.trace(c.Args[0], seen)
	case pkg == "sync/atomic" && strings.Contains(name, "Add"):
		return origin{kinds: kCounter}
	case trims[name]:
		return t.trace(c.Args[0], seen) // what is trimmed off is not in the result
	case passThrough[pkg]:
		return args()
	}
	var s origin
	if fn.Pkg != nil && fn.Pkg.Pkg == t.pass.Pkg && fn.Blocks != nil {
		s = t.summary(fn)
	} else if obj := fn.Object(); obj != nil {
		var f nameFact
		if !t.pass.ImportObjectFact(obj, &f) {
			return origin{kinds: kOpaque}
		}
		s = origin{kind(f.Kinds), f.Params}
	} else {
		return origin{kinds: kOpaque}
	}
	o := origin{kinds: s.kinds}
	for i, a := range c.Args {
		if i < 64 && s.params&(1<<i) != 0 {
			o = o.union(t.trace(a, seen))
		}
	}
	return o
}

// trims remove their other arguments from the first.
var trims = map[string]bool{
	"strings.TrimSuffix": true, "strings.TrimPrefix": true, "strings.Trim": true,
	"strings.TrimLeft": true, "strings.TrimRight": true, "strings.TrimSpace": true,
	"path/filepath.Dir": true, "path.Dir": true, "path/filepath.Base": true, "path.Base": true,
}

func isEmptyString(v ssa.Value) bool {
	c, ok := v.(*ssa.Const)
	return ok && c.Value != nil && c.Value.Kind() == constant.String && constant.StringVal(c.Value) == ""
}

func isInteger(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsInteger != 0
}

func isStringish(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Info()&types.IsString != 0
	case *types.Slice:
		b, ok := u.Elem().Underlying().(*types.Basic)
		return ok && b.Kind() == types.Byte
	}
	return false
}

// fullName names a function like types.Func.FullName: "os.Create",
// "(*os.File).Sync"; closures and wrappers by their SSA name.
func fullName(fn *ssa.Function) string {
	if f, ok := fn.Object().(*types.Func); ok && fn.Origin() == nil {
		return f.FullName()
	}
	if o := fn.Origin(); o != nil {
		return fullName(o)
	}
	return fn.String()
}

func pkgPath(fn *ssa.Function) string {
	if f, ok := fn.Object().(*types.Func); ok && f.Pkg() != nil {
		return f.Pkg().Path()
	}
	if fn.Pkg != nil {
		return fn.Pkg.Pkg.Path()
	}
	return ""
}
