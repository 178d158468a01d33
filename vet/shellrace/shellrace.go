package shellrace

import (
	"bytes"
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// The categories, named as vet/filerace names them.
const (
	PredictableTemp = "predictable-temp"
	UnsyncedRename  = "unsynced-rename"
	CrossDeviceTemp = "cross-device-temp"
	BadIgnore       = "ignore"
)

// Kinds lists the kinds of finding a heisen:ignore comment may name in a
// shell script.
var Kinds = []string{PredictableTemp, UnsyncedRename, CrossDeviceTemp}

// A Finding is one problem in a script.
type Finding struct {
	Kind     string
	Severity string // "error", or "warning" for unsynced-rename and malformed ignore comments
	File     string
	Line     int
	Column   int
	Message  string
	Fix      string // the mechanical change that removes it, described; "" if there is none
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", f.File, f.Line, f.Column, f.Message)
}

// Check parses the script src, named name in findings and errors, and
// returns its findings sorted by position. A script that does not parse
// is an error that names it.
func Check(name string, src []byte) ([]Finding, error) {
	f, err := syntax.NewParser(syntax.KeepComments(true), syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, fmt.Errorf("parse shell script: %w", err)
	}
	c := &checker{name: name, src: src, vars: map[string]origin{}, pending: map[string]*write{}}
	c.collect(f)
	c.lockEnds()
	slices.SortStableFunc(c.events, func(a, b event) int { return cmp.Compare(a.at.Offset(), b.at.Offset()) })
	for _, e := range c.events {
		e.run()
	}
	ig := parseIgnores(f)
	var out []Finding
	for _, d := range ig.bad {
		out = append(out, c.finding(d.pos, BadIgnore, "warning", d.msg, ""))
	}
	for _, d := range c.found {
		if !ig.covers(d.Line, d.Kind) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Kind, b.Kind))
	})
	return out, nil
}

// An event is something the script does that the analysis follows, run in
// source order once all are collected.
type event struct {
	at  syntax.Pos
	run func()
}

// A write is a file written and not yet renamed.
type write struct {
	word    *syntax.Word
	how     string // ">", "tee", "cp", "dd of=", …
	origin  origin
	synced  bool
	created bool // opened without O_EXCL (noclobber off, or overridden) and with no flock held
}

type checker struct {
	name      string
	src       []byte
	vars      map[string]origin
	pending   map[string]*write // by key
	noclobber bool
	events    []event
	found     []Finding
	scopes    []scope // the subshells, brace groups and function bodies, and the file
	locks     []lock  // where flock FD holds a lock
}

// A scope is a part of a script that a lock taken in it lasts to the end of.
type scope struct{ start, end uint }

// A lock is a "flock FD": it serializes what follows it, to the end of the
// innermost scope it is in.
type lock struct {
	at  syntax.Pos
	end uint
}

// locked reports whether a lock is held at p.
func (c *checker) locked(p syntax.Pos) bool {
	for _, l := range c.locks {
		if l.at.Offset() < p.Offset() && p.Offset() < l.end {
			return true
		}
	}
	return false
}

// lockEnds sets where each lock ends: at the end of the innermost scope
// it was taken in.
func (c *checker) lockEnds() {
	for i, l := range c.locks {
		inner := scope{0, ^uint(0)}
		for _, s := range c.scopes {
			if s.start <= l.at.Offset() && l.at.Offset() < s.end && s.start >= inner.start {
				inner = s
			}
		}
		c.locks[i].end = inner.end
	}
}

func (c *checker) on(at syntax.Pos, run func()) {
	c.events = append(c.events, event{at, run})
}

// collect turns the commands of f the analysis knows into events.
func (c *checker) collect(f *syntax.File) {
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Subshell, *syntax.Block, *syntax.FuncDecl:
			c.scopes = append(c.scopes, scope{n.Pos().Offset(), n.End().Offset()})
		case *syntax.Stmt:
			for _, r := range n.Redirs {
				c.redirect(r)
			}
		case *syntax.CallExpr:
			if len(n.Args) == 0 {
				c.assigns(n.Assigns)
			} else {
				c.call(n)
			}
		case *syntax.DeclClause:
			c.assigns(n.Args)
		}
		return true
	})
}

