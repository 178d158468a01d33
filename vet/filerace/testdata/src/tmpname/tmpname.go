// Package tmpname has name helpers that other test packages call, so that
// their origins must travel as facts.
package tmpname

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"time"
)

func Stamp(target string) string { // want Stamp:`name\(clock\|const\)`
	return target + "." + strconv.FormatInt(time.Now().Unix(), 10) + ".tmp"
}

func Random(target string) string { // want Random:`name\(const\|random\)`
	b := make([]byte, 8)
	rand.Read(b)
	return target + "." + hex.EncodeToString(b)
}

// Suffix passes its argument through: the caller's argument decides.
func Suffix(target, suffix string) string { // want Suffix:`name\(\)`
	return target + suffix
}

// Create opens a file for writing, truncating it: a create wrapper.
func Create(path string) (*os.File, error) { // want Create:`wrapper\(create 1, write 0, rename 0 to 0\)`
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

// Replace renames src over dst: a rename wrapper.
func Replace(src, dst string) error { // want Replace:`wrapper\(create 0, write 0, rename 1 to 2\)`
	return os.Rename(src, dst)
}
