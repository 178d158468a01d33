// Package kinds holds constants of different kinds side by side where the
// analyzer compares values: gitea's models and JRpersonal/streborn had a
// method storing a bool into a field next to a write of a constant path,
// and another method reading that path. Comparing the bool with the path
// must answer "different", not panic.
package kinds

import "os"

type state struct {
	dirty bool
	n     int
	ratio float64
}

func (s *state) save(data []byte) error {
	s.dirty = false
	s.n = 3
	s.ratio = 0.5
	return os.WriteFile("/var/lib/app/s.json", data, 0o600) // want `in-place-rewrite`
}

func (s *state) load() ([]byte, error) {
	s.dirty = true
	return os.ReadFile("/var/lib/app/s.json")
}
