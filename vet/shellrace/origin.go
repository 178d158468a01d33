package shellrace

import (
	"fmt"
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// An origin is what a file name is built from, as far as the analysis can
// follow it.
type origin struct {
	private bool     // from mktemp or inside a mktemp -d directory: no other writer can compute it
	sources []string // the predictable values in it: the pid, the clock, $RANDOM
	fixed   string   // the literal text it ends in (a fixed suffix or a fixed name), if any
	whole   bool     // the name is all literal text
	tempDir bool     // it is in the system temp directory
}

func (o origin) predictable() bool {
	return !o.private && (len(o.sources) > 0 || o.fixed != "")
}

// why says what makes a name predictable.
func (o origin) why() string {
	if o.whole {
		return fmt.Sprintf("fixed (%q)", o.fixed)
	}
	why := o.sources
	if o.fixed != "" {
		why = append(why, fmt.Sprintf("a fixed suffix (%q)", o.fixed))
	}
	return "built from " + strings.Join(why, " and ")
}

const (
	fromPid     = "the shell's pid ($$), which its subshells and background jobs share and other hosts and containers reuse"
	fromBashPid = "the subshell's pid ($BASHPID), which other hosts and containers reuse"
	fromRandom  = "$RANDOM, one of only 32768 values"
	fromClock   = "the clock ($(date …)), which two runs in the same tick share"
)

// origin works out what word is built from, through the variables
// assigned so far.
func (c *checker) origin(w *syntax.Word) origin {
	var o origin
	parts := flatten(w.Parts)
	o.whole = len(parts) > 0
	for i, p := range parts {
		first := i == 0
		lit, isLit := literal(p)
		if !isLit {
			o.fixed = ""
		}
		switch p := p.(type) {
		case *syntax.Lit, *syntax.SglQuoted:
			o.fixed += lit
			if first && inTempDir(lit) {
				o.tempDir = true
			}
		case *syntax.ParamExp:
			o.whole = c.paramOrigin(p, first, &o) && o.whole
			continue
		case *syntax.CmdSubst:
			s := cmdOrigin(p)
			o.private = o.private || s.private
			o.sources = append(o.sources, s.sources...)
			o.tempDir = o.tempDir || first && s.tempDir
		}
		o.whole = o.whole && isLit
	}
	if strings.Trim(o.fixed, "/") == "" {
		o.fixed = ""
	}
	return o
}

// paramOrigin adds to o what the parameter p is built from, and reports
// whether it is a variable holding a fixed name.
func (c *checker) paramOrigin(p *syntax.ParamExp, first bool, o *origin) (whole bool) {
	if p.Param == nil || p.Excl || p.Length || p.Width {
		return false
	}
	switch name := p.Param.Value; name {
	case "$":
		o.sources = append(o.sources, fromPid)
	case "BASHPID":
		o.sources = append(o.sources, fromBashPid)
	case "RANDOM":
		o.sources = append(o.sources, fromRandom)
	case "TMPDIR":
		o.tempDir = o.tempDir || first
	default:
		v, ok := c.vars[name]
		if !ok || p.Exp != nil || p.Slice != nil || p.Repl != nil || p.Index != nil {
			return false
		}
		o.private = o.private || v.private
		o.sources = append(o.sources, v.sources...)
		o.tempDir = o.tempDir || first && v.tempDir
		o.fixed = v.fixed
		return v.whole
	}
	return false
}

// cmdOrigin is the origin of a command substitution's output: mktemp,
// tempfile and date are known.
func cmdOrigin(cs *syntax.CmdSubst) origin {
	if len(cs.Stmts) != 1 {
		return origin{}
	}
	call, ok := cs.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 {
		return origin{}
	}
	switch path.Base(call.Args[0].Lit()) {
	case "date":
		return origin{sources: []string{fromClock}}
	case "mktemp":
		return origin{private: true, tempDir: mktempInTempDir(call.Args[1:])}
	case "tempfile":
		return origin{private: true, tempDir: !hasOption(call.Args[1:], "-d", "--directory")}
	}
	return origin{}
}

// mktempInTempDir reports whether mktemp with these arguments makes its
// file in the system temp directory: with no template, with -t or a bare
// --tmpdir, or with a template under /tmp.
func mktempInTempDir(args []*syntax.Word) bool {
	if hasOption(args, "-p") {
		return false
	}
	tmpdir := false
	for _, a := range args {
		s := a.Lit()
		switch {
		case strings.HasPrefix(s, "--tmpdir="):
			return inTempDir(strings.TrimPrefix(s, "--tmpdir="))
		case s == "--tmpdir" || strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "--") && strings.Contains(s, "t"):
			tmpdir = true
		}
	}
	ops := operands(args)
	if len(ops) == 0 || tmpdir {
		return true
	}
	lit, ok := literalPrefix(ops[0])
	return ok && inTempDir(lit)
}

func hasOption(args []*syntax.Word, names ...string) bool {
	for _, a := range args {
		for _, n := range names {
			if s := a.Lit(); s == n || strings.HasPrefix(s, n+"=") {
				return true
			}
		}
	}
	return false
}

func inTempDir(p string) bool {
	return p == "/tmp" || strings.HasPrefix(p, "/tmp/") || p == "/var/tmp" || strings.HasPrefix(p, "/var/tmp/")
}

// flatten lists the parts of a word with double quotes removed.
func flatten(parts []syntax.WordPart) []syntax.WordPart {
	var out []syntax.WordPart
	for _, p := range parts {
		if q, ok := p.(*syntax.DblQuoted); ok {
			out = append(out, flatten(q.Parts)...)
		} else {
			out = append(out, p)
		}
	}
	return out
}

func literal(p syntax.WordPart) (string, bool) {
	switch p := p.(type) {
	case *syntax.Lit:
		return p.Value, true
	case *syntax.SglQuoted:
		return p.Value, true
	}
	return "", false
}

func literalPrefix(w *syntax.Word) (string, bool) {
	parts := flatten(w.Parts)
	if len(parts) == 0 {
		return "", false
	}
	return literal(parts[0])
}

// key is the name a word expands to, as text with quoting removed, so that
// "$out.tmp", $out.tmp and "${out}.tmp" are one name.
func (c *checker) key(w *syntax.Word) string {
	var b strings.Builder
	for _, p := range flatten(w.Parts) {
		if lit, ok := literal(p); ok {
			b.WriteString(lit)
			continue
		}
		if pe, ok := p.(*syntax.ParamExp); ok && pe.Param != nil && pe.Index == nil && pe.Exp == nil && pe.Slice == nil && pe.Repl == nil && !pe.Excl && !pe.Length && !pe.Width && len(pe.Modifiers) == 0 {
			b.WriteString("${" + pe.Param.Value + "}")
			continue
		}
		b.WriteString(c.text(p))
	}
	return b.String()
}
