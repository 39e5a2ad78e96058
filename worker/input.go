package worker

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"github.com/nats-io/nats.go"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/winnow-dev/winnow/internal/htmltext"
	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/schemas"
)

// Header names winnow reads and writes.
const (
	// HeaderID carries a plain-text document's id.
	HeaderID = "Winnow-Id"
	// HeaderReason and HeaderError explain a dead letter.
	HeaderReason = "Winnow-Reason"
	HeaderError  = "Winnow-Error"
	// HeaderSubject is the subject an input arrived on.
	HeaderSubject = "Winnow-Subject"
	// HeaderOutcome is the outcome a record stands for.
	HeaderOutcome = "Winnow-Outcome"
)

// decodeInput turns a message body into a document. A Content-Encoding
// header says how the body was compressed (see decompress). A Content-Type
// header says which a body is: application/json (a JSON document),
// text/plain (plain text, whatever it starts with: code, RTF) or text/html
// (a page, whose visible text is the document's: see htmltext). Without
// one, a body whose first non-space byte (after a byte order mark) is '{'
// is a JSON document, one that opens as browsers take for a page (see
// opensPage: <!DOCTYPE html>, <html>, <p>, a comment...) a page, and any
// other body plain text. Plain text and pages take their id from the
// Winnow-Id or Nats-Msg-Id header. Failures are *schemas.InputError.
func decodeInput(data []byte, h nats.Header, maxBytes int) (schemas.Document, error) {
	if len(data) > maxBytes {
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonTooLarge,
			Detail: fmt.Sprintf("%d bytes is over the %d-byte limit (worker.max_doc_bytes)", len(data), maxBytes), ID: headerID(h)}
	}
	data, err := decompress(data, h, maxBytes)
	if err != nil {
		return schemas.Document{}, err
	}
	mt := mediaType(h)
	switch mt {
	case "application/json":
		return pipeline.Decode(data)
	case "text/plain", "text/html", "application/xhtml+xml":
	default:
		if trimmed := bytes.TrimLeft(schemas.TrimBOM(data), " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
			return pipeline.Decode(data)
		}
	}
	page := readsAsPage(data, mt)
	size, label, what := len(data), charset(h), "plain-text body"
	if page {
		what = "HTML body"
		if label == "" {
			label = htmltext.Charset(data) // <meta charset>, after the header
		}
	}
	data, err = toUTF8(data, label, what)
	if err != nil {
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonInvalidUTF8, Detail: err.Error(), ID: headerID(h)}
	}
	// A byte order mark is no text (UTF-16's survives decoding).
	data = schemas.TrimBOM(data)
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonEmpty, Detail: "empty body", ID: headerID(h)}
	case len(data) > maxBytes: // a charset's one byte may be three of UTF-8
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonTooLarge,
			Detail: fmt.Sprintf("%d bytes decode to %d bytes of UTF-8, over the %d-byte limit (worker.max_doc_bytes)", size, len(data), maxBytes), ID: headerID(h)}
	}
	if page {
		data = []byte(htmltext.Text(data))
		if len(data) == 0 {
			return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonEmpty, Detail: "HTML body with no visible text", ID: headerID(h)}
		}
	}
	id := headerID(h)
	switch {
	case id == "":
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonNoID,
			Detail: "plain-text body without a " + HeaderID + " or " + nats.MsgIdHdr + " header"}
	case schemas.IDTooLong(id):
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonInvalidField,
			Detail: fmt.Sprintf("the id header is longer than %d characters", schemas.MaxIDChars)}
	case !utf8.ValidString(id):
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonInvalidField,
			Detail: "the id header is not valid UTF-8"}
	}
	return schemas.Document{ID: id, Text: string(data)}, nil
}

// DecodeText reads data as one plain-text document with the given id, as
// the worker reads a text/plain body with that id in its Winnow-Id header:
// decoded from charset ("" for UTF-8, which it must then be), its byte
// order mark dropped, held to maxBytes before and after decoding. `winnow
// clean --text` reads files this way. Failures are *schemas.InputError.
func DecodeText(data []byte, id, charset string, maxBytes int) (schemas.Document, error) {
	return decodeAs(data, "text/plain", id, charset, maxBytes)
}

