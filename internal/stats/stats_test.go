package stats

import (
	"math"
	"slices"
	"testing"
	"time"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Reference values computed independently with exact rational binomials
// (Fisher) and by hand from the textbook formula (Wilson).
func TestWilson(t *testing.T) {
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 10, 0, 0.2775328},
		{10, 10, 0.7224672, 1},
		{5, 10, 0.2365931, 0.7634069},
		{1, 1000, 0.0001765, 0.0056426},
		{81, 263, 0.2552885, 0.3662096},
	} {
		lo, hi := Wilson(c.k, c.n, Z95)
		if !near(lo, c.lo, 1e-6) || !near(hi, c.hi, 1e-6) {
			t.Errorf("Wilson(%d, %d) = [%.7f, %.7f], want [%.7f, %.7f]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
	if lo, hi := Wilson(0, 0, Z95); lo != 0 || hi != 1 {
		t.Errorf("Wilson(0, 0) = [%v, %v], want [0, 1]", lo, hi)
	}
}

func TestFisherExact(t *testing.T) {
	for _, c := range []struct {
		k1, n1, k2, n2 int
		p              float64
	}{
		{3, 4, 1, 4, 0.4857143},    // Fisher's tea tasting, two-sided
		{10, 20, 0, 20, 0.0004359}, // clear difference at small n
		{5, 20, 5, 20, 1},
		{0, 30, 0, 30, 1},
	} {
		if p := FisherExact(c.k1, c.n1, c.k2, c.n2); !near(p, c.p, 1e-6) {
			t.Errorf("FisherExact(%d/%d, %d/%d) = %.7f, want %.7f", c.k1, c.n1, c.k2, c.n2, p, c.p)
		}
	}
}

func TestHolm(t *testing.T) {
	// Sorted p: 0.01 (≤ 0.05/4), 0.015 (≤ 0.05/3), then 0.03 (> 0.05/2) stops
	// the step-down, so 0.2 fails too even though it is not compared.
	got := Holm([]float64{0.03, 0.01, 0.2, 0.015}, 0.05)
	want := []bool{false, true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
	if len(Holm(nil, 0.05)) != 0 {
		t.Fatal("Holm(nil) not empty")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := slices.Clone(c.in)
		if got := Median(in); got != c.want || !slices.Equal(in, c.in) {
			t.Errorf("Median(%v) = %v (input now %v), want %v", c.in, got, in, c.want)
		}
	}
	if got := Median([]time.Duration{3 * time.Second, time.Second}); got != 2*time.Second {
		t.Errorf("Median of 1s and 3s = %v, want 2s", got)
	}
}
