package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

const (
	nameMax    = 256 // NAME_MAX plus the terminating NUL
	tempPrefix = "."
	tempSuffix = ".tmp"
	randHex    = 32 // 128 random bits
)

// tempName writes ".<base>.<128 random bits in hex>.tmp" into buf and
// returns its length. The name comes from crypto/rand alone, never from the
// clock or the pid: names derived from those are exactly how two writers end
// up sharing one temp file. A long base is shortened so that the name fits
// NAME_MAX; the random part alone keeps it unique.
func tempName(buf *[nameMax]byte, base string) int {
	keep := nameMax - 1 - len(tempPrefix) - 1 - randHex - len(tempSuffix)
	if len(base) > keep {
		base = base[:keep]
	}
	var r [randHex / 2]byte
	rand.Read(r[:])
	n := copy(buf[:], tempPrefix)
	n += copy(buf[n:], base)
	buf[n] = '.'
	n++
	n += hex.Encode(buf[n:], r[:])
	n += copy(buf[n:], tempSuffix)
	return n
}

// isTempOf reports whether name is a temp name tempName makes for base.
func isTempOf(name, base string) bool {
	rest, ok := strings.CutPrefix(name, tempPrefix)
	if !ok {
		return false
	}
	rest, ok = strings.CutSuffix(rest, tempSuffix)
	if !ok || len(rest) < randHex+1 || rest[len(rest)-randHex-1] != '.' {
		return false
	}
	for _, c := range rest[len(rest)-randHex:] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	stem := rest[:len(rest)-randHex-1]
	keep := nameMax - 1 - len(tempPrefix) - 1 - randHex - len(tempSuffix)
	return stem == base || (len(base) > keep && stem == base[:keep])
}
