//go:build race

package atomicfile

func init() { raceEnabled = true }
