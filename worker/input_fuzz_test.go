package worker

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/winnow-dev/winnow/schemas"
)

// FuzzDecodeInput: any body under any Content-Type (a charset among them),
// Content-Encoding and id header gives a document of valid UTF-8 within the
// size limit, or an *InputError with a reason; never a panic.
func FuzzDecodeInput(f *testing.F) {
	for _, s := range []struct{ ct, id, body string }{
		{"text/plain; charset=windows-1252", "a", "caf\xe9"},
		{"text/plain;charset=Shift_JIS", "b", "\x93\xfa\x96\x7b\x8c\xea"},
		{"text/plain; charset=utf-16le", "c", "\xff\xfeh\x00"},
		{"text/plain; charset=iso-2022-jp", "d", "\x1b$B"},
		{"application/json", "", `{"id":"e","text":"x"}`},
		{"", "", `{"id":"f","Text":"x","text":"y"}`},
		{"text/plain; charset=gb18030", "g", "\x81\x30\x81\x30"},
		{"text/plain; charset=\"", "h", "x"},
		{"text/html", "n", "<meta charset=\"windows-1252\"><p>caf\xe9</p><script>x()</script>"},
		{"text/html; charset=utf-16le", "o", "<\x00p\x00>\x00h\x00"},
		{"", "p", "<!DOCTYPE html><title>t</title><p>a<br>b</p>"},
	} {
		f.Add(s.ct, "", s.id, []byte(s.body))
	}
	f.Add("text/plain; charset=windows-1252", "gzip", "i", gzipped(f, []byte("caf\xe9")))
	f.Add("", "deflate", "", zlibbed(f, []byte(`{"id":"j","text":"x"}`)))
	f.Add("", "zstd", "k", zstded(f, []byte("plain text")))
	f.Add("", "gzip", "l", gzipped(f, make([]byte, 8192))) // inflates past the limit
	f.Add("", "br", "m", []byte("x"))
	const limit = 4096
	f.Fuzz(func(t *testing.T, ct, enc, id string, body []byte) {
		h := nats.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		if enc != "" {
			h.Set("Content-Encoding", enc)
		}
		if id != "" {
			h.Set(HeaderID, id)
		}
		d, err := decodeInput(body, h, limit)
		if err != nil {
			var ie *schemas.InputError
			if !errors.As(err, &ie) || ie.Reason == "" || ie.Detail == "" {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if d.ID == "" || !utf8.ValidString(d.Text) || len(d.Text) > limit {
			t.Fatalf("document %q of %d bytes (valid UTF-8 %v) from %q", d.ID, len(d.Text), utf8.ValidString(d.Text), body)
		}
	})
}
