package dedupe_test

import (
	"testing"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/dedupe/dedupetest"
)

func TestInMemoryConformance(t *testing.T) {
	dedupetest.TestMemory(t, func(t *testing.T, o dedupe.MemoryOptions) dedupe.Memory { return dedupe.NewMemory(o) })
}

func TestCommitRoundTrip(t *testing.T) {
	sk := dedupe.NewSketch([]uint64{1, 2, 3, 4, 5}, 5)
	for _, c := range []dedupe.Commit{
		{ID: "x", Blocks: []uint64{1, 2}, Shingles: []uint64{3}},
		{ID: "ü/日本", Sketch: sk, Bands: sk.BandKeys(), Sketched: true, Shingles: []uint64{9, 10, 11}},
		{},
	} {
		b, _ := c.MarshalBinary()
		var back dedupe.Commit
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if back.ID != c.ID || len(back.Blocks) != len(c.Blocks) || len(back.Shingles) != len(c.Shingles) ||
			back.Sketched != c.Sketched || back.Sketch != c.Sketch || back.Bands != c.Bands {
			t.Fatalf("round trip: %+v -> %+v", c, back)
		}
		if err := back.UnmarshalBinary(b[:len(b)-1]); err == nil && len(b) > 1 {
			t.Fatal("truncated commit decoded")
		}
	}
}
