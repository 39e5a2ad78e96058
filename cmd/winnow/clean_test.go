package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