func (c *checker) assigns(as []*syntax.Assign) {
	for _, a := range as {
		if a.Name == nil || a.Value == nil || a.Index != nil || a.Append {
			continue
		}
		name, value := a.Name.Value, a.Value
		c.on(a.Pos(), func() {
			// The analysis reads the branches of an if in sequence, and
			// scripts assign fallbacks there (gzexe's tmp=${dir}gzexe$$
			// where mktemp is missing, dir=/tmp where the target's
			// directory is not writable), so a reassignment never makes a
			// name less private or newly in the temp directory.
			o := c.origin(value)
			if old, ok := c.vars[name]; ok {
				o.private = o.private || old.private
				o.tempDir = o.tempDir && old.tempDir
			}
			c.vars[name] = o
		})
	}
}

func (c *checker) redirect(r *syntax.Redirect) {
	if r.Word == nil || r.N != nil && r.N.Value != "1" && r.N.Value != "2" {
		return
	}
	switch r.Op {
	case syntax.RdrOut, syntax.RdrAll:
		c.on(r.OpPos, func() { c.wrote(r.Word, r.Op.String(), !c.noclobber, false) })
	case syntax.AppOut, syntax.AppAll:
		c.on(r.OpPos, func() { c.wrote(r.Word, r.Op.String(), true, false) })
	case syntax.RdrClob:
		c.on(r.OpPos, func() { c.wrote(r.Word, r.Op.String(), true, false) })
	}
}

// call follows the commands that write, sync and rename files, and set -C.
func (c *checker) call(call *syntax.CallExpr) {
	args := call.Args
	for len(args) > 1 && (args[0].Lit() == "command" || args[0].Lit() == "builtin") {
		args = args[1:]
	}
	at := args[0].Pos()
	switch path.Base(args[0].Lit()) {
	case "set":
		c.set(at, args[1:])
	case "tee":
		for _, w := range operands(args[1:]) {
			c.on(w.Pos(), func() { c.wrote(w, "tee", true, false) })
		}
	case "cp":
		c.copied("cp", args[1:], cpValued)
	case "install":
		c.copied("install", args[1:], installValued)
	case "sort":
		c.sorted(args[1:])
	case "sed":
		c.sedEdited(at, args[1:])
	case "rsync":
		c.rsynced(at, args[1:])
	case "dd":
		c.dd(args[1:])
	case "sync":
		ops := operands(args[1:])
		c.on(at, func() { c.synced(ops) })
	case "mv":
		c.mv(at, args[1:])
	case "flock":
		if ops := operands(args[1:]); len(ops) == 1 {
			c.locks = append(c.locks, lock{at: at})
		}
	}
}

func (c *checker) set(at syntax.Pos, args []*syntax.Word) {
	for i, a := range args {
		s := a.Lit()
		on, off := strings.HasPrefix(s, "-"), strings.HasPrefix(s, "+")
		if (on || off) && !strings.HasPrefix(s, "--") && (strings.Contains(s, "C") || (s == "-o" || s == "+o") && i+1 < len(args) && args[i+1].Lit() == "noclobber") {
			c.on(at, func() { c.noclobber = on })
		}
	}
}

func (c *checker) dd(args []*syntax.Word) {
	var of *syntax.Word
	synced := false
	for _, a := range args {
		s := c.text(a)
		if strings.HasPrefix(s, "of=") {
			of = a
		}
		if k, v, ok := strings.Cut(s, "="); ok && (k == "conv" && hasAny(v, "fsync", "fdatasync") || k == "oflag" && hasAny(v, "sync", "dsync")) {
			synced = true
		}
	}
	if of == nil {
		return
	}
	name := trimmed(of, "of=")
	c.on(of.Pos(), func() { c.wrote(name, "dd of=", true, synced) })
}

func hasAny(list string, names ...string) bool {
	for _, f := range strings.Split(list, ",") {
		if slices.Contains(names, f) {
			return true
		}
	}
	return false
}

// operands are the arguments that are not options, up to a "--" and all
// after it.
func operands(args []*syntax.Word) []*syntax.Word {
	var ops []*syntax.Word
	for i, a := range args {
		s := a.Lit()
		if s == "--" {
			return append(ops, args[i+1:]...)
		}
		if strings.HasPrefix(s, "-") && s != "-" {
			continue
		}
		ops = append(ops, a)
	}
	return ops
}

