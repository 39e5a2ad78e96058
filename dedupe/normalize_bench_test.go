package dedupe

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/winnow-dev/winnow/internal/corpus"
)

// BenchmarkHashWords hashes the words of every line of the first 2,000
// bench documents, as the Cleaner does.
func BenchmarkHashWords(b *testing.B) {
	dir, err := corpus.Dir()
	if err != nil {
		b.Fatal(err)
	}
	docs, err := corpus.Docs(filepath.Join(dir, "bench.jsonl.gz"), 2000)
	if err != nil {
		b.Fatal(err)
	}
	var lines []string
	var n int64
	for _, d := range docs {
		for l := range strings.SplitSeq(d.Text, "\n") {
			lines = append(lines, l)
			n += int64(len(l))
		}
	}
	nz := NewNormalizer()
	var words []uint64
	b.SetBytes(n)
	for b.Loop() {
		for _, l := range lines {
			words = nz.HashWords(words[:0], l)
		}
	}
}
