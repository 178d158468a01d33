package shellrace

import (
	"bytes"
	"path/filepath"
	"strings"
)

// IsScript reports whether a file named name that begins with head is a
// shell script this package reads: its name ends in .sh or .bash, or its
// first line is a #! line that runs sh, bash or dash (directly or through
// env).
func IsScript(name string, head []byte) bool {
	switch filepath.Ext(name) {
	case ".sh", ".bash":
		return true
	}
	line, ok := bytes.CutPrefix(head, []byte("#!"))
	if !ok {
		return false
	}
	line, _, _ = bytes.Cut(line, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) > 1 && filepath.Base(fields[0]) == "env" {
		fields = fields[1:]
		for len(fields) > 1 && strings.HasPrefix(fields[0], "-") {
			fields = fields[1:]
		}
	}
	if len(fields) == 0 {
		return false
	}
	switch filepath.Base(fields[0]) {
	case "sh", "bash", "dash":
		return true
	}
	return false
}
