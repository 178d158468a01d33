package stress

import "testing"

// Readers check every distinct version they see; these say how many
// versions a second one core can build and check, far above what the
// writers produce (a few thousand a second), so checking never throttles
// the race it watches.
func BenchmarkContent4K(b *testing.B) {
	b.SetBytes(4096)
	for i := 0; b.Loop(); i++ {
		Content(3, i%maxSeq, 4096)
	}
}

func BenchmarkValidate4K(b *testing.B) {
	v := Content(3, 42, 4096)
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		if Validate(v).Kind != Valid {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkValidateSpliced4K(b *testing.B) {
	a, c := Content(1, 5, 4096), Content(2, 9, 4096)
	torn := append(a[:2048:2048], c[2048:]...)
	b.SetBytes(int64(len(torn)))
	for b.Loop() {
		if Validate(torn).Kind != Spliced {
			b.Fatal("not spliced")
		}
	}
}
