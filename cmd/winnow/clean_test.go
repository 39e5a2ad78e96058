package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/winnow-dev/winnow/schemas"
)

// gzipFile writes b gzipped (two members, as `cat a.gz b.gz` makes) to a
// file named name in a new directory, and returns its path.
func gzipFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	var out bytes.Buffer
	for _, part := range [][]byte{b[:len(b)/2], b[len(b)/2:]} {
		zw := gzip.NewWriter(&out)
		if _, err := zw.Write(part); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCleanReadsGzip: `winnow clean` reads a gzipped JSON-lines file as
// the lines it holds, whatever its name and from standard input too (it
// rejected every line, invalid_utf8 "byte 0x8b at offset 1"), and a gzip
// file cut short is a fatal error naming it, not records up to the cut.
func TestCleanReadsGzip(t *testing.T) {
	docs := []byte(`{"id":"a","text":"The harbour at dawn.\nThe harbour at dawn.\nBoats came in."}` + "\n" +
		`{"id":"b","text":"The market opened late.\nFish sold out by noon."}` + "\n" +
		`{"id":"c","text":"Boats came in.\nThe harbour at dawn."}` + "\n")
	plain := filepath.Join(t.TempDir(), "docs.jsonl")
	if err := os.WriteFile(plain, docs, 0o644); err != nil {
		t.Fatal(err)
	}
	want := cleanFile(t, plain)
	if n := bytes.Count(want, []byte("\n")); n != 3 {
		t.Fatalf("plain file: %d records, want 3:\n%s", n, want)
	}
	for _, name := range []string{"docs.jsonl.gz", "docs.jsonl"} {
		if got := cleanFile(t, gzipFile(t, name, docs)); !bytes.Equal(got, want) {
			t.Errorf("%s gzipped: got\n%s\nwant\n%s", name, got, want)
		}
	}
	gz := gzipFile(t, "docs.jsonl.gz", docs)
	zb, err := os.ReadFile(gz)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"clean", "--quiet"}, bytes.NewReader(zb), &out, &errb); code != exitOK || !bytes.Equal(out.Bytes(), want) {
		t.Errorf("gzip on standard input: exit %d, %s\n%s", code, errb.String(), out.Bytes())
	}

	cut := filepath.Join(t.TempDir(), "cut.jsonl.gz")
	if err := os.WriteFile(cut, zb[:len(zb)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	code := Main(context.Background(), []string{"clean", "--quiet", cut}, nil, &out, &errb)
	if code != exitFatal || !strings.Contains(errb.String(), cut+": unexpected EOF") {
		t.Fatalf("a gzip file cut short: exit %d, stderr %q; want exit %d naming the file", code, errb.String(), exitFatal)
	}
}

// cleanRun runs `winnow clean --quiet ARGS` in-process on stdin and
// returns its exit code, stdout, the dead letters on stderr and stderr.
func cleanRun(t *testing.T, stdin io.Reader, args ...string) (int, string, []schemas.DeadLetter, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"clean", "--quiet"}, args...), stdin, &out, &errb)
	var dls []schemas.DeadLetter
	for _, l := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
		var dl schemas.DeadLetter
		if l != "" && json.Unmarshal([]byte(l), &dl) == nil && dl.Schema == schemas.DeadLetterV1 {
			dls = append(dls, dl)
		}
	}
	return code, out.String(), dls, errb.String()
}

// repeatByte reads as an endless run of its byte.
type repeatByte byte

