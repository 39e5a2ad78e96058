package dedupe

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkMemoryPerBlockFingerprint commits 10M exact block fingerprints
// (1M documents of 10 blocks, no sketches) and reports the heap they take
// per fingerprint, document reference and expiry included (target <= 64).
func BenchmarkMemoryPerBlockFingerprint(b *testing.B) {
	const docs, perDoc = 1_000_000, 10
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := NewMemory(MemoryOptions{MaxDocs: docs, MaxBlocks: docs * perDoc * 10 / 7, MaxShingles: 1024})
		c := &Commit{Blocks: make([]uint64, perDoc)}
		for d := 0; d < docs; d++ {
			c.ID = fmt.Sprintf("doc-%07d", d)
			for i := range c.Blocks {
				c.Blocks[i] = fmix64(uint64(d*perDoc + i + 1))
			}
			m.Commit(c)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(docs*perDoc), "bytes/fp")
		if bi, ok := m.Block(fmix64(uint64(docs*perDoc - 3))); !ok || bi.Docs != 1 {
			b.Fatal("last fingerprints not remembered")
		}
		runtime.KeepAlive(m)
	}
}

// BenchmarkMemoryPerSketch reports what a document's near-duplicate sketch
// and its LSH band keys add, at the default window and a large one (the
// band tables grow by doubling, so the share per document steps).
func BenchmarkMemoryPerSketch(b *testing.B) {
	for _, docs := range []int{10_000, 200_000} {
		b.Run(fmt.Sprint(docs, "docs"), func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				m := NewMemory(MemoryOptions{MaxDocs: docs, MaxBlocks: 1024, MaxShingles: 1024})
				for d := 0; d < docs; d++ {
					sh := []uint64{fmix64(uint64(3 * d)), fmix64(uint64(3*d + 1)), fmix64(uint64(3*d + 2))}
					sk := NewSketch(sh, 3)
					m.Commit(&Commit{ID: "", Sketch: sk, Bands: sk.BandKeys(), Sketched: true})
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(docs), "bytes/doc")
				runtime.KeepAlive(m)
			}
		})
	}
}
