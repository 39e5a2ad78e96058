package worker

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"html"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"github.com/nats-io/nats.go"

	"github.com/winnow-dev/winnow/internal/corpus"
	"github.com/winnow-dev/winnow/schemas"
)

// compressed returns b written through the writer newWriter makes.
func compressed(t testing.TB, newWriter func(io.Writer) io.WriteCloser, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := newWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func gzipped(t testing.TB, b []byte) []byte {
	return compressed(t, func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) }, b)
}

func zlibbed(t testing.TB, b []byte) []byte {
	return compressed(t, func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) }, b)
}

func zstded(t testing.TB, b []byte) []byte {
	t.Helper()
	e, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	return e.EncodeAll(b, nil)
}

// TestContentEncodingDecidesHowTheBodyReads: a body compressed as its
// Content-Encoding header says (gzip, deflate, zstd) is decompressed before
// anything else reads it, a JSON document or plain text in a charset alike;
// a coding winnow does not read, or a body that does not decompress, is
// dead-lettered invalid_content_encoding with the bytes as they came and
// the header in the dead letter, and one that inflates past max_doc_bytes
// is too_large, read no further than the limit.
func TestContentEncodingDecidesHowTheBodyReads(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.MaxDocBytes = 64 << 10
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	// Each its own id: one id makes one Nats-Msg-Id, and the output stream
	// would keep the first record only.
	doc := func(id string) []byte {
		return []byte(`{"id":"` + id + `","text":"The harbour at dawn ` + id + `.\nThe harbour at dawn ` + id + `."}`)
	}
	latin1 := []byte("Caf\xe9 cr\xe8me, 5 \x80.")
	bomb := gzipped(t, make([]byte, 64<<20)) // 64 MiB of zeros in ~64 KB
	cases := []struct {
		name, coding, contentType, id string
		body                          []byte
		reason                        schemas.Reason // "" for a clean record
		want                          string         // the record's text, or words of the dead letter's error
	}{
		{"gzip-json", "gzip", "", "", gzipped(t, doc("j1")), "", "The harbour at dawn j1."},
		{"x-gzip", "X-GZIP", "", "", gzipped(t, doc("j2")), "", "The harbour at dawn j2."},
		{"deflate", "deflate", "", "", zlibbed(t, doc("j3")), "", "The harbour at dawn j3."},
		{"zstd", "zstd", "", "", zstded(t, doc("j4")), "", "The harbour at dawn j4."},
		{"identity", "identity", "", "", doc("j5"), "", "The harbour at dawn j5."},
		{"gzip-latin1", "gzip", "text/plain; charset=iso-8859-1", "l1", gzipped(t, latin1), "", "Café crème, 5 €."},
		{"brotli", "br", "", "br1", []byte("\x1b\x03\x00"), schemas.ReasonInvalidContentEncoding, `Content-Encoding "br" is not one winnow decodes`},
		{"not-gzip", "gzip", "", "ng", doc("ng"), schemas.ReasonInvalidContentEncoding, "does not decompress as gzip"},
		{"cut-gzip", "gzip", "", "cut", gzipped(t, doc("cut"))[:30], schemas.ReasonInvalidContentEncoding, "unexpected EOF"},
		{"not-zstd", "zstd", "", "nz", doc("nz"), schemas.ReasonInvalidContentEncoding, "does not decompress as zstd"},
		{"bomb", "gzip", "", "bomb", bomb, schemas.ReasonTooLarge, "decompress to over the 65536-byte limit"},
		// Winnow-Error holds the error's first 512 bytes, cut between
		// characters.
		{"long-coding", "x" + strings.Repeat("é", 300), "", "lc", doc("lc"), schemas.ReasonInvalidContentEncoding, `Content-Encoding "xéé`},
	}
	for _, c := range cases {
		h := nats.Header{"Content-Encoding": {c.coding}}
		if c.contentType != "" {
			h.Set("Content-Type", c.contentType)
		}
		if c.id != "" {
			h.Set(HeaderID, c.id)
		}
		if len(c.body) > int(cfg.MaxDocBytes) {
			t.Fatalf("%s: %d bytes as it comes, over the limit", c.name, len(c.body))
		}
		publishRaw(t, js, &nats.Msg{Subject: "docs.raw." + c.name, Data: c.body, Header: h})
	}
	got := outcomesByCase(t, js, cfg, len(cases))
	for _, c := range cases {
		o := got[c.name]
		if c.reason == "" {
			if rec := decodeRecord(t, o.data); o.subject != "docs.clean."+c.name || rec.Text != c.want {
				t.Errorf("%s: %s %s, want a clean record with the text %q", c.name, o.subject, o.data, c.want)
			}
			continue
		}
		if o.subject != "docs.dlq."+c.name || o.header.Get(HeaderReason) != string(c.reason) || !strings.Contains(o.header.Get(HeaderError), c.want) ||
			!utf8.ValidString(o.header.Get(HeaderError)) {
			t.Errorf("%s: %s %s %q, want a %s dead letter saying %q", c.name, o.subject, o.header.Get(HeaderReason), o.header.Get(HeaderError), c.reason, c.want)
			continue
		}
		mustMatchSchema(t, schemas.DeadLetterV1, o.data)
		dl := decodeDeadLetter(t, o.data)
		if back, err := dl.Bytes(); err != nil || !bytes.Equal(back, c.body) || dl.ContentEncoding != c.coding || dl.ID != c.id {
			t.Errorf("%s: dead letter keeps %d of %d bytes (%v), content_encoding %q, id %q", c.name, len(back), len(c.body), err, dl.ContentEncoding, dl.ID)
		}
	}
}