func (r repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestCleanMaxDocBytes: a line longer than max_doc_bytes is rejected
// too_large, as the worker dead-letters such a message, with its size and
// first bytes, and read no further than the limit: a 64 MiB line took
// memory in proportion (a 70 MB one, 1.1 GB RSS). A line of exactly the
// limit, CRLF-ended, is cleaned; --max-doc-bytes 0 lifts the limit. The
// flag takes a size as the configuration does (2KiB; 2KB is refused, and
// says why).
func TestCleanMaxDocBytes(t *testing.T) {
	doc := func(id string, textLen int) string {
		return `{"id":"` + id + `","text":"` + strings.Repeat("word ", textLen/5) + `"}`
	}
	fits := doc("fits", 2000)
	over := doc("over", 3000)
	const limit = 2048
	pad := `{"id":"exact","text":"` + strings.Repeat("w", limit-len(`{"id":"exact","text":""}`)) + `"}`
	in := fits + "\n" + over + "\n" + pad + "\r\n"
	clean := func(stdin io.Reader, args ...string) (int, string, []schemas.DeadLetter) {
		t.Helper()
		code, out, dls, _ := cleanRun(t, stdin, args...)
		return code, out, dls
	}
	code, out, dls := clean(strings.NewReader(in), "--max-doc-bytes", "2KiB")
	if code != exitRejected || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"id":"fits"`) || !strings.Contains(out, `"id":"exact"`) {
		t.Fatalf("--max-doc-bytes %d: exit %d, records:\n%s", limit, code, out)
	}
	if len(dls) != 1 || dls[0].Reason != schemas.ReasonTooLarge || dls[0].Line != 2 || dls[0].Size != len(over) || dls[0].Truncated ||
		dls[0].Data != over || !strings.Contains(dls[0].Error, fmt.Sprintf("%d bytes is over the %d-byte limit", len(over), limit)) {
		t.Fatalf("the long line's reject: %+v", dls)
	}
	if code, out, dls := clean(strings.NewReader(in), "--max-doc-bytes", "0"); code != exitOK || strings.Count(out, "\n") != 3 || len(dls) != 0 {
		t.Fatalf("--max-doc-bytes 0: exit %d, %d records, rejects %+v", code, strings.Count(out, "\n"), dls)
	}
	if code, out, _, stderr := cleanRun(t, strings.NewReader(in), "--max-doc-bytes", "2KB"); code != exitFatal || out != "" ||
		!strings.Contains(stderr, `invalid value "2KB" for flag -max-doc-bytes: KB means 1000s to some and 1024s to others: say KiB`) {
		t.Fatalf("--max-doc-bytes 2KB: exit %d, records %q, stderr:\n%s", code, out, stderr)
	}

	// 64 MiB on one line under the default 1 MiB limit, then a document.
	const huge = 64 << 20
	stdin := io.MultiReader(strings.NewReader(`{"id":"huge","text":"`), io.LimitReader(repeatByte('x'), huge), strings.NewReader("\"}\n"+fits+"\n"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, out, dls = clean(stdin)
	runtime.ReadMemStats(&after)
	if code != exitRejected || !strings.Contains(out, `"id":"fits"`) || len(dls) != 1 {
		t.Fatalf("a 64 MiB line: exit %d, %d records, %d rejects", code, strings.Count(out, "\n"), len(dls))
	}
	if dl := dls[0]; dl.Size != huge+len(`{"id":"huge","text":""}`) || !dl.Truncated || len(dl.Data) != schemas.KeepBytes || dl.Line != 1 {
		t.Fatalf("a 64 MiB line: rejected line %d, size %d, truncated %v, %d bytes kept", dl.Line, dl.Size, dl.Truncated, len(dl.Data))
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Errorf("rejecting a 64 MiB line allocated %d MiB; the 1 MiB limit should cost a few", n>>20)
	}
}

// TestCleanText: with --text each file is one plain-text document whose id
// is its name, cleaned as its JSON line would be (the same record), read as
// the worker reads a text/plain body: gzipped or not, in the charset
// --charset names, and rejected as the worker rejects one (empty, not
// UTF-8, over --max-doc-bytes), the dead letter naming the file.
func TestCleanText(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string { return writeFile(t, dir, name, b) }
	text := "Harbour report\r\nBoats came in at dawn with the first catch of the season.\r\n" +
		"Boats came in at dawn with the first catch of the season.\r\nSubscribe for free to our newsletter!\r\nFish sold out by noon."
	a, cp := write("a.txt", []byte(text)), write("copy.txt", []byte(text))
	clean := func(stdin io.Reader, args ...string) (int, []string, []schemas.DeadLetter, string) {
		t.Helper()
		code, out, dls, stderr := cleanRun(t, stdin, args...)
		return code, strings.Split(strings.TrimSuffix(out, "\n"), "\n"), dls, stderr
	}
	line, _ := json.Marshal(schemas.Document{ID: a, Text: text})
	code, want, _, _ := clean(bytes.NewReader(line))
	if code != exitOK || len(want) != 1 || !strings.Contains(want[0], `"exact_repeat"`) || !strings.Contains(want[0], `"promotional"`) {
		t.Fatalf("the JSON line: exit %d, %q", code, want)
	}

	code, got, _, stderr := clean(nil, "--text", a, cp)
	var second schemas.Record
	if code != exitOK || len(got) != 2 || got[0] != want[0] || json.Unmarshal([]byte(got[1]), &second) != nil ||
		second.ID != cp || second.DuplicateOf != a {
		t.Fatalf("--text %s %s: exit %d, %s\nrecords %q\nwant the JSON line's record, then a duplicate of it", a, cp, code, stderr, got)
	}
	var rec schemas.Record
	if code, got, _, _ := clean(nil, "--text", gzipFile(t, "a.txt.gz", []byte(text))); code != exitOK || len(got) != 1 ||
		json.Unmarshal([]byte(got[0]), &rec) != nil || !strings.Contains(want[0], `"text":`+string(must(json.Marshal(rec.Text)))) {
		t.Errorf("a gzipped file: exit %d, %q", code, got)
	}
	if code, got, _, _ := clean(strings.NewReader(text), "--text"); code != exitOK || len(got) != 1 || !strings.HasPrefix(got[0], `{"schema":"winnow.v1.record","id":"-",`) {
		t.Errorf("standard input: exit %d, %q", code, got)
	}

	latin := write("w1252.txt", []byte("Caf\xe9 au lait at the corner shop.\nCaf\xe9 au lait at the corner shop.\n"))
	if code, got, _, _ := clean(nil, "--text", "--charset", "windows-1252", latin); code != exitOK || len(got) != 1 || !strings.Contains(got[0], `"text":"Café au lait at the corner shop."`) {
		t.Errorf("--charset windows-1252: exit %d, %q", code, got)
	}
	big := write("big.txt", bytes.Repeat([]byte("word "), 600))
	empty := write("empty.txt", nil)
	code, got, dls, stderr := clean(nil, "--text", "--max-doc-bytes", "2048", latin, empty, big, a)
	if code != exitRejected || len(got) != 1 || !strings.Contains(got[0], `"id":`+string(must(json.Marshal(a)))) || len(dls) != 3 {
		t.Fatalf("three bad files and a good one: exit %d, records %q, stderr %s", code, got, stderr)
	}
	for i, w := range []struct {
		reason schemas.Reason
		path   string
	}{{schemas.ReasonInvalidUTF8, latin}, {schemas.ReasonEmpty, empty}, {schemas.ReasonTooLarge, big}} {
		dl := dls[i]
		data, _ := dl.Bytes()
		src, _ := os.ReadFile(w.path)
		if dl.Reason != w.reason || dl.ID != w.path || dl.Subject != w.path || dl.Line != 0 || dl.Size != len(src) || dl.Truncated || !bytes.Equal(data, src) {
			t.Errorf("%s: dead letter %+v, want %s with the file's %d bytes", w.path, dl, w.reason, len(src))
		}
	}
	if !strings.Contains(dls[0].Error, "byte 0xe9 at offset 3") {
		t.Errorf("invalid_utf8 says %q, not where", dls[0].Error)
	}

	// --max-doc-bytes 0 lifts the limit (it read nothing: an "empty" dead letter).
	if code, got, dls, _ := clean(nil, "--text", "--max-doc-bytes", "0", big); code != exitOK || len(got) != 1 || len(dls) != 0 ||
		!strings.Contains(got[0], `"bytes_in":3000`) {
		t.Errorf("--max-doc-bytes 0: exit %d, records %q, rejects %+v", code, got, dls)
	}

	for _, args := range [][]string{{"--charset", "windows-1252", a}, {"--text", "--charset", "klingon", a}} {
		if code, _, _, stderr := clean(nil, args...); code != exitFatal || !strings.Contains(stderr, "--charset") {
			t.Errorf("%q: exit %d, %q; want a usage error", args, code, stderr)
		}
	}
}

// writeFile writes b to dir/name, making dir if need be, and returns the
// path.
func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestCleanHTML: with --html each file is one page, cleaned as the text a
// browser shows (the record of the same text as a JSON line), its charset
// from --charset or its <meta>; a page with no visible text is rejected
// as the worker rejects one; --html with --text is a usage error.
func TestCleanHTML(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string { return writeFile(t, dir, name, b) }
	text := "Harbour report\nBoats came in at dawn with the first catch of the season.\n" +
		"Boats came in at dawn with the first catch of the season.\nSubscribe for free to our newsletter!\nFish sold out by noon."
	page := write("a.html", []byte(`<!DOCTYPE html><html><head><title>Harbour</title><script>track()</script></head><body>
<h1>Harbour report</h1>
<p>Boats came in at dawn with the first catch of the season.</p>
<p>Boats came in at   dawn with the first catch
of the season.</p>
<aside><p>Subscribe for free to our newsletter!</p></aside>
<p>Fish sold out by noon.</p>
</body></html>`))
	line, _ := json.Marshal(schemas.Document{ID: page, Text: text})
	code, want, _, _ := cleanRun(t, bytes.NewReader(line))
	if code != exitOK || !strings.Contains(want, `"exact_repeat"`) || !strings.Contains(want, `"promotional"`) {
		t.Fatalf("the JSON line: exit %d, %q", code, want)
	}
	if code, got, _, stderr := cleanRun(t, nil, "--html", page); code != exitOK || got != want {
		t.Errorf("--html %s: exit %d, %s\n got %q\nwant %q (the JSON line's record)", page, code, stderr, got, want)
	}

	latin := write("w1252.html", []byte("<meta charset=\"windows-1252\"><p>Caf\xe9 au lait at the corner shop.</p>"))
	if code, got, _, _ := cleanRun(t, nil, "--html", latin); code != exitOK || !strings.Contains(got, `"text":"Café au lait at the corner shop."`) {
		t.Errorf("a page in windows-1252 by its <meta>: exit %d, %q", code, got)
	}
	if code, got, _, _ := cleanRun(t, nil, "--html", "--charset", "iso-8859-1", latin); code != exitOK || !strings.Contains(got, `"text":"Café au lait at the corner shop."`) {
		t.Errorf("--charset iso-8859-1: exit %d, %q", code, got)
	}
	blank := write("blank.html", []byte("<html><head><script>x()</script></head><body></body></html>"))
	code, _, dls, stderr := cleanRun(t, nil, "--html", blank)
	if code != exitRejected || len(dls) != 1 || dls[0].Reason != schemas.ReasonEmpty || !strings.Contains(dls[0].Error, "no visible text") {
		t.Errorf("a page with no visible text: exit %d, %s, dead letters %+v", code, stderr, dls)
	}
	if code, _, _, stderr := cleanRun(t, nil, "--html", "--text", page); code != exitFatal || !strings.Contains(stderr, "--text and --html") {
		t.Errorf("--html --text: exit %d, %q; want a usage error", code, stderr)
	}
}
