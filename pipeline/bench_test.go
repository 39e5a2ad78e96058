package pipeline

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/winnow-dev/winnow/internal/corpus"
	"github.com/winnow-dev/winnow/schemas"
)

var bench struct {
	once  sync.Once
	docs  []schemas.Document
	lines [][]byte
	bytes int64
	err   error
}

// benchDocs loads the bench corpus once (decompressed in memory, so gzip is
// not measured).
func benchDocs(b *testing.B) ([]schemas.Document, int64) {
	bench.once.Do(func() {
		dir, err := corpus.Dir()
		if err != nil {
			bench.err = err
			return
		}
		bench.err = corpus.Each(filepath.Join(dir, "bench.jsonl.gz"), func(line []byte) error {
			d, err := schemas.DecodeDocument(line)
			if err != nil {
				return err
			}
			bench.docs = append(bench.docs, d)
			bench.lines = append(bench.lines, bytes.Clone(line))
			bench.bytes += int64(len(d.Text))
			return nil
		})
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.docs, bench.bytes
}

// baselineLines only splits lines and hashes each with xxhash.
func baselineLines(text string) (h uint64) {
	for start := 0; start <= len(text); {
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			h ^= xxhash.Sum64String(text[start:])
			break
		}
		h ^= xxhash.Sum64String(text[start : start+end])
		start += end + 1
	}
	return h
}

// baselineShingles is the bare 5-word-shingle pass: split on ASCII white
// space and xxhash every window of 5 consecutive words as it stands.
func baselineShingles(text string, starts, ends []int) (uint64, []int, []int) {
	starts, ends = starts[:0], ends[:0]
	in := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		sp := c == ' ' || c == '\n' || c == '\t' || c == '\r'
		if !sp && !in {
			starts = append(starts, i)
			in = true
		} else if sp && in {
			ends = append(ends, i)
			in = false
		}
	}
	if in {
		ends = append(ends, len(text))
	}
	var h uint64
	for i := 0; i+5 <= len(starts); i++ {
		h ^= xxhash.Sum64String(text[starts[i]:ends[i+4]])
	}
	if len(starts) > 0 && len(starts) < 5 {
		h ^= xxhash.Sum64String(text[starts[0]:ends[len(ends)-1]])
	}
	return h, starts, ends
}

var sink uint64

// processAll runs p over docs, keeping each record's length in sink so
// the work cannot be optimised away.
func processAll(p *Pipeline, docs []schemas.Document) {
	for _, d := range docs {
		_, rec, _ := p.Process(d)
		sink += uint64(len(rec.Text))
	}
}

func BenchmarkBaselineLineHash(b *testing.B) {
	docs, n := benchDocs(b)
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range docs {
			sink ^= baselineLines(d.Text)
		}
	}
}

func BenchmarkBaselineShingle5(b *testing.B) {
	docs, n := benchDocs(b)
	b.SetBytes(n)
	b.ReportAllocs()
	var s, e []int
	for b.Loop() {
		for _, d := range docs {
			var h uint64
			h, s, e = baselineShingles(d.Text, s, e)
			sink ^= h
		}
	}
}

// BenchmarkProcess is the full cleaning pass (analysis, stages, record with
// rendered text) over the whole bench corpus, JSON excluded.
func BenchmarkProcess(b *testing.B) {
	docs, n := benchDocs(b)
	p, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		processAll(p, docs)
	}
}

// BenchmarkStream is what a worker does per document: the full pass, then
// the commit into the cross-document memory, over the bench corpus as one
// stream (a fresh memory each iteration, so the corpus is new every time;
// building the pipeline is timed too, as a stream start).
func BenchmarkStream(b *testing.B) {
	docs, n := benchDocs(b)
	benchStream(b, docs, n)
}

// BenchmarkStream4K is BenchmarkStream over documents of at least 4 KB,
// consecutive bench documents concatenated as the load tool does.
func BenchmarkStream4K(b *testing.B) {
	docs, _ := benchDocs(b)
	var big []schemas.Document
	var n int64
	for i := 0; i < len(docs); {
		var t strings.Builder
		for t.Len() < 4096 && i < len(docs) {
			if t.Len() > 0 {
				t.WriteString("\n\n")
			}
			t.WriteString(docs[i].Text)
			i++
		}
		big = append(big, schemas.Document{ID: docs[i-1].ID, Text: t.String()})
		n += int64(t.Len())
	}
	benchStream(b, big, n)
}

// benchStream processes and commits docs (n bytes of text) as one stream
// from an empty memory, each iteration.
func benchStream(b *testing.B, docs []schemas.Document, n int64) {
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		p, err := New(DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range docs {
			_, rec, _ := p.Process(d)
			p.Commit()
			sink += uint64(len(rec.Text))
		}
	}
}

// BenchmarkProcessBySize is the full pass per payload size.
func BenchmarkProcessBySize(b *testing.B) {
	docs, _ := benchDocs(b)
	for _, size := range []struct {
		name     string
		min, max int
	}{{"lt1KB", 0, 1 << 10}, {"1to4KB", 1 << 10, 4 << 10}, {"4to64KB", 4 << 10, 64 << 10}, {"ge64KB", 64 << 10, 1 << 30}} {
		var sel []schemas.Document
		var n int64
		for _, d := range docs {
			if len(d.Text) >= size.min && len(d.Text) < size.max {
				sel = append(sel, d)
				n += int64(len(d.Text))
			}
		}
		b.Run(size.name, func(b *testing.B) {
			p, _ := New(DefaultConfig())
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				processAll(p, sel)
			}
		})
	}
}