// TestDecompressStopsAtTheLimit: a body that inflates past the limit is
// read one byte past it and no further, and one that fits is whole.
func TestDecompressStopsAtTheLimit(t *testing.T) {
	h := nats.Header{"Content-Encoding": {"gzip"}}
	text := bytes.Repeat([]byte("a line of text\n"), 100) // 1,500 bytes
	if out, err := decompress(gzipped(t, text), h, len(text)); err != nil || !bytes.Equal(out, text) {
		t.Fatalf("at the limit: %d bytes, %v", len(out), err)
	}
	_, err := decompress(gzipped(t, text), h, len(text)-1)
	var ie *schemas.InputError
	if !errors.As(err, &ie) || ie.Reason != schemas.ReasonTooLarge {
		t.Fatalf("one byte under: %v, want too_large", err)
	}
	// A 64 MiB bomb under a 1 MiB limit allocates about the limit (ReadAll
	// doubling its buffer), not the 64 MiB it would read out whole; zstd's
	// frame says its size, and no buffer is sized by it.
	zeros := make([]byte, 64<<20)
	for coding, bomb := range map[string][]byte{"gzip": gzipped(t, zeros), "deflate": zlibbed(t, zeros), "zstd": zstded(t, zeros)} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err = decompress(bomb, nats.Header{"Content-Encoding": {coding}}, 1<<20)
		runtime.ReadMemStats(&after)
		if !errors.As(err, &ie) || ie.Reason != schemas.ReasonTooLarge {
			t.Fatalf("%s bomb (%d bytes): %v, want too_large", coding, len(bomb), err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
			t.Errorf("decompressing the %s bomb allocated %d MiB; a 1 MiB limit should cost a few", coding, n>>20)
		}
	}
	for _, coding := range []string{"", "identity", " Identity "} {
		if out, err := decompress(text, nats.Header{"Content-Encoding": {coding}}, 10); err != nil || !bytes.Equal(out, text) {
			t.Errorf("%q: %d bytes, %v: want the body as it is (the caller holds it to the limit)", coding, len(out), err)
		}
	}
}

// TestPageTextIsTheSeedText: the seed article sent as a page, each of its
// lines a paragraph (escaped, so its literal "&#xa0;" stays text), reads
// back as its lines with white space collapsed as a browser does and its
// blank lines gone: cleaning the page is cleaning the article.
func TestPageTextIsTheSeedText(t *testing.T) {
	dir, err := corpus.Dir()
	if err != nil {
		t.Fatal(err)
	}
	var seed struct{ Text string }
	b, err := os.ReadFile(filepath.Join(dir, "seed-gold.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if err := json.Unmarshal(line, &seed); err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	page.WriteString("<!DOCTYPE html><html><head><title>The seed</title></head><body>\n")
	var want []string
	for _, l := range strings.Split(seed.Text, "\n") {
		// HTML's white space only: U+00A0 is text to a browser.
		if f := strings.FieldsFunc(l, func(r rune) bool { return strings.ContainsRune(" \t\n\f\r", r) }); len(f) > 0 {
			want = append(want, strings.Join(f, " "))
		}
		page.WriteString("<p>" + html.EscapeString(l) + "</p>\n")
	}
	page.WriteString("</body></html>")
	doc, err := decodeInput([]byte(page.String()), nats.Header{"Content-Type": {"text/html"}, HeaderID: {"seed"}}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 50 || !strings.Contains(seed.Text, "&#xa0;") && !strings.Contains(seed.Text, "\u00a0") {
		t.Fatalf("the seed article is not what this test reads: %d lines", len(want))
	}
	if got := strings.Split(doc.Text, "\n"); !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("line %d: got %q, want %q (%d lines, want %d)", i+1, got[i], want[i], len(got), len(want))
			}
		}
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
}
