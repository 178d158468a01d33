package trail

import "hash/maphash"

// interner shares the strings of recent lines: a trail repeats the same
// paths, sources and call ids many times, and allocating each again is most
// of a naive reader's cost. The table is fixed-size and direct-mapped, so
// memory stays bounded however many distinct strings a trail holds. Each
// slot keeps its string's hash: a trail of ever new names finds its slots
// taken by other strings, which the hash tells apart without reading their
// bytes (out of cache by then).
type interner struct {
	seed  maphash.Seed
	table []internSlot
}

type internSlot struct {
	hash uint64
	s    string
}

const internSize = 1 << 12

func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if in.table == nil {
		in.seed = maphash.MakeSeed()
		in.table = make([]internSlot, internSize)
	}
	h := maphash.Bytes(in.seed, b)
	slot := &in.table[h&(internSize-1)]
	if slot.hash != h || slot.s != string(b) {
		slot.hash, slot.s = h, string(b)
	}
	return slot.s
}
