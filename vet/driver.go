package vet

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"reflect"
	"runtime"
	"sync"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/packages"
)

// The driver analyses a package graph one package at a time, as go vet's
// unitchecker does, so that memory holds the syntax, type information and
// SSA of only the packages being analysed, not of the whole graph: each
// package is parsed and type-checked from source once its imports are
// done, analysed, and its syntax dropped. What it keeps of a package is its
// types, which the packages importing it need, and the analyzers' facts.

// A unit is one package of the graph, as the driver sees it.
type unit struct {
	pkg        *packages.Package
	root       bool    // matched by the patterns
	dependents []*unit // the units importing this one
	waiting    int     // imports not yet done; guarded by driver.mu
	types      *types.Package
	errs       []string // why it was not analysed
	diags      []analysis.Diagnostic
	failed     []analysis.Diagnostic // internal errors
}

type factKey struct {
	obj types.Object // nil for a package fact
	pkg *types.Package
	t   reflect.Type
}

type driver struct {
	ctx       context.Context
	fset      *token.FileSet
	analyzers []*analysis.Analyzer // in the order they must run
	main      *analysis.Analyzer
	units     map[string]*unit // by package ID

	mu    sync.Mutex
	facts map[factKey]analysis.Fact
}

// run analyses every package reachable from roots with the analyzer and
// its prerequisites, GOMAXPROCS packages at a time.
func run(ctx context.Context, main *analysis.Analyzer, roots []*packages.Package) ([]*unit, *token.FileSet) {
	d := &driver{ctx: ctx, fset: token.NewFileSet(), main: main, units: map[string]*unit{}, facts: map[factKey]analysis.Fact{}}
	d.analyzers = order(main)
	var all []*unit
	packages.Visit(roots, nil, func(p *packages.Package) {
		u := &unit{pkg: p, waiting: len(p.Imports)}
		d.units[p.ID] = u
		all = append(all, u)
	})
	for _, p := range roots {
		d.units[p.ID].root = true
	}
	ready := make(chan *unit, len(all))
	for _, u := range all {
		for _, imp := range u.pkg.Imports {
			dep := d.units[imp.ID]
			dep.dependents = append(dep.dependents, u)
		}
		if u.waiting == 0 {
			ready <- u
		}
	}
	var wg sync.WaitGroup
	wg.Add(len(all))
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for u := range ready {
				d.check(u)
				d.mu.Lock()
				for _, v := range u.dependents {
					if v.waiting--; v.waiting == 0 {
						ready <- v
					}
				}
				d.mu.Unlock()
				wg.Done()
			}
		}()
	}
	wg.Wait()
	close(ready)
	return all, d.fset
}

// order returns a and its prerequisites, each after what it requires.
func order(a *analysis.Analyzer) []*analysis.Analyzer {
	var list []*analysis.Analyzer
	seen := map[*analysis.Analyzer]bool{}
	var visit func(*analysis.Analyzer)
	visit = func(a *analysis.Analyzer) {
		if seen[a] {
			return
		}
		seen[a] = true
		for _, r := range a.Requires {
			visit(r)
		}
		list = append(list, a)
	}
	visit(a)
	return list
}

