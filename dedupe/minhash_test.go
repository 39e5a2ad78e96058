package dedupe

import "testing"

// TestBandingFindsPairsAtTheThreshold: the LSH bands must make candidates
// of nearly every pair the sketches then accept (Jaccard >= 0.5), and of
// few pairs far below. Measured over 500 pairs of 200-shingle sets at each
// Jaccard; the bounds hold the S-curve 1 - (1 - J^Rows)^Bands with room
// for sampling (0.94 at 0.5, 0.99 at 0.6, 0.16 at 0.2 for 21 x 3; 16
// bands of 4 rows found 0.64 at 0.5).
func TestBandingFindsPairsAtTheThreshold(t *testing.T) {
	const n, size = 500, 200
	seq := uint64(0)
	next := func() uint64 { seq++; return fmix64(seq * 0x9e3779b97f4a7c15) }
	for _, tc := range []struct {
		jaccard  float64
		min, max float64 // share of pairs that must collide
	}{
		{0.5, 0.88, 1}, {0.6, 0.96, 1}, {0.2, 0, 0.25},
	} {
		// |A ∩ B| = s, |A| = |B| = size: J = s / (2 size - s).
		s := int(tc.jaccard*2*size/(1+tc.jaccard) + 0.5)
		hits := 0
		for range n {
			a, b := make([]uint64, 0, size), make([]uint64, 0, size)
			for range s {
				h := next()
				a, b = append(a, h), append(b, h)
			}
			for len(a) < size {
				a, b = append(a, next()), append(b, next())
			}
			ska, skb := NewSketch(a, size), NewSketch(b, size)
			ka, kb := ska.BandKeys(), skb.BandKeys()
			for i := range ka {
				if ka[i] == kb[i] {
					hits++
					break
				}
			}
		}
		got := float64(hits) / n
		t.Logf("Jaccard %.2f: %.3f of pairs share a band", tc.jaccard, got)
		if got < tc.min || got > tc.max {
			t.Errorf("Jaccard %.2f: %.3f of pairs share a band, want [%.2f, %.2f]", tc.jaccard, got, tc.min, tc.max)
		}
	}
}