func (c *checker) wrote(w *syntax.Word, how string, created, synced bool) {
	k := c.key(w)
	if prev := c.pending[k]; prev != nil {
		prev.synced = prev.synced && synced
		return
	}
	c.pending[k] = &write{word: w, how: how, origin: c.origin(w), synced: synced, created: created && !c.locked(w.Pos())}
}

func (c *checker) synced(files []*syntax.Word) {
	if len(files) == 0 {
		for _, w := range c.pending {
			w.synced = true
		}
		return
	}
	for _, f := range files {
		if w := c.pending[c.key(f)]; w != nil {
			w.synced = true
		}
	}
}

func (c *checker) mv(at syntax.Pos, args []*syntax.Word) {
	ops := operands(args)
	var dst *syntax.Word
	for i, a := range args {
		if s := a.Lit(); s == "-t" && i+1 < len(args) {
			dst = args[i+1]
			ops = slices.DeleteFunc(ops, func(w *syntax.Word) bool { return w == dst })
		}
	}
	if dst == nil {
		if len(ops) < 2 {
			return
		}
		dst, ops = ops[len(ops)-1], ops[:len(ops)-1]
	}
	c.on(at, func() {
		for _, src := range ops {
			k := c.key(src)
			if w := c.pending[k]; w != nil {
				delete(c.pending, k)
				c.renamed(w, at, dst)
			}
		}
	})
}

// renamed reports what is wrong with w now that it is mv'd over dst.
func (c *checker) renamed(w *write, at syntax.Pos, dst *syntax.Word) {
	name, target := c.text(w.word), c.text(dst)
	if w.origin.predictable() && w.created {
		shared := ""
		if w.origin.tempDir {
			shared = "; in the shared temp directory another user can also create it first, or plant a symlink to a file of yours"
		}
		c.report(w.word.Pos(), PredictableTemp, "error", fmt.Sprintf(
			"predictable-temp: temp file %s is written (%s) and then renamed over %s (line %d); its name is %s, "+
				"so two runs %s%s; create it with mktemp in the target's directory",
			name, w.how, target, at.Line(), w.origin.why(), sharing(w.how), shared),
			fmt.Sprintf(`Name the temp file with mktemp in the target's directory: tmp=$(mktemp %q)`, c.key(dst)+".XXXXXX"))
	}
	if w.origin.tempDir && !c.origin(dst).tempDir {
		c.report(at, CrossDeviceTemp, "error", fmt.Sprintf(
			"cross-device-temp: %s is made in the system temp directory and mv'd to %s; when they are on different file systems "+
				"mv cannot rename and copies into the target in place, which a reader or a crash sees partial; "+
				"make the temp file in the target's directory: mktemp \"$(dirname %s)/.XXXXXX\"", name, target, target), "")
	}
	if !w.synced {
		c.report(at, UnsyncedRename, "warning", fmt.Sprintf(
			"unsynced-rename: %s (written at line %d) is renamed over %s without a sync of the file: "+
				"after a crash the rename can be on disk before the data, leaving the target empty or partial; "+
				"run sync %s (coreutils 8.24 or later) before the mv", name, w.word.Pos().Line(), target, name),
			"Sync the file before the mv: sync "+name)
	}
}

// sharing says what two runs that compute one temp name do to each other.
func sharing(how string) string {
	if how == "install" {
		// install unlinks the name and creates it anew with O_EXCL.
		return "use the same temp file: each install removes and recreates it, and one run's mv can publish the file the other is still writing"
	}
	return "write the same temp file, interleave their writes, and the mv publishes a spliced file"
}

func (c *checker) report(at syntax.Pos, category, severity, msg, fix string) {
	c.found = append(c.found, c.finding(at, category, severity, msg, fix))
}

func (c *checker) finding(at syntax.Pos, category, severity, msg, fix string) Finding {
	return Finding{Kind: category, Severity: severity, File: c.name, Line: int(at.Line()), Column: int(at.Col()), Message: msg, Fix: fix}
}

// text is the source text of n.
func (c *checker) text(n syntax.Node) string {
	start, end := n.Pos().Offset(), n.End().Offset()
	if end > uint(len(c.src)) || start > end {
		return ""
	}
	return string(c.src[start:end])
}