// check type-checks u from source against its imports' types and, when
// it has no errors, analyses it. It keeps only u's types and facts.
func (d *driver) check(u *unit) {
	p := u.pkg
	if p.PkgPath == "unsafe" {
		u.types = types.Unsafe
		return
	}
	for _, e := range p.Errors {
		u.errs = append(u.errs, e.Error())
	}
	if err := d.ctx.Err(); err != nil {
		u.errs = append(u.errs, err.Error())
		u.types = types.NewPackage(p.PkgPath, p.Name)
		return
	}
	files := p.CompiledGoFiles
	if len(files) == 0 {
		files = p.GoFiles
	}
	var syntax []*ast.File
	for _, name := range files {
		f, err := parser.ParseFile(d.fset, name, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			u.errs = append(u.errs, err.Error())
		}
		if f != nil {
			syntax = append(syntax, f)
		}
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
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if imp := p.Imports[path]; imp != nil {
				if t := d.units[imp.ID].types; t != nil {
					return t, nil
				}
			}
			return nil, fmt.Errorf("no package %s among the imports of %s", path, p.PkgPath)
		}),
		Sizes: p.TypesSizes,
		Error: func(err error) { u.errs = append(u.errs, err.Error()) },
	}
	if p.Module != nil && p.Module.GoVersion != "" {
		conf.GoVersion = "go" + p.Module.GoVersion
	}
	u.types, _ = conf.Check(p.PkgPath, d.fset, syntax, info)
	if len(u.errs) == 0 {
		d.analyze(u, syntax, info)
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// analyze runs the analyzers on one type-checked package.
func (d *driver) analyze(u *unit, syntax []*ast.File, info *types.Info) {
	p := u.pkg
	module := &analysis.Module{}
	if p.Module != nil {
		module = &analysis.Module{Path: p.Module.Path, Version: p.Module.Version, GoVersion: p.Module.GoVersion}
	}
	results := map[*analysis.Analyzer]any{}
	for _, a := range d.analyzers {
		pass := &analysis.Pass{
			Analyzer:     a,
			Fset:         d.fset,
			Files:        syntax,
			OtherFiles:   p.OtherFiles,
			IgnoredFiles: p.IgnoredFiles,
			Pkg:          u.types,
			TypesInfo:    info,
			TypesSizes:   p.TypesSizes,
			Module:       module,
			ResultOf:     map[*analysis.Analyzer]any{},
			Report: func(diag analysis.Diagnostic) {
				if a == d.main && u.root {
					u.diags = append(u.diags, diag)
				} else if diag.Category == "internal-error" {
					u.failed = append(u.failed, diag)
				}
			},
			ReadFile: os.ReadFile,
		}
		for _, r := range a.Requires {
			pass.ResultOf[r] = results[r]
		}
		d.plumbFacts(pass)
		res, err := a.Run(pass)
		if err != nil {
			u.failed = append(u.failed, analysis.Diagnostic{Category: "internal-error",
				Message: fmt.Sprintf("internal-error: %s on package %s: %v", a.Name, p.PkgPath, err)})
			return
		}
		results[a] = res
	}
}

// plumbFacts gives pass the fact functions, over one store shared by all
// packages: the types of a package are the same objects in every package
// that imports it, so facts need no encoding.
func (d *driver) plumbFacts(pass *analysis.Pass) {
	get := func(k factKey, ptr analysis.Fact) bool {
		d.mu.Lock()
		f, ok := d.facts[k]
		d.mu.Unlock()
		if ok {
			reflect.ValueOf(ptr).Elem().Set(reflect.ValueOf(f).Elem())
		}
		return ok
	}
	put := func(k factKey, f analysis.Fact) {
		d.mu.Lock()
		d.facts[k] = f
		d.mu.Unlock()
	}
	pass.ImportObjectFact = func(obj types.Object, ptr analysis.Fact) bool {
		return obj != nil && get(factKey{obj: obj, t: reflect.TypeOf(ptr)}, ptr)
	}
	pass.ExportObjectFact = func(obj types.Object, f analysis.Fact) {
		if obj.Pkg() != pass.Pkg {
			panic(fmt.Sprintf("%s exports a fact about %s, which is not of package %s", pass.Analyzer.Name, obj, pass.Pkg.Path()))
		}
		put(factKey{obj: obj, t: reflect.TypeOf(f)}, f)
	}
	pass.ImportPackageFact = func(pkg *types.Package, ptr analysis.Fact) bool {
		return get(factKey{pkg: pkg, t: reflect.TypeOf(ptr)}, ptr)
	}
	pass.ExportPackageFact = func(f analysis.Fact) { put(factKey{pkg: pass.Pkg, t: reflect.TypeOf(f)}, f) }
	pass.AllObjectFacts = func() []analysis.ObjectFact {
		d.mu.Lock()
		defer d.mu.Unlock()
		var all []analysis.ObjectFact
		for k, f := range d.facts {
			if k.obj != nil && slicesContainsType(pass.Analyzer.FactTypes, k.t) {
				all = append(all, analysis.ObjectFact{Object: k.obj, Fact: f})
			}
		}
		return all
	}
	pass.AllPackageFacts = func() []analysis.PackageFact {
		d.mu.Lock()
		defer d.mu.Unlock()
		var all []analysis.PackageFact
		for k, f := range d.facts {
			if k.obj == nil && slicesContainsType(pass.Analyzer.FactTypes, k.t) {
				all = append(all, analysis.PackageFact{Package: k.pkg, Fact: f})
			}
		}
		return all
	}
}

func slicesContainsType(facts []analysis.Fact, t reflect.Type) bool {
	for _, f := range facts {
		if reflect.TypeOf(f) == t {
			return true
		}
	}
	return false
}
