package dedupe

import (
	"encoding/json"
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
		b.Skip(err)
	}
	var lines []string
	var n int64
	docs := 0
	err = corpus.Each(filepath.Join(dir, "bench.jsonl.gz"), func(line []byte) error {
		var d struct{ Text string }
		if docs++; docs > 2000 || json.Unmarshal(line, &d) != nil {
			return nil
		}
		for l := range strings.SplitSeq(d.Text, "\n") {
			lines = append(lines, l)
			n += int64(len(l))
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
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
