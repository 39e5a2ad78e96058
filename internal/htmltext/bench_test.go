package htmltext

import (
	"strings"
	"testing"
)

// BenchmarkText reads a 1 MiB page of paragraphs, links and a table, the
// worker's default max_doc_bytes: its speed beside a plain copy of the
// bytes, and what it allocates (the parser's tree) per byte of page.
func BenchmarkText(b *testing.B) {
	var page strings.Builder
	page.WriteString("<!DOCTYPE html><html><head><title>T</title><script>track()</script></head><body>\n")
	for page.Len() < 1<<20 {
		page.WriteString(`<div class="story"><h2><a href="/a/b">A headline about the harbour</a></h2>` +
			`<p>Boats came in at dawn with the first catch of the season, <b>and</b> the fish sold out by noon.</p>` +
			`<table><tr><td>cod</td><td>12</td></tr></table></div>` + "\n")
	}
	page.WriteString("</body></html>")
	data := []byte(page.String())
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			_ = string(data)
		}
	})
	b.Run("text", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if Text(data) == "" {
				b.Fatal("no text")
			}
		}
	})
}
