// Package tmpname has name helpers that other test packages call, so that
// their origins must travel as facts.
package tmpname

import (
	"crypto/rand"
	"encoding/hex"
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
