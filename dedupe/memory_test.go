package dedupe_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/dedupe/dedupetest"
)

func TestInMemoryConformance(t *testing.T) {
	dedupetest.TestMemory(t, func(t *testing.T, o dedupe.MemoryOptions) dedupe.Memory { return dedupe.NewMemory(o) })
}

func TestCommitRoundTrip(t *testing.T) {
	sk := dedupe.NewSketch([]uint64{1, 2, 3, 4, 5}, 5)
	for _, c := range []dedupe.Commit{
		{ID: "x", Blocks: []uint64{1, 2}, Shingles: []uint64{3}, At: -5},
		{ID: "ü/日本", Sketch: sk, Bands: sk.BandKeys(), Sketched: true, Shingles: []uint64{9, 10, 11}},
		{},
	} {
		b, _ := c.MarshalBinary()
		var back dedupe.Commit
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if back.ID != c.ID || back.At != c.At || len(back.Blocks) != len(c.Blocks) || len(back.Shingles) != len(c.Shingles) ||
			back.Sketched != c.Sketched || back.Sketch != c.Sketch || back.Bands != c.Bands {
			t.Fatalf("round trip: %+v -> %+v", c, back)
		}
		if err := back.UnmarshalBinary(b[:len(b)-1]); err == nil && len(b) > 1 {
			t.Fatal("truncated commit decoded")
		}
	}
}

// TestCommitVersion2: a commit encoded by a replica of the previous
// version (band keys after the sketch, 16 of them) still decodes; its band
// keys are made again from the sketch, as this version's banding has them.
func TestCommitVersion2(t *testing.T) {
	sk := dedupe.NewSketch([]uint64{11, 12, 13, 14, 15, 16}, 6)
	b := []byte{2}
	b = binary.AppendVarint(b, 42)
	b = binary.AppendUvarint(b, 3)
	b = append(b, "old"...)
	b = binary.AppendUvarint(b, 1) // blocks
	b = binary.LittleEndian.AppendUint64(b, 7)
	b = binary.AppendUvarint(b, 0) // shingles
	b = append(b, 1)               // sketched
	b = binary.AppendUvarint(b, uint64(sk.Size))
	for _, v := range sk.Mins {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for i := range 16 { // the old band keys: ignored
		b = binary.LittleEndian.AppendUint64(b, uint64(i))
	}
	var c dedupe.Commit
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if c.ID != "old" || c.At != 42 || len(c.Blocks) != 1 || !c.Sketched || c.Sketch != sk || c.Bands != sk.BandKeys() {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.UnmarshalBinary(b[:len(b)-8]); err == nil {
		t.Fatal("a version 2 commit short of its band keys decoded")
	}
}

// TestMemoryMaxAge: with MaxAge the window also follows the documents' own
// fetched_at.
func TestMemoryMaxAge(t *testing.T) {
	m := dedupe.NewMemory(dedupe.MemoryOptions{MaxDocs: 100, MaxBlocks: 1024, MaxShingles: 1024, MaxAge: time.Hour})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	claim := func(key uint64, id, want string) {
		t.Helper()
		if owner, err := m.Claim(key, id); err != nil || owner != want {
			t.Fatalf("Claim(%d, %s) = %q %v, want %q", key, id, owner, err, want)
		}
	}
	claim(1, "old", "old")
	m.Commit(&dedupe.Commit{ID: "old", Blocks: []uint64{1}, At: t0.UnixNano()})
	claim(2, "undated", "undated")
	m.Commit(&dedupe.Commit{ID: "undated", Blocks: []uint64{2}})
	if _, ok := m.Block(1); !ok {
		t.Fatal("block forgotten before its hour")
	}
	claim(1, "copy", "old")
	m.Commit(&dedupe.Commit{ID: "new", Blocks: []uint64{3}, At: t0.Add(2 * time.Hour).UnixNano()})
	if _, ok := m.Block(1); ok {
		t.Fatal("block fetched 2h before the newest document still remembered with MaxAge 1h")
	}
	if _, ok := m.Block(2); !ok {
		t.Fatal("an undated document aged out by time")
	}
	// A claim goes with its owner's commit, and stays with an undated one.
	claim(1, "copy", "copy")
	claim(2, "copy2", "undated")
}

// TestMemoryGenerations: a block committed in two generations counts the
// documents of both, and its first document is the oldest still inside the
// window; shingles and bands name their oldest holder inside the window.
func TestMemoryGenerations(t *testing.T) {
	// MaxDocs 4: a generation is 2 documents, so commits 1-2, 3-4, 5-6
	// each fill one.
	m := dedupe.NewMemory(dedupe.MemoryOptions{MaxDocs: 4, MaxBlocks: 1024, MaxShingles: 1024})
	commit := func(id string, blocks ...uint64) dedupe.DocRef {
		return m.Commit(&dedupe.Commit{ID: id, Blocks: blocks, Shingles: blocks})
	}
	commit("a", 7) // ref 1
	commit("b")    // ref 2
	commit("c", 7) // ref 3, young generation
	commit("d", 7) // ref 4
	b, ok := m.Block(7)
	if !ok || b.First != 1 || b.Docs != 3 {
		t.Fatalf("block after three documents over two generations: %+v %v, want first 1, 3 documents", b, ok)
	}
	if ref, ok := m.Shingle(7); !ok || ref != 1 {
		t.Fatalf("shingle holder %d %v, want the oldest (1)", ref, ok)
	}
	commit("e") // ref 5: documents 1 and 2 leave the window
	b, ok = m.Block(7)
	if !ok || b.First != 3 || b.Docs != 2 {
		t.Fatalf("block once its first document left the window: %+v %v, want first 3, 2 documents", b, ok)
	}
	if ref, ok := m.Shingle(7); !ok || ref != 3 {
		t.Fatalf("shingle holder %d %v, want 3", ref, ok)
	}
	commit("f")
	commit("g")
	commit("h") // ref 8: 3 and 4 have left
	if b, ok := m.Block(7); ok {
		t.Fatalf("block remembered after every holder left the window: %+v", b)
	}
}
