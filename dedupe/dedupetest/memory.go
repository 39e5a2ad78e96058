// Package dedupetest holds the conformance suite every dedupe.Memory
// implementation must pass: the in-memory one (dedupe) and the shared one on
// NATS JetStream KV (worker).
package dedupetest

import (
	"fmt"
	"testing"

	"github.com/winnow-dev/winnow/dedupe"
)

// NewMemory makes a fresh, empty memory with the given bounds.
type NewMemory func(t *testing.T, o dedupe.MemoryOptions) dedupe.Memory

// TestMemory runs the conformance suite against an implementation.
func TestMemory(t *testing.T, newMemory NewMemory) {
	opts := dedupe.MemoryOptions{MaxDocs: 100, MaxBlocks: 1 << 12, MaxShingles: 1 << 12}
	sketch := func(seed uint64) (dedupe.Sketch, [dedupe.Bands]uint64) {
		var sh []uint64
		for i := uint64(0); i < 40; i++ {
			sh = append(sh, (seed*1000+i)*0x9e3779b97f4a7c15)
		}
		sk := dedupe.NewSketch(sh, len(sh))
		return sk, sk.BandKeys()
	}
	t.Run("blocks count distinct documents, first one kept", func(t *testing.T) {
		m := newMemory(t, opts)
		if _, ok := m.Block(42); ok {
			t.Fatal("empty memory knows a block")
		}
		m.Commit(&dedupe.Commit{ID: "a", Blocks: []uint64{42, 43}})
		m.Commit(&dedupe.Commit{ID: "b", Blocks: []uint64{42}})
		b, ok := m.Block(42)
		if !ok || b.Docs != 2 {
			t.Fatalf("Block(42) = %+v %v, want 2 documents", b, ok)
		}
		if id, _, ok := m.Doc(b.First); !ok || id != "a" {
			t.Fatalf("first holder %q, want a", id)
		}
	})
	t.Run("shingles keep their first document", func(t *testing.T) {
		m := newMemory(t, opts)
		m.Commit(&dedupe.Commit{ID: "a", Shingles: []uint64{7}})
		m.Commit(&dedupe.Commit{ID: "b", Shingles: []uint64{7, 8}})
		ref, ok := m.Shingle(7)
		if id, _, _ := m.Doc(ref); !ok || id != "a" {
			t.Fatalf("Shingle(7) -> %q, want a", id)
		}
		if ref, ok := m.Shingle(8); !ok {
			t.Fatal("Shingle(8) missing")
		} else if id, _, _ := m.Doc(ref); id != "b" {
			t.Fatalf("Shingle(8) -> %q, want b", id)
		}
	})
	t.Run("sketches and bands", func(t *testing.T) {
		m := newMemory(t, opts)
		sk, bands := sketch(1)
		m.Commit(&dedupe.Commit{ID: "s", Sketch: sk, Bands: bands, Sketched: true})
		m.Commit(&dedupe.Commit{ID: "plain"})
		ref, ok := m.Band(bands[3])
		if !ok {
			t.Fatal("band key not found")
		}
		id, got, ok := m.Doc(ref)
		if !ok || id != "s" || got == nil || got.Mins != sk.Mins || got.Size != sk.Size {
			t.Fatalf("Doc(band) = %q %v", id, got)
		}
		if _, ok := m.Band(bands[3] ^ 1); ok {
			t.Fatal("unknown band key found")
		}
	})
	t.Run("claims are first-come and idempotent", func(t *testing.T) {
		m := newMemory(t, opts)
		for _, c := range []struct{ id, want string }{{"a", "a"}, {"b", "a"}, {"a", "a"}} {
			owner, err := m.Claim(99, c.id)
			if err != nil || owner != c.want {
				t.Fatalf("Claim(99, %s) = %q %v, want %q", c.id, owner, err, c.want)
			}
		}
		if owner, err := m.Claim(100, "b"); err != nil || owner != "b" {
			t.Fatalf("Claim(100, b) = %q %v", owner, err)
		}
	})
	t.Run("a document's latest commit is found by its id", func(t *testing.T) {
		m := newMemory(t, opts)
		if _, ok := m.CommitOf("a"); ok {
			t.Fatal("empty memory knows a commit")
		}
		first := m.Commit(&dedupe.Commit{ID: "a"})
		m.Commit(&dedupe.Commit{ID: "b"})
		if ref, ok := m.CommitOf("a"); !ok || ref != first {
			t.Fatalf("CommitOf(a) = %v %v, want %v", ref, ok, first)
		}
		again := m.Commit(&dedupe.Commit{ID: "a"}) // redelivered and committed again
		if ref, ok := m.CommitOf("a"); !ok || ref != again || again == first {
			t.Fatalf("CommitOf(a) = %v %v after a second commit %v", ref, ok, again)
		}
		if _, ok := m.CommitOf("c"); ok {
			t.Fatal("CommitOf(c) found a document never committed")
		}
	})
	t.Run("the window forgets old documents", func(t *testing.T) {
		m := newMemory(t, dedupe.MemoryOptions{MaxDocs: 4, MaxBlocks: 1 << 10, MaxShingles: 1 << 10})
		for i := 0; i < 10; i++ {
			m.Commit(&dedupe.Commit{ID: fmt.Sprint("d", i), Blocks: []uint64{uint64(1000 + i)}})
		}
		if _, ok := m.Block(1000); ok {
			t.Fatal("block of the first of 10 documents remembered with a 4-document window")
		}
		if _, ok := m.Block(1009); !ok {
			t.Fatal("block of the newest document forgotten")
		}
		if _, ok := m.CommitOf("d0"); ok {
			t.Fatal("commit of the first of 10 documents found with a 4-document window")
		}
		if _, ok := m.CommitOf("d9"); !ok {
			t.Fatal("commit of the newest document forgotten")
		}
	})
}
