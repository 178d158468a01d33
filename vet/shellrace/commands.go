package shellrace

import (
	"regexp"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// The options of cp and install that take the next word as their value
// (when not given as --name=value or -Xvalue).
var (
	cpValued      = []string{"-S", "--suffix", "-t", "--target-directory"}
	installValued = []string{"-g", "--group", "-m", "--mode", "-o", "--owner", "-S", "--suffix", "-t", "--target-directory", "--strip-program"}
	rsyncValued   = []string{"-e", "--rsh", "-f", "--filter", "-B", "--block-size", "-T", "--temp-dir", "-M", "--remote-option",
		"--exclude", "--include", "--exclude-from", "--include-from", "--files-from", "--partial-dir", "--backup-dir",
		"--suffix", "--chmod", "--chown", "--log-file", "--password-file", "--port", "--timeout", "--rsync-path"}
	sedValued = []string{"-e", "--expression", "-f", "--file", "-l", "--line-length"}
)

// operandsSkipping is operands for a command whose options in valued take
// the next word as their value.
func operandsSkipping(args []*syntax.Word, valued []string) []*syntax.Word {
	var ops []*syntax.Word
	for i := 0; i < len(args); i++ {
		s := args[i].Lit()
		switch {
		case s == "--":
			return append(ops, args[i+1:]...)
		case slices.Contains(valued, s):
			i++
		case strings.HasPrefix(s, "-") && s != "-":
		default:
			ops = append(ops, args[i])
		}
	}
	return ops
}

// copied follows cp SRC DEST and install SRC DEST: DEST is written. With
// -t (a target directory) or install -d (directories) no file named in
// the script is written.
func (c *checker) copied(how string, args []*syntax.Word, valued []string) {
	if hasOption(args, "-t", "--target-directory") || how == "install" && hasShort(args, 'd') || hasOption(args, "--directory") {
		return
	}
	if ops := operandsSkipping(args, valued); len(ops) == 2 {
		c.on(ops[1].Pos(), func() { c.wrote(ops[1], how, true, false) })
	}
}

// hasShort reports whether a short option cluster among args (-d, -Dd,
// -vd) holds the letter o.
func hasShort(args []*syntax.Word, o byte) bool {
	for _, a := range args {
		s := a.Lit()
		if s == "--" {
			return false
		}
		if len(s) > 1 && s[0] == '-' && s[1] != '-' && strings.IndexByte(s[1:], o) >= 0 {
			return true
		}
	}
	return false
}

// sorted follows sort -o FILE: sort opens FILE with O_CREAT and no
// O_EXCL once it has read its input, so FILE is written.
func (c *checker) sorted(args []*syntax.Word) {
	for i, a := range args {
		s, _ := literalPrefix(a) // -o"$out.tmp" starts with the literal -o
		var name *syntax.Word
		switch {
		case s == "--" && len(a.Parts) == 1:
			return
		case (s == "-o" || s == "--output") && len(a.Parts) == 1 && i+1 < len(args):
			name = args[i+1]
		case strings.HasPrefix(s, "--output="):
			name = trimmed(a, "--output=")
		case strings.HasPrefix(s, "-o"):
			name = trimmed(a, "-o")
		}
		if name != nil {
			c.on(name.Pos(), func() { c.wrote(name, "sort -o", true, false) })
			return
		}
	}
}

// sedInPlace is a short option cluster that turns on -i (-i, -i.bak,
// -ni, -Ei): the letters before i take no value.
var sedInPlace = regexp.MustCompile(`^-[nrsuzE]*i`)

// sedEdited follows sed -i FILE…: sed writes its own temp file (named
// with mkstemp, in FILE's directory) and renames it over FILE, without a
// sync. It writes no temp file whose name the script chose, so it is not
// a write the rules for predictable names apply to; but what was synced
// of FILE before is replaced by data that is not.
func (c *checker) sedEdited(at syntax.Pos, args []*syntax.Word) {
	inPlace, script := false, true
	for _, a := range args {
		s := a.Lit()
		inPlace = inPlace || sedInPlace.MatchString(s) || s == "--in-place" || strings.HasPrefix(s, "--in-place=")
		script = script && !slices.Contains([]string{"-e", "--expression", "-f", "--file"}, s) &&
			!strings.HasPrefix(s, "--expression=") && !strings.HasPrefix(s, "--file=")
	}
	if !inPlace {
		return
	}
	files := operandsSkipping(args, sedValued)
	if script && len(files) > 0 {
		files = files[1:]
	}
	c.on(at, func() { c.replaced(files, false) })
}

// rsynced follows rsync SRC DEST onto a local DEST. By default rsync
// writes a temp file of its own (.DEST.XXXXXX, opened with O_EXCL) and
// renames it over DEST, syncing it first only with --fsync: as with
// sed -i, no name of the script's is written. With --inplace or --append
// it writes DEST itself, opened with O_CREAT and no O_EXCL.
func (c *checker) rsynced(at syntax.Pos, args []*syntax.Word) {
	ops := operandsSkipping(args, rsyncValued)
	if len(ops) < 2 {
		return
	}
	dst := ops[len(ops)-1]
	if lit, ok := literalPrefix(dst); ok && strings.Contains(strings.SplitN(lit, "/", 2)[0], ":") {
		return // host:path, or rsync://
	}
	synced := hasOption(args, "--fsync")
	if hasOption(args, "--inplace", "--append", "--append-verify") {
		c.on(dst.Pos(), func() { c.wrote(dst, "rsync --inplace", true, synced) })
		return
	}
	c.on(at, func() { c.replaced([]*syntax.Word{dst}, synced) })
}

// replaced records that the files, if written and not yet renamed, now
// hold data that is synced only if synced says so.
func (c *checker) replaced(files []*syntax.Word, synced bool) {
	for _, f := range files {
		if w := c.pending[c.key(f)]; w != nil {
			w.synced = synced
		}
	}
}

// trimmed is the word w with prefix cut off its first literal part.
func trimmed(w *syntax.Word, prefix string) *syntax.Word {
	name := &syntax.Word{Parts: slices.Clone(w.Parts)}
	lit, ok := name.Parts[0].(*syntax.Lit)
	if !ok {
		return name
	}
	t := *lit
	t.Value = strings.TrimPrefix(lit.Value, prefix)
	n := uint(len(lit.Value) - len(t.Value))
	t.ValuePos = syntax.NewPos(lit.ValuePos.Offset()+n, lit.ValuePos.Line(), lit.ValuePos.Col()+n)
	if t.Value == "" && len(name.Parts) > 1 {
		name.Parts = name.Parts[1:]
		return name
	}
	name.Parts[0] = &t
	return name
}
