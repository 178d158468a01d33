package analyze

import "iter"

// An fdTable is a descriptor table, shared by the processes a fork with
// CLONE_FILES made. Descriptors below lowFDs, nearly all of them, are
// kept in a slice indexed by number: a trail writes through descriptors
// of thousands of processes, and each write looks its descriptor up.
type fdTable struct {
	low   []fdEntry       // by descriptor; a nil window: not open
	high  map[int]fdEntry // the others
	n     int             // descriptors open
	users int
}

// An fdEntry is one descriptor: the open file description it refers to.
type fdEntry struct {
	w       *window
	cloexec bool
}

const lowFDs = 64

func newTable() *fdTable { return &fdTable{users: 1} }

// get returns descriptor fd, and whether it is open.
func (t *fdTable) get(fd int) (fdEntry, bool) {
	if fd >= 0 && fd < len(t.low) {
		return t.low[fd], t.low[fd].w != nil
	}
	ent, ok := t.high[fd]
	return ent, ok
}

// set points descriptor fd at ent.w (not nil).
func (t *fdTable) set(fd int, ent fdEntry) {
	if _, ok := t.get(fd); !ok {
		t.n++
	}
	switch {
	case fd >= 0 && fd < lowFDs:
		if fd >= len(t.low) {
			t.low = append(t.low, make([]fdEntry, fd+1-len(t.low))...)
		}
		t.low[fd] = ent
	default:
		if t.high == nil {
			t.high = map[int]fdEntry{}
		}
		t.high[fd] = ent
	}
}

// del closes descriptor fd.
func (t *fdTable) del(fd int) {
	if _, ok := t.get(fd); !ok {
		return
	}
	t.n--
	if fd >= 0 && fd < len(t.low) {
		t.low[fd] = fdEntry{}
		return
	}
	delete(t.high, fd)
}

// all yields the open descriptors: those below lowFDs in ascending order,
// then the others in no order.
func (t *fdTable) all() iter.Seq2[int, fdEntry] {
	return func(yield func(int, fdEntry) bool) {
		for fd, ent := range t.low {
			if ent.w != nil && !yield(fd, ent) {
				return
			}
		}
		for fd, ent := range t.high {
			if !yield(fd, ent) {
				return
			}
		}
	}
}
