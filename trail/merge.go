package trail

import (
	"io"
)

// A Merger reads several trails as one, in time order.
//
// It is a k-way merge on the timestamp of each trail's next event, ties
// going to the trail given first. It never reorders the events of one
// trail: a file's order is the order its writer appended them (with
// O_APPEND, the order the kernel saw the writes), which is more trustworthy
// than timestamps taken on different CPUs. So when a trail's timestamps go
// backwards, the merged stream does too at that point, and each event keeps
// its own ts; consumers must not assume strictly increasing ts.
type Merger struct {
	heads  []head // a binary min-heap on (ts, index)
	err    error
	all    []*Reader
	single *Reader // the only trail: read straight through, no copies
}

type head struct {
	e     Event
	r     *Reader
	index int
}

func (a *head) less(b *head) bool {
	if a.e.TS.Equal(b.e.TS) {
		return a.index < b.index
	}
	return a.e.TS.Before(b.e.TS)
}

// Merge returns a Merger over rs. It reads from each Reader only as its
// events are needed, so it holds one event per trail.
func Merge(rs ...*Reader) *Merger {
	m := &Merger{all: rs}
	if len(rs) == 1 {
		m.single = rs[0]
		return m
	}
	for i, r := range rs {
		h := head{r: r, index: i}
		if err := r.Read(&h.e); err != nil {
			if err != io.EOF && m.err == nil {
				m.err = err
			}
			continue
		}
		m.heads = append(m.heads, h)
		m.up(len(m.heads) - 1)
	}
	return m
}

// Read reads the earliest pending event into e. It returns io.EOF when
// every trail is exhausted, and the first read error of any trail (after
// which the Merger stops).
func (m *Merger) Read(e *Event) error {
	if m.err != nil {
		return m.err
	}
	if m.single != nil {
		err := m.single.Read(e)
		if err != nil && err != io.EOF {
			m.err = err
		}
		return err
	}
	if len(m.heads) == 0 {
		return io.EOF
	}
	top := &m.heads[0]
	*e = top.e
	if err := top.r.Read(&top.e); err != nil {
		if err != io.EOF {
			m.err = err
			return err
		}
		last := len(m.heads) - 1
		m.heads[0] = m.heads[last]
		m.heads = m.heads[:last]
	}
	m.down(0)
	return nil
}

// Stats returns the counts of all trails together.
func (m *Merger) Stats() Stats {
	var s Stats
	for _, r := range m.all {
		s.add(r.Stats())
	}
	return s
}

func (m *Merger) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !m.heads[i].less(&m.heads[parent]) {
			return
		}
		m.heads[i], m.heads[parent] = m.heads[parent], m.heads[i]
		i = parent
	}
}

func (m *Merger) down(i int) {
	n := len(m.heads)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && m.heads[r].less(&m.heads[l]) {
			c = r
		}
		if !m.heads[c].less(&m.heads[i]) {
			return
		}
		m.heads[i], m.heads[c] = m.heads[c], m.heads[i]
		i = c
	}
}
