package record

import (
	"errors"
)

// ErrUnavailable is matched (with errors.Is) by every error saying that a
// backend cannot run on this machine, as opposed to a failure while running.
var ErrUnavailable = errors.New("record: backend unavailable")

// An UnavailableError says exactly what a backend is missing.
type UnavailableError struct {
	Backend string // "ebpf" or "ptrace"
	Missing string // what is missing, in words a user can act on
	Err     error  // the underlying cause, if any
}

func (e *UnavailableError) Error() string {
	s := "record: " + e.Backend + " cannot be used: " + e.Missing
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }
