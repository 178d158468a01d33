package filerace_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
	"sync"
	"testing"

	"github.com/heisen-dev/heisen/vet/filerace"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
)

// FuzzValueTracking runs the analyzer on Go files generated from the fuzz
// input: functions that build names from constants of every kind, fields,
// globals, helpers, the clock, the pid and counters, and hand them to
// creates, writes, reads and renames, in branches, loops, closures and
// defers. Every generated file type-checks; the analyzer must finish on
// each without an internal-error diagnostic, which is what a panic becomes.
func FuzzValueTracking(f *testing.F) {
	// The shape that crashed on gitea and streborn: a bool stored into a
	// field beside a write of a constant path that another method reads.
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1, 2, 2, 0, 4, 1, 2, 1, 16, 1, 2})
	f.Add([]byte{0, 7, 1, 3, 1, 5, 0, 3, 8, 0, 10, 0, 11, 0, 0, 1})
	f.Add([]byte("the story: a clock-named temp renamed over its target"))
	f.Add([]byte{13, 9, 0, 14, 1, 17, 5, 2, 12, 1, 0, 20, 2, 19, 1, 21, 3})
	f.Add([]byte{3, 3, 3, 2, 2, 2, 6, 4, 1, 0, 18, 1, 12, 1, 2, 15, 11, 2, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		src := generate(data)
		pkg, err := typeCheck(src)
		if err != nil {
			t.Fatalf("the generator wrote a file that does not type-check: %v\n%s", err, numbered(src))
		}
		graph, err := checker.Analyze([]*analysis.Analyzer{filerace.Analyzer}, []*packages.Package{pkg}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for act := range graph.All() {
			if act.Err != nil {
				t.Fatalf("%v\n%s", act.Err, numbered(src))
			}
			for _, d := range act.Diagnostics {
				if d.Category == filerace.InternalError {
					t.Fatalf("%s\n%s", d.Message, numbered(src))
				}
			}
		}
	})
}

var (
	fuzzImporter     types.Importer
	fuzzImporterOnce sync.Once
	fuzzFset         = token.NewFileSet()
	fuzzMu           sync.Mutex // the source importer and its file set are not safe for concurrent use
)

