package trail

import "hash/maphash"

// interner shares the strings of recent lines: a trail repeats the same
// paths, sources and call ids many times, and allocating each again is most
// of a naive reader's cost. The table is fixed-size and direct-mapped, so
// memory stays bounded however many distinct strings a trail holds.
type interner struct {
	seed  maphash.Seed
	table []string
}

const internSize = 1 << 12

func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if in.table == nil {
		in.seed = maphash.MakeSeed()
		in.table = make([]string, internSize)
	}
	slot := &in.table[maphash.Bytes(in.seed, b)&(internSize-1)]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}
