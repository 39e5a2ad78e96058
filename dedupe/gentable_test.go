package dedupe

import (
	"math/rand/v2"
	"testing"
)

// TestGenTableMatchesModel drives a genTable through doublings and
// rotations with random inserts, updates and lookups, against two maps
// that model the generations: every upsert and get must agree with them.
func TestGenTableMatchesModel(t *testing.T) {
	for _, capacity := range []int{1 << 20, 1 << 14} { // growth only; growth and rotations
		g := newGenTable(capacity)
		young, old := map[uint64]uint64{}, map[uint64]uint64{}
		rng := rand.New(rand.NewPCG(1, uint64(capacity)))
		keys := uint64(3 * capacity / 4) // key space: repeats as well as new keys
		rotations, doublings := g.rotations, 0
		batch := make([]uint64, 100)
		for op := 0; op < 400_000; op++ {
			k := rng.Uint64N(keys) * 0x9e3779b97f4a7c15
			if op%64 == 0 { // prefetching must change nothing the model sees
				for i := range batch {
					batch[i] = rng.Uint64N(keys) * 0x9e3779b97f4a7c15
				}
				g.prefetchAll(batch)
			}
			if rng.IntN(4) == 0 {
				y, o, inY, inO := g.get(k)
				wy, wInY := young[k]
				wo, wInO := old[k]
				if inY != wInY || y != wy || inO != wInO || o != wo {
					t.Fatalf("op %d: get %x = young %d %v, old %d %v; model young %d %v, old %d %v",
						op, k, y, inY, o, inO, wy, wInY, wo, wInO)
				}
				continue
			}
			size := len(g.young)
			v, ok := g.upsert(k)
			if g.rotations != rotations { // the upsert rotated before inserting
				rotations = g.rotations
				old, young = young, map[uint64]uint64{}
			}
			if len(g.young) > size {
				doublings++
			}
			if _, want := young[k]; ok != want {
				t.Fatalf("op %d: upsert %x found %v, model %v", op, k, ok, want)
			}
			if ok && *v != young[k] {
				t.Fatalf("op %d: upsert %x value %d, model %d", op, k, *v, young[k])
			}
			*v = uint64(op) + 1
			young[k] = *v
		}
		if doublings < 3 || (capacity == 1<<14 && g.rotations < 3) {
			t.Fatalf("capacity %d: %d doublings, %d rotations: the test did not exercise them", capacity, doublings, g.rotations)
		}
	}
}

// TestPrefetchSlotsChangesNothing prefetches every slot of a table,
// including the last line's, whose next line wraps to the first: the
// table reads the same afterwards.
func TestPrefetchSlotsChangesNothing(t *testing.T) {
	tab := make([]slot, 1024)
	idx := make([]uint64, len(tab))
	for i := range tab {
		tab[i] = slot{key: uint64(i)*0x9e3779b97f4a7c15 + 1, val: uint64(i)}
		idx[i] = uint64(len(tab) - 1 - i)
	}
	want := append([]slot(nil), tab...)
	prefetchSlots(tab, idx)
	prefetchIn(tab, idx)
	prefetchIn(nil, idx)
	for i := range tab {
		if tab[i] != want[i] {
			t.Fatalf("slot %d: %v after prefetching, %v before", i, tab[i], want[i])
		}
	}
}
