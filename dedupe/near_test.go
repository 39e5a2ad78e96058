package dedupe

import (
	"fmt"
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
		if n%2 == 1 { // shingle hashes, uniform: Bottom's fast path
			s = make([]uint64, r.IntN(1200))
			for i := range s {
				s[i] = r.Uint64()
			}
			if len(s) > 0 && n%4 == 1 { // with repeats
				for k := r.IntN(len(s)); k > 0; k-- {
					s[r.IntN(len(s))] = s[r.IntN(len(s))]
				}
			}
		}
		p := r.IntN(60)
		if n%8 == 3 {
			p = prefix(len(s), 0.8)
		}
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

func BenchmarkBottom(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{20, 40, 60, 100, 200, 1000} {
		s := make([]uint64, n)
		for i := range s {
			s[i] = r.Uint64()
		}
		p := prefix(n, 0.8)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var dst []uint64
			for b.Loop() {
				dst = Bottom(s, p, dst[:0])
			}
		})
	}
}
