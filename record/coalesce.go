package record

import "github.com/heisen-dev/heisen/trail"

// coalesce merges, in events (sorted by time), each complete write with the
// previous event of the same thread when that is a complete write through
// the same descriptor to the same file ending where this one starts: 8
// writes of one buffer become one event with the first offset, the summed
// length and the time of the last. Reads are merged the same way (a read
// is complete when its length is what it returned: a short read at the
// end of a file merges too). No event of that thread can fall
// between them, so nothing the analysis reads is reordered; events of
// other threads may, so the result must be sorted again. It works in place
// and returns the shortened slice; last is scratch space.
func coalesce(events []trail.Event, last map[int]int) []trail.Event {
	clear(last)
	out := events[:0]
	for _, e := range events {
		if i, ok := last[e.TID]; ok && continues(&out[i], &e) {
			p := &out[i]
			p.Len += e.Len
			p.Ret += e.Ret
			p.TS = e.TS
			continue
		}
		last[e.TID] = len(out)
		out = append(out, e)
	}
	return out
}

// continues reports whether write (or read) e extends write (read) p,
// made by the same kind of call.
func continues(p, e *trail.Event) bool {
	return (p.Op == trail.OpWrite || p.Op == trail.OpRead) && e.Op == p.Op && e.Sys == p.Sys && p.PID == e.PID &&
		p.FD == e.FD && p.Ino == e.Ino && p.Dev == e.Dev && p.Path == e.Path &&
		p.Err == "" && e.Err == "" && p.Off >= 0 && p.Ret == p.Len && e.Ret == e.Len &&
		p.Off+p.Len == e.Off
}
