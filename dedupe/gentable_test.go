package dedupe

import (
	"math/rand/v2"
	"testing"
)

// TestGenTableMatchesModel drives a genTable through growth (doublings
// moved incrementally) and rotations with random inserts, updates and
// lookups, against two maps that model the generations: every upsert and
// get must agree with them.
func TestGenTableMatchesModel(t *testing.T) {
	for _, capacity := range []int{1 << 20, 1 << 14} { // growth only; growth and rotations
		g := newGenTable(capacity)
		young, old := map[uint64]uint64{}, map[uint64]uint64{}
		rng := rand.New(rand.NewPCG(1, uint64(capacity)))
		keys := uint64(3 * capacity / 4) // key space: repeats as well as new keys
		rotations, doublings := g.rotations, 0
		for op := 0; op < 400_000; op++ {
			k := rng.Uint64N(keys) * 0x9e3779b97f4a7c15
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

// TestGenTableGrowsIncrementally: no insert moves more than migrateStep
// slots of a table being doubled, including the insert that starts the
// next doubling (the previous one must be over by then).
func TestGenTableGrowsIncrementally(t *testing.T) {
	g := newGenTable(1 << 20)
	doublings := 0
	for k := uint64(1); k <= 600_000; k++ {
		p0, m0 := g.prev, g.moved
		v, _ := g.upsert(k * 0x9e3779b97f4a7c15)
		*v = k
		p1, m1 := g.prev, g.moved
		var movedNow int
		switch {
		case p0 == nil:
			movedNow = m1
		case p1 != nil && &p1[0] == &p0[0]:
			movedNow = m1 - m0
		case p1 == nil:
			movedNow = len(p0) - m0
		default: // a new doubling began while the last was unfinished
			movedNow = len(p0) - m0 + m1
		}
		if movedNow > migrateStep {
			t.Fatalf("insert %d moved %d slots at once", k, movedNow)
		}
		if p1 != nil && (p0 == nil || &p1[0] != &p0[0]) {
			doublings++
		}
	}
	if doublings < 5 {
		t.Fatalf("%d doublings: the test did not exercise growth", doublings)
	}
}
