package schemas

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecodeDocument: decoding never panics, is deterministic, classifies
// every failure, and accepts exactly what encoding/json accepts, decoding
// the same id and text (the fast decoder must not change the contract).
func FuzzDecodeDocument(f *testing.F) {
	for _, s := range []string{`{"id":"a","text":"b"}`, `{"id":1,"text":"b"}`, `{"id":"a"}`, `[]`, ``, `{"id":"a","text":"\u00e9\ud83d\ude00"}`,
		`{"id":"a","text":"x","metadata":{"k":[1,{"z":null}]}}`, `{"id":"a","text":"x","fetched_at":"2026-01-02T03:04:05Z"}`, "{\"id\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d1, err1 := DecodeDocument(b)
		d2, err2 := DecodeDocument(b)
		if (err1 == nil) != (err2 == nil) || d1.ID != d2.ID || d1.Text != d2.Text {
			t.Fatal("not deterministic")
		}
		if err1 != nil {
			var ie *InputError
			if !errors.As(err1, &ie) || ie.Reason == "" || !errors.Is(err1, ErrInvalid) {
				t.Fatalf("unclassified error %v", err1)
			}
			return
		}
		if d1.ID == "" {
			t.Fatal("accepted a document without an id")
		}
		// The reference: encoding/json, key by key as the schema matches
		// them (encoding/json's own struct decoding ignores case).
		var w wireDocument
		if err := decodeExact(bytes.TrimSpace(TrimBOM(b)), &w); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		if w.ID == nil || *w.ID != d1.ID || w.Text == nil || *w.Text != d1.Text {
			t.Fatalf("decoders disagree: %q/%q vs %v/%v", d1.ID, d1.Text, w.ID, w.Text)
		}
	})
}

// FuzzDecoderAgreesWithSchema: DecodeDocument accepts exactly the inputs
// schemas/v1/document.json accepts, apart from the limits a schema cannot
// state (UTF-8, nesting depth) and the byte order mark RFC 8259 lets a
// parser skip. The seeds are the fixtures of TestDocumentFixtures and
// values at the edges of each field's rule.
func FuzzDecoderAgreesWithSchema(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "document", "*", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{`{"id":"` + strings.Repeat("日", MaxIDChars) + `","text":""}`,
		`{"id":"a","text":"x","fetched_at":"2026-11-28T23:59:60Z"}`, `{"id":"a","text":"x","fetched_at":"2026-11-28T12:00:00.5+14:00"}`,
		`{"id":"a","text":"x","fetched_at":"2026-02-30T12:00:00Z"}`, `{"id":"a","text":"x","metadata":null}`,
		`{"id":"a","id":1,"text":"x"}`, `{"id":"a","text":"x"} {}`, `{"id":"\ud800","text":"x"}`,
		`{"id":"a","html":"<p>x</p>"}`, `{"id":"a","text":null,"html":null}`, `{"id":"a","Html":"x"}`, `{"id":"a","text":null,"html":"<b>"}`} {
		f.Add([]byte(s))
	}
	schema := compile(f, DocumentV1)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := DecodeDocument(b)
		var ie *InputError
		if errors.As(err, &ie) && (ie.Reason == ReasonInvalidUTF8 || ie.Reason == ReasonTooDeep) {
			return
		}
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte("\ufeff")) {
			return
		}
		schemaErr := validate(schema, b)
		if (err == nil) != (schemaErr == nil) {
			t.Fatalf("%q: decoder %v, schema %v", b, err, schemaErr)
		}
	})
}

// FuzzNesting: scan, which skips strings a quote at a time, measures the
// depth a byte-at-a-time walk measures, on any input.
func FuzzNesting(f *testing.F) {
	for _, s := range []string{`{"a":"[[[{{{"}`, `{"a":"x\"[[","b":[[]]}`, `{"a":"x\\","b":[[]]}`, `{"a":"x\\\"[","b":[]}`,
		`[[["unterminated`, `"\`, `{}}}[[`, `{"a":"\"[[["}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		depth, deepest, inStr := 0, 0, false
		for i := 0; i < len(b); i++ {
			switch c := b[i]; {
			case inStr && c == '\\':
				i++
			case inStr && c == '"':
				inStr = false
			case inStr:
			case c == '"':
				inStr = true
			case c == '{' || c == '[':
				depth++
				deepest = max(deepest, depth)
			case c == '}' || c == ']':
				depth--
			}
		}
		if got, _ := scan(b); got != deepest {
			t.Fatalf("%q: scan's depth %d, want %d", b, got, deepest)
		}
	})
}
