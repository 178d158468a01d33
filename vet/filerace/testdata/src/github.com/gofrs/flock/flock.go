// Package flock stands in for github.com/gofrs/flock: only the names the
// analyzer knows matter.
package flock

type Flock struct{ path string }

func New(path string) *Flock { return &Flock{path} }

func (f *Flock) Lock() error            { return nil }
func (f *Flock) TryLock() (bool, error) { return true, nil }
func (f *Flock) Unlock() error          { return nil }