// BenchmarkProcessJSON adds decoding the input line and encoding the record:
// what `winnow clean` does per line.
func BenchmarkProcessJSON(b *testing.B) {
	_, n := benchDocs(b)
	p, _ := New(DefaultConfig())
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, line := range bench.lines {
			d, err := Decode(line)
			if err != nil {
				b.Fatal(err)
			}
			_, rec, _ := p.Process(d)
			buf.Reset()
			if err := enc.Encode(rec); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCleanVsShingleBaseline times the cleaning core (in-document
// dedupe and the record; cross-document dedup and moderation off) and the
// bare 5-word-shingle pass
// alternately over the same corpus in the same run and reports their
// throughput ratio (target >= 0.3), so machine noise hits both.
// BenchmarkModerationOverhead measures what moderation adds on top.
func BenchmarkCleanVsShingleBaseline(b *testing.B) {
	docs, n := benchDocs(b)
	cfg := DefaultConfig()
	cfg.Moderate, cfg.Cross = false, false
	p, _ := New(cfg)
	var base, full time.Duration
	var s, e []int
	for b.Loop() {
		t0 := time.Now()
		for _, d := range docs {
			var h uint64
			h, s, e = baselineShingles(d.Text, s, e)
			sink ^= h
		}
		t1 := time.Now()
		processAll(p, docs)
		base, full = base+t1.Sub(t0), full+time.Since(t1)
	}
	mb := float64(n) * float64(b.N) / 1e6
	b.ReportMetric(mb/base.Seconds(), "baseline-MB/s")
	b.ReportMetric(mb/full.Seconds(), "clean-MB/s")
	b.ReportMetric(base.Seconds()/full.Seconds(), "ratio")
}

// alternate runs docs through a and b in turns of 256 documents, so both
// see the same machine noise, and adds the time each took to ta and tb.
func alternate(docs []schemas.Document, a, b *Pipeline, ta, tb time.Duration) (time.Duration, time.Duration) {
	for i := 0; i < len(docs); i += 256 {
		chunk := docs[i:min(i+256, len(docs))]
		t0 := time.Now()
		processAll(a, chunk)
		t1 := time.Now()
		processAll(b, chunk)
		ta, tb = ta+t1.Sub(t0), tb+time.Since(t1)
	}
	return ta, tb
}

// BenchmarkModerationOverhead runs the full pass with and without the
// moderation stage over the bench corpus, alternating every 256 documents so
// both see the same machine noise, and reports the time moderation adds
// (target <= 0.30 of the cleaning core's time).
func BenchmarkModerationOverhead(b *testing.B) {
	off := DefaultConfig()
	off.Moderate = false
	core, _ := New(off)
	full, _ := New(DefaultConfig())
	compare(b, core, full, "core-MB/s", "moderated-MB/s")
}

// BenchmarkLargeBlocklist runs the full pass over the bench corpus with a
// blocklist of one phrase and with one of 20,000 three-word phrases drawn
// from the corpus's own words (so their first words are common words, the
// worst case for the matcher), alternating every 256 documents, and reports
// the time the long list adds.
func BenchmarkLargeBlocklist(b *testing.B) {
	docs, _ := benchDocs(b)
	var vocab []string
	seen := map[string]bool{}
	for _, d := range docs[:2000] {
		for _, w := range strings.Fields(strings.ToLower(d.Text)) {
			if len(w) >= 4 && !seen[w] && strings.IndexFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) < 0 {
				seen[w] = true
				vocab = append(vocab, w)
			}
		}
	}
	phrases := make([]string, 20000)
	x := uint64(1)
	for i := range phrases {
		var p [3]string
		for j := range p {
			x = x*6364136223846793005 + 1442695040888963407
			p[j] = vocab[(x>>33)%uint64(len(vocab))]
		}
		phrases[i] = strings.Join(p[:], " ")
	}
	one := DefaultConfig()
	one.Moderation.Blocklist.Phrases = phrases[:1]
	many := DefaultConfig()
	many.Moderation.Blocklist.Phrases = phrases
	short, err := New(one)
	if err != nil {
		b.Fatal(err)
	}
	long, err := New(many)
	if err != nil {
		b.Fatal(err)
	}
	compare(b, short, long, "", "20k-phrases-MB/s")
}

// BenchmarkInLineOverhead runs the cleaning core (moderation off) over the
// bench corpus with pipeline.dedupe.in_line off and on, alternating every
// 256 documents, and reports the time the in-line search adds.
func BenchmarkInLineOverhead(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Moderate = false
	on, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Dedupe.InLine = false
	off, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	compare(b, off, on, "", "in-line-MB/s")
}

// compare runs the bench corpus through base and with in turns (see
// alternate) and reports their throughputs under the units given (base's
// only when baseUnit is set) and the time with adds to base's ("added").
func compare(b *testing.B, base, with *Pipeline, baseUnit, withUnit string) {
	docs, n := benchDocs(b)
	var tBase, tWith time.Duration
	for b.Loop() {
		tBase, tWith = alternate(docs, base, with, tBase, tWith)
	}
	mb := float64(n) * float64(b.N) / 1e6
	if baseUnit != "" {
		b.ReportMetric(mb/tBase.Seconds(), baseUnit)
	}
	b.ReportMetric(mb/tWith.Seconds(), withUnit)
	b.ReportMetric(tWith.Seconds()/tBase.Seconds()-1, "added")
}