// DecodePage reads data as one HTML page with the given id, as the worker
// reads a text/html body: its visible text (see internal/htmltext),
// decoded from charset, else from the charset its <meta> declares, else
// UTF-8. `winnow clean --html` reads files this way. Failures are
// *schemas.InputError.
func DecodePage(data []byte, id, charset string, maxBytes int) (schemas.Document, error) {
	return decodeAs(data, "text/html", id, charset, maxBytes)
}

// decodeAs reads data as the worker reads a body of the media type, in
// charset when one is given, with the given id in its Winnow-Id header.
func decodeAs(data []byte, mediaType, id, charset string, maxBytes int) (schemas.Document, error) {
	if charset != "" {
		mediaType += "; charset=" + charset
	}
	return decodeInput(data, nats.Header{"Content-Type": {mediaType}, HeaderID: {id}}, maxBytes)
}

// ReadBody returns an input body as the worker reads it, as far as it can:
// decompressed as its Content-Encoding header says, then, when its
// Content-Type names a charset, it opens with a byte order mark or it is a
// page that declares one (<meta charset>, an XML declaration), decoded
// from that to UTF-8. `winnow show` prints a dead letter's bytes this way.
func ReadBody(data []byte, h nats.Header, maxBytes int) ([]byte, error) {
	data, err := decompress(data, h, maxBytes)
	mt := mediaType(h)
	if err != nil || mt == "application/json" {
		return data, err
	}
	label := charset(h)
	if label == "" && bomCharset(data) == "" {
		if !readsAsPage(data, mt) {
			return data, nil
		}
		if label = htmltext.Charset(data); label == "" {
			return data, nil
		}
	}
	return toUTF8(data, label, "body")
}

// readsAsPage reports whether decodeInput reads a decompressed body of
// media type mt (its Content-Type's) as a page: the type says so, or with
// none (or one it does not know) the body opens as a page does.
func readsAsPage(data []byte, mt string) bool {
	switch mt {
	case "text/html", "application/xhtml+xml":
		return true
	case "application/json", "text/plain":
		return false
	}
	return opensPage(bytes.TrimLeft(schemas.TrimBOM(data), " \t\r\n"))
}

// ContentEncodings are the Content-Encoding header values winnow reads, as
// HTTP names them: gzip (or x-gzip), deflate (zlib's format, RFC 9110),
// zstd, and identity (none).
var ContentEncodings = []string{"gzip", "deflate", "zstd", "identity"}

// decompress returns a body as its Content-Encoding header says it was
// compressed, or as it is without one. What it decompresses to is held to
// maxBytes, as an uncompressed body is: a small body that inflates to
// gigabytes is too_large, not read out. Failures are *schemas.InputError.
func decompress(data []byte, h nats.Header, maxBytes int) ([]byte, error) {
	var coding string
	if h != nil {
		coding = strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	}
	var (
		r   io.Reader
		err error
	)
	switch coding {
	case "", "identity":
		return data, nil
	case "gzip", "x-gzip":
		coding = "gzip"
		r, err = gzip.NewReader(bytes.NewReader(data))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(data))
	case "zstd":
		var d *zstd.Decoder
		// One goroutine, and a window no larger than the body may be (or
		// than the 8 MiB zstd's high levels use): a frame that asks for
		// more memory is refused before any is taken.
		d, err = zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(uint64(max(maxBytes, 8<<20))))
		if err == nil {
			defer d.Close()
			r = d
		}
	default:
		return nil, &schemas.InputError{Reason: schemas.ReasonInvalidContentEncoding, ID: headerID(h),
			Detail: fmt.Sprintf("Content-Encoding %q is not one winnow decodes (%s)", h.Get("Content-Encoding"), strings.Join(ContentEncodings, ", "))}
	}
	var out []byte
	if err == nil {
		out, err = io.ReadAll(io.LimitReader(r, int64(maxBytes)+1))
	}
	switch {
	case err != nil:
		return nil, &schemas.InputError{Reason: schemas.ReasonInvalidContentEncoding, ID: headerID(h),
			Detail: fmt.Sprintf("%d-byte body does not decompress as %s: %v", len(data), coding, err)}
	case len(out) > maxBytes:
		return nil, &schemas.InputError{Reason: schemas.ReasonTooLarge, ID: headerID(h),
			Detail: fmt.Sprintf("%d bytes of %s decompress to over the %d-byte limit (worker.max_doc_bytes)", len(data), coding, maxBytes)}
	}
	return out, nil
}

