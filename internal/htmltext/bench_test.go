package htmltext_test

import (
	"strings"
	"testing"

	"github.com/winnow-dev/winnow/internal/htmltext"
	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/schemas"
)

// BenchmarkText reads a 1 MiB page of stories, links and tables (the
// worker's default max_doc_bytes) beside the baseline of the same run:
// cleaning the text it reads to (pipeline.Process, what every document
// costs). A page costs its reading on top of its cleaning.
func BenchmarkText(b *testing.B) {
	var page strings.Builder
	page.WriteString("<!DOCTYPE html><html><head><title>T</title><script>track()</script></head><body>\n")
	for i := 0; page.Len() < 1<<20; i++ {
		page.WriteString(`<div class="story"><h2><a href="/a/b">A headline about the harbour</a></h2>` +
			`<p>Boats came in at dawn with the first catch of the season, <b>and</b> the fish sold out by noon; story ` +
			strings.Repeat("x", i%7) + `.</p><table><tr><td>cod</td><td>12</td></tr></table></div>` + "\n")
	}
	page.WriteString("</body></html>")
	data := []byte(page.String())
	text := htmltext.Text(data)
	b.Run("clean-its-text", func(b *testing.B) {
		p, err := pipeline.New(pipeline.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, rec, err := p.Process(schemas.Document{ID: "page", Text: text}); err != nil || rec.Text == "" {
				b.Fatal("no record", err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if htmltext.Text(data) == "" {
				b.Fatal("no text")
			}
		}
	})
}