// typeCheck parses and type-checks src as package example.com/p, importing
// the standard library from source once per test binary.
func typeCheck(src string) (*packages.Package, error) {
	fuzzMu.Lock()
	defer fuzzMu.Unlock()
	fuzzImporterOnce.Do(func() { fuzzImporter = importer.ForCompiler(fuzzFset, "source", nil) })
	file, err := parser.ParseFile(fuzzFset, "p.go", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	info := &types.Info{
		Types:        map[ast.Expr]types.TypeAndValue{},
		Instances:    map[*ast.Ident]types.Instance{},
		Defs:         map[*ast.Ident]types.Object{},
		Uses:         map[*ast.Ident]types.Object{},
		Implicits:    map[ast.Node]types.Object{},
		Selections:   map[*ast.SelectorExpr]*types.Selection{},
		Scopes:       map[ast.Node]*types.Scope{},
		FileVersions: map[*ast.File]string{},
	}
	sizes := types.SizesFor("gc", "amd64")
	conf := types.Config{Importer: fuzzImporter, Sizes: sizes, GoVersion: "go1.26"}
	tpkg, err := conf.Check("example.com/p", fuzzFset, []*ast.File{file}, info)
	if err != nil {
		return nil, err
	}
	return &packages.Package{
		ID: "example.com/p", Name: "p", PkgPath: "example.com/p", Fset: fuzzFset,
		Syntax: []*ast.File{file}, Types: tpkg, TypesInfo: info, TypesSizes: sizes,
	}, nil
}

func numbered(src string) string {
	var sb strings.Builder
	for i, l := range strings.Split(src, "\n") {
		fmt.Fprintf(&sb, "%3d %s\n", i+1, l)
	}
	return sb.String()
}

// A gen writes a Go file from a stream of choices; when the input runs
// out every choice is 0, which always ends a recursion.
type gen struct {
	data   []byte
	sb     strings.Builder
	helper bool // writing a helper, where only s, constants and globals are in scope
}

func (g *gen) pick(n int) int {
	if len(g.data) == 0 {
		return 0
	}
	c := int(g.data[0]) % n
	g.data = g.data[1:]
	return c
}

const fuzzHelpers = 3

// generate writes package p: a struct with fields of several kinds, package
// variables, name helpers that may call each other, and functions whose
// statements are chosen by data.
func generate(data []byte) string {
	g := &gen{data: data}
	g.sb.WriteString(`package p

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

var (
	_ = json.NewEncoder
	_ = fmt.Sprintf
	_ = filepath.Join
	_ = strconv.Itoa
	_ = strings.TrimSuffix
	_ = atomic.AddInt64
	_ = time.Now
)

type T struct {
	name  string
	dirty bool
	n     int
	ratio float64
	r     rune
	f     *os.File
}

var (
	gs string
	gn int64
	gb = true
)

const kc = "c.tmp"

`)
	g.helper = true
	for i := range fuzzHelpers {
		fmt.Fprintf(&g.sb, "func helper%d(s string) string { return %s }\n\n", i, g.str(0, []string{"s", "kc", "gs"}))
	}
	g.helper = false
	g.sb.WriteString("func (t *T) path() string { return t.name + \".tmp\" }\n\n")
	for i := range 1 + g.pick(4) {
		fmt.Fprintf(&g.sb, "func f%d(t *T, target string, data []byte) error {\n", i)
		g.sb.WriteString("\ts0, s1, s2 := target, kc, gs\n\tvar f0, f1 *os.File\n\tvar err error\n\tb, n := gb, 0\n")
		for range g.pick(12) {
			g.stmt(1)
		}
		g.sb.WriteString("\t_, _, _, _, _, _, _ = s0, s1, s2, f0, f1, b, n\n\treturn err\n}\n\n")
	}
	return g.sb.String()
}

var fuzzLocals = []string{"s0", "s1", "s2", "target", "t.name", "gs", "kc", "t.path()"}

// str returns a string expression of the given depth over atoms.
func (g *gen) str(depth int, atoms []string) string {
	if depth > 2 {
		return atoms[g.pick(len(atoms))]
	}
	d := depth + 1
	switch g.pick(14) {
	case 1:
		return fmt.Sprintf("%q", []string{"", ".tmp", "/var/lib/app/s.json", "/", "%d", "x-*"}[g.pick(6)])
	case 2:
		return g.str(d, atoms) + " + " + g.str(d, atoms)
	case 3:
		return fmt.Sprintf("fmt.Sprintf(\"%%s.%%d\", %s, %s)", g.str(d, atoms), g.int())
	case 4:
		return fmt.Sprintf("filepath.Join(%s, %s)", g.str(d, atoms), g.str(d, atoms))
	case 5:
		return "strconv.Itoa(" + g.int() + ")"
	case 6:
		return `time.Now().Format("20060102")`
	case 7:
		return "os.TempDir()"
	case 8:
		return fmt.Sprintf("helper%d(%s)", g.pick(fuzzHelpers), g.str(d, atoms))
	case 9:
		return fmt.Sprintf("string(%s)", []string{"'x'", "rune(65)", "[]byte(kc)"}[g.pick(3)])
	case 10:
		return fmt.Sprintf("strings.TrimSuffix(%s, \".tmp\")", g.str(d, atoms))
	case 11:
		return fmt.Sprintf("filepath.Dir(%s)", g.str(d, atoms))
	case 12:
		return fmt.Sprintf("strconv.FormatBool(%v)", g.pick(2) == 1)
	case 13:
		return fmt.Sprintf("strconv.FormatFloat(%v, 'f', -1, 64)", 0.5*float64(g.pick(4)))
	}
	return atoms[g.pick(len(atoms))]
}

func (g *gen) int() string {
	ints := []string{"3", "os.Getpid()", "int(time.Now().Unix())", "int(atomic.AddInt64(&gn, 1))", "n", "len(data)"}
	if g.helper {
		ints = ints[:4]
	}
	return ints[g.pick(len(ints))]
}

func (g *gen) file() string { return []string{"f0", "f1"}[g.pick(2)] }

func (g *gen) local() string { return []string{"s0", "s1", "s2"}[g.pick(3)] }

// stmt writes one statement at the given nesting depth.
func (g *gen) stmt(depth int) {
	in := strings.Repeat("\t", depth)
	s := func() string { return g.str(0, fuzzLocals) }
	var line string
	switch c := g.pick(24); c {
	case 0:
		line = g.local() + " = " + s()
	case 1:
		line = "t.name = " + s()
	case 2:
		line = fmt.Sprintf("t.dirty = %v", []string{"true", "false", "b", "!gb"}[g.pick(4)])
	case 3:
		line = fmt.Sprintf("t.n, t.ratio, t.r = %d, %v, %q", g.pick(3), 0.25*float64(g.pick(3)), rune('a'+g.pick(3)))
	case 4:
		line = "err = os.WriteFile(" + s() + ", data, 0o644)"
	case 5:
		line = g.file() + ", err = os.Create(" + s() + ")"
	case 6:
		flags := []string{"os.O_RDWR|os.O_CREATE", "os.O_WRONLY|os.O_CREATE|os.O_TRUNC", "os.O_RDWR|os.O_CREATE|os.O_EXCL",
			"os.O_WRONLY|os.O_CREATE|os.O_SYNC", "os.O_RDONLY"}[g.pick(5)]
		line = fmt.Sprintf("%s, err = os.OpenFile(%s, %s, 0o600)", g.file(), s(), flags)
	case 7:
		line = fmt.Sprintf("%s, err = os.CreateTemp(%s, \"x*\")", g.file(), []string{`""`, "filepath.Dir(target)", "os.TempDir()", "t.name"}[g.pick(4)])
	case 8:
		line = "_, err = " + g.file() + ".Write(data)"
	case 9:
		line = "err = " + g.file() + ".Sync()"
	case 10:
		line = g.file() + ".Close()"
	case 11:
		line = "err = os.Rename(" + s() + ", " + s() + ")"
	case 12:
		line = "err = os.Rename(" + g.file() + ".Name(), " + s() + ")"
	case 13, 22:
		fmt.Fprintf(&g.sb, "%sif b {\n", in)
		g.block(depth)
		fmt.Fprintf(&g.sb, "%s} else {\n", in)
		g.block(depth)
		fmt.Fprintf(&g.sb, "%s}\n", in)
		return
	case 14:
		v := g.local()
		line = fmt.Sprintf("for i := 0; i < 3; i++ {\n%s\t%s = %s + strconv.Itoa(i)\n%s}", in, v, v, in)
	case 15:
		line = "if err != nil {\n" + in + "\treturn err\n" + in + "}"
	case 16:
		line = "_, err = os.ReadFile(" + s() + ")"
	case 17:
		fmt.Fprintf(&g.sb, "%sfunc() {\n", in)
		g.block(depth)
		fmt.Fprintf(&g.sb, "%s}()\n", in)
		return
	case 18:
		line = "defer " + g.file() + ".Close()"
	case 19:
		line = "err = json.NewEncoder(" + g.file() + ").Encode(" + s() + ")"
	case 20:
		line = fmt.Sprintf("%s = helper%d(%s)", g.local(), g.pick(fuzzHelpers), s())
	case 21:
		line = "gs = " + s() + "\n" + in + "atomic.AddInt64(&gn, 1)"
	case 23:
		line = "t.f = " + g.file()
	}
	fmt.Fprintf(&g.sb, "%s%s\n", in, line)
}

// block writes up to three statements one level deeper; nesting stops at
// depth 3.
func (g *gen) block(depth int) {
	if depth >= 3 {
		return
	}
	for range g.pick(4) {
		g.stmt(depth + 1)
	}
}
