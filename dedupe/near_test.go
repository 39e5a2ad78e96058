package dedupe

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBottom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 2000; n++ {
		s := make([]uint64, r.IntN(120))
		for i := range s {
			s[i] = r.Uint64N(uint64(1 + r.IntN(1000))) // small ranges: duplicates likely
		}
		p := r.IntN(60)
		want := sortedSet(slices.Clone(s))
		want = want[:min(p, len(want))]
		if got := Bottom(s, p, nil); !slices.Equal(got, want) {
			t.Fatalf("Bottom(%v, %d) = %v, want %v", s, p, got, want)
		}
	}
}

// TestNearIndexFindsEveryPairAboveThreshold compares the prefix-filtered
// index with brute force over random sets: it must miss no pair.
func TestNearIndexFindsEveryPairAboveThreshold(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, thr := range []float64{0.5, 0.8, 0.9} {
		x := newNearIndex(Options{NearThreshold: thr, MaxPostings: 1 << 20})
		var sets [][]uint64
		for n := 0; n < 300; n++ {
			var s []uint64
			if len(sets) > 0 && r.IntN(2) == 0 { // a mutated copy of an earlier set
				s = slices.Clone(sets[r.IntN(len(sets))])
				for k := r.IntN(4); k > 0 && len(s) > 0; k-- {
					s[r.IntN(len(s))] = r.Uint64N(1000)
				}
			} else {
				s = make([]uint64, 3+r.IntN(30))
				for i := range s {
					s[i] = r.Uint64N(1000)
				}
			}
			best := 0.0
			for _, o := range sets {
				best = max(best, Jaccard(sortedSet(slices.Clone(s)), sortedSet(slices.Clone(o))))
			}
			_, sim, ok := x.match(s)
			if (best >= thr) != ok || (ok && sim != best) {
				t.Fatalf("thr %v set %d: index says %v %v, brute force %v", thr, n, ok, sim, best)
			}
			x.add(n, s, n%3 != 0) // also exercise the deferred path
			sets = append(sets, s)
		}
	}
}