// opensPage reports whether a body with no Content-Type (b, past its byte
// order mark and leading white space) opens as browsers take for a page
// (WHATWG MIME Sniffing's "identify an unknown MIME type", which
// http.DetectContentType implements): <!DOCTYPE HTML, <HTML, <HEAD, <BODY,
// <TITLE, <SCRIPT, <P, <DIV, <TABLE, <A, <B, <BR, <H1, a comment (<!--) and
// a few more, in any case, followed by '>' or a space; <!DOCTYPE html and
// <html followed by any white space too. An XHTML page may open with its
// XML declaration (<?xml ... ?>), which alone browsers take for XML: it is
// a page when a doctype or <html> element of HTML follows, after white
// space and comments.
func opensPage(b []byte) bool {
	if bytes.HasPrefix(b, []byte("<?xml")) {
		end := bytes.Index(b, []byte("?>"))
		if end < 0 {
			return false
		}
		b = pastComments(b[end+2:])
		return opensHTML(b)
	}
	return opensHTML(b) || strings.HasPrefix(http.DetectContentType(b), "text/html")
}

// opensHTML reports b opening with <!DOCTYPE html or <html (in any case)
// followed by '>' or white space.
func opensHTML(b []byte) bool {
	for _, open := range []string{"<!doctype html", "<html"} {
		if len(b) > len(open) && bytes.EqualFold(b[:len(open)], []byte(open)) {
			switch b[len(open)] {
			case '>', ' ', '\t', '\n', '\r', '\f':
				return true
			}
		}
	}
	return false
}

// pastComments returns b past its leading white space and comments.
func pastComments(b []byte) []byte {
	for {
		b = bytes.TrimLeft(b, " \t\r\n\f")
		if !bytes.HasPrefix(b, []byte("<!--")) {
			return b
		}
		end := bytes.Index(b[4:], []byte("-->"))
		if end < 0 {
			return nil
		}
		b = b[4+end+3:]
	}
}

// toUTF8 returns a plain-text or HTML body (what, for its errors) as
// UTF-8: decoded from the charset label names (its Content-Type header's,
// or a page's <meta>; any WHATWG encoding label: windows-1252, iso-8859-1,
// shift_jis, gbk, utf-16le...), else as it is, which must then be valid
// UTF-8. A label winnow does not know is ignored, as browsers ignore one,
// and the body must be UTF-8. A byte order mark says the encoding before
// any label does, as WHATWG's decode has it: a UTF-16 text saved by
// Notepad needs no charset. JSON has no charset (RFC 8259): it never gets
// here.
func toUTF8(data []byte, label, what string) ([]byte, error) {
	name := ""
	if bom := bomCharset(data); bom != "" {
		label = bom
	}
	var enc encoding.Encoding
	if label != "" {
		if e, err := htmlindex.Get(label); err == nil {
			enc = e
			name, _ = htmlindex.Name(e)
		}
	}
	switch name {
	case "utf-8", "": // UTF-8 said, or no charset winnow knows
	case "replacement": // a label for an encoding that is never decoded
		name = ""
	default:
		out, err := enc.NewDecoder().Bytes(data)
		if err != nil {
			return nil, fmt.Errorf("%s is not %s: %w", what, name, err)
		}
		return out, nil
	}
	if utf8.Valid(data) {
		return data, nil
	}
	unknown := ""
	if label != "" && name == "" {
		unknown = fmt.Sprintf(" (charset %q is not one winnow decodes)", label)
	}
	return nil, fmt.Errorf("%s is not valid UTF-8%s: %s", what, unknown, schemas.WhereNotUTF8(data))
}

// bomCharset names the encoding data's byte order mark says, "" when it
// starts with none.
func bomCharset(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xef, 0xbb, 0xbf}):
		return "utf-8"
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return "utf-16be"
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		return "utf-16le"
	}
	return ""
}

// charset is the Content-Type header's charset parameter, "" when none.
func charset(h nats.Header) string {
	if h == nil {
		return ""
	}
	for _, p := range strings.Split(h.Get("Content-Type"), ";")[1:] {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "charset") {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

// mediaType is the Content-Type header's media type, lower case, without
// parameters ("text/plain; charset=utf-8" is "text/plain"); "" when none.
func mediaType(h nats.Header) string {
	if h == nil {
		return ""
	}
	t, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return strings.ToLower(strings.TrimSpace(t))
}

func headerID(h nats.Header) string {
	if h == nil {
		return ""
	}
	if id := h.Get(HeaderID); id != "" {
		return id
	}
	return h.Get(nats.MsgIdHdr)
}
