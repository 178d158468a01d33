package check

import (
	"strings"
	"unicode"
)

// normalize writes each run of letters and digits that contains a digit,
// or that looks like mkstemp's six random letters (six, mixed case), as
// "*": data.json.tmp-8123 and data.json.tmp-9001 are one name, and so are
// tmp_obj_kakOuH and tmp_obj_Qu0vGx.
func normalize(p string) string {
	if p == "" {
		return "."
	}
	var b strings.Builder
	word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	rs := []rune(p)
	for i := 0; i < len(rs); {
		if !word(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		digit := false
		for j < len(rs) && word(rs[j]) {
			digit = digit || unicode.IsDigit(rs[j])
			j++
		}
		if digit || mkstempLike(rs[i:j]) {
			b.WriteByte('*')
		} else {
			b.WriteString(string(rs[i:j]))
		}
		i = j
	}
	return b.String()
}

func mkstempLike(w []rune) bool {
	if len(w) != 6 {
		return false
	}
	return strings.ContainsFunc(string(w), unicode.IsUpper) && strings.ContainsFunc(string(w), unicode.IsLower)
}
