// Package stats holds the few statistics heisen reports: confidence
// intervals for failure rates and tests that say whether two rates differ.
//
// Failure counts in heisen are small and often zero, so the package prefers
// methods that stay honest there: the Wilson score interval (never outside
// [0, 1], non-empty at k = 0) and Fisher's exact test, which compares two
// rates without the large-sample approximation of the z-test.
package stats

import (
	"math"
	"slices"
	"sort"
)

// Z95 is the two-sided 95% standard normal quantile.
const Z95 = 1.959963984540054

// Wilson returns the Wilson score interval for k successes in n trials at
// the normal quantile z (use Z95 for 95%). With n == 0 it returns [0, 1]:
// nothing was measured.
func Wilson(k, n int, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	lo, hi = math.Max(0, center-half), math.Min(1, center+half)
	// Clamp the exact ends: at k == 0 or k == n the rounding can leave 1e-17.
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return lo, hi
}

// FisherExact is the two-sided Fisher exact test of k1/n1 against k2/n2:
// the probability, with the margins fixed, of a table at most as likely as
// the one observed. It is exact for the small counts heisen sees, where the
// pooled two-proportion z-test is not.
func FisherExact(k1, n1, k2, n2 int) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 1
	}
	// Table [[k1, n1-k1], [k2, n2-k2]]; with row and column sums fixed the
	// top-left cell x follows a hypergeometric law.
	col := k1 + k2
	n := n1 + n2
	lo, hi := max(0, col-n2), min(n1, col)
	logp := func(x int) float64 {
		return lchoose(n1, x) + lchoose(n2, col-x) - lchoose(n, col)
	}
	observed := logp(k1)
	var sum float64
	for x := lo; x <= hi; x++ {
		if lp := logp(x); lp <= observed+1e-7 {
			sum += math.Exp(lp)
		}
	}
	return math.Min(1, sum)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// Holm applies the Holm–Bonferroni step-down correction to p-values from m
// simultaneous tests and reports which are significant at family-wise error
// rate alpha. The result is in the order of ps.
func Holm(ps []float64, alpha float64) []bool {
	m := len(ps)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	sig := make([]bool, m)
	for rank, i := range idx {
		if ps[i] > alpha/float64(m-rank) {
			break // step-down: once one fails, all larger p-values fail
		}
		sig[i] = true
	}
	return sig
}

// Median returns the middle value of v, the mean of the two middle ones
// when their number is even, and 0 for none. v is left as it was.
func Median[T ~int64 | ~float64](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
