package schemas

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecodeDocument: decoding never panics, is deterministic, classifies
// every failure, and accepts exactly what encoding/json accepts (the fast
// decoder must not change the contract).
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
		var w wireDocument
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		if w.ID == nil || *w.ID != d1.ID || w.Text == nil || *w.Text != d1.Text {
			t.Fatalf("decoders disagree: %q/%q vs %v/%v", d1.ID, d1.Text, w.ID, w.Text)
		}
	})
}
