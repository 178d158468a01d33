package analyze

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNthSmallest checks the selection sweepNodes cuts at against a sort,
// on inputs with many ties, sorted and reversed runs, and every k.
func TestNthSmallest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 5, 16, 17, 100, 1000} {
		for _, spread := range []int64{1, 3, 50, 1 << 40} {
			inputs := map[string][]int64{"random": nil, "sorted": nil, "reversed": nil}
			s := make([]int64, n)
			for i := range s {
				s[i] = rng.Int64N(spread)
			}
			inputs["random"] = s
			inputs["sorted"] = slices.Sorted(slices.Values(s))
			inputs["reversed"] = slices.Clone(inputs["sorted"])
			slices.Reverse(inputs["reversed"])
			for name, in := range inputs {
				want := slices.Sorted(slices.Values(in))
				for k := range n {
					if got := nthSmallest(slices.Clone(in), k); got != want[k] {
						t.Fatalf("%s n=%d spread=%d: nthSmallest(k=%d) = %d, want %d", name, n, spread, k, got, want[k])
					}
				}
			}
		}
	}
}
