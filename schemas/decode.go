package schemas

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"

	"github.com/winnow-dev/winnow/internal/htmltext"
)

// Reason classifies why an input was dead-lettered.
type Reason string

// Dead-letter reasons.
const (
	ReasonEmpty        Reason = "empty"
	ReasonInvalidUTF8  Reason = "invalid_utf8"
	ReasonInvalidJSON  Reason = "invalid_json"
	ReasonTooDeep      Reason = "too_deep"
	ReasonWrongType    Reason = "wrong_type"
	ReasonMissingID    Reason = "missing_id"
	ReasonMissingText  Reason = "missing_text"
	ReasonInvalidField Reason = "invalid_field"
	ReasonNoID         Reason = "no_id"
	ReasonTooLarge     Reason = "too_large"
	// ReasonInvalidContentEncoding: a Content-Encoding winnow does not
	// read, or a body that does not decompress as it says.
	ReasonInvalidContentEncoding Reason = "invalid_content_encoding"
	ReasonMaxDeliveries          Reason = "max_deliveries"
	ReasonProcessingFailed       Reason = "processing_failed"
)

// Reasons lists every dead-letter reason, as schemas/v1/dead_letter.json
// enumerates them.
var Reasons = []Reason{ReasonEmpty, ReasonInvalidUTF8, ReasonInvalidJSON, ReasonTooDeep, ReasonWrongType,
	ReasonMissingID, ReasonMissingText, ReasonInvalidField, ReasonNoID, ReasonTooLarge, ReasonInvalidContentEncoding,
	ReasonMaxDeliveries, ReasonProcessingFailed}

// ErrInvalid is wrapped by every *InputError, for callers that only need to
// know the input (not winnow) is at fault.
var ErrInvalid = errors.New("schemas: invalid input")

// InputError says why an input is not a valid document.
type InputError struct {
	Reason Reason
	Detail string
	// ID is the document id when it could be read.
	ID string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("schemas: %s: %s", e.Reason, e.Detail)
}

// Unwrap lets errors.Is(err, ErrInvalid) hold.
func (e *InputError) Unwrap() error { return ErrInvalid }

// MaxIDChars is the longest document id in characters, as
// winnow.v1.document's id maxLength counts them (JSON Schema counts code
// points, not bytes): an id is every output's Nats-Msg-Id, which the
// output stream keeps for its duplicate window.
const MaxIDChars = 1024

// IDTooLong reports whether id has more than MaxIDChars characters.
func IDTooLong(id string) bool {
	return len(id) > MaxIDChars && utf8.RuneCountInString(id) > MaxIDChars
}

// MaxDepth is the deepest nesting of objects and arrays an input may have.
const MaxDepth = 32

// WhereNotUTF8 says where b stops being UTF-8: the first byte that starts
// no valid sequence and its offset ("byte 0xe9 at offset 27"), so an
// operator can find it in a dead letter's data. b must not be valid UTF-8.
func WhereNotUTF8(b []byte) string {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Sprintf("byte 0x%02x at offset %d", b[i], i)
		}
		i += size
	}
	return "valid UTF-8"
}

// TrimBOM returns b without a leading UTF-8 byte order mark. RFC 8259
// (section 8.1) lets a parser ignore one, and a document saved by a tool
// that writes one is otherwise refused as not an object (encoding/json
// rejects it) or, in the worker, taken for a plain-text body.
func TrimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\ufeff")) }

// DecodeDocument decodes and validates one JSON document against
// winnow.v1.document. Every failure is an *InputError.
func DecodeDocument(b []byte) (Document, error) {
	var d Document
	trimmed := bytes.TrimSpace(TrimBOM(b))
	if len(trimmed) == 0 {
		return d, &InputError{Reason: ReasonEmpty, Detail: "empty input"}
	}
	if !utf8.Valid(b) {
		return d, &InputError{Reason: ReasonInvalidUTF8, Detail: "input is not valid UTF-8: " + WhereNotUTF8(b)}
	}
	depth, variantKey := scan(trimmed)
	if depth > MaxDepth {
		return d, &InputError{Reason: ReasonTooDeep, Detail: fmt.Sprintf("nesting deeper than %d", MaxDepth)}
	}
	if trimmed[0] != '{' {
		// Valid JSON of another type is the wrong type; anything else
		// ("not json", a second byte order mark) is no JSON at all.
		if !json.Valid(trimmed) {
			return d, &InputError{Reason: ReasonInvalidJSON, Detail: "input is not JSON: a document is a JSON object"}
		}
		return d, &InputError{Reason: ReasonWrongType, Detail: "document must be a JSON object, got " + jsonKind(trimmed[0])}
	}
	// encoding/json's validator first: goccy/go-json skips unknown fields
	// without checking them (a fuzz test found it accepting {"":{{}}}).
	if !json.Valid(trimmed) {
		var v any
		err := json.Unmarshal(trimmed, &v) // for the message
		return d, &InputError{Reason: ReasonInvalidJSON, Detail: fmt.Sprint(err)}
	}
	var w wireDocument
	// goccy/go-json decodes into the struct at two to three times
	// encoding/json's speed; but it takes a key for a field whatever its
	// case ("Text" for text), as encoding/json does, where the schema
	// matches names exactly: a document with such a key is decoded key by
	// key.
	if variantKey {
		if err := decodeExact(trimmed, &w); err != nil {
			return d, err
		}
	} else if err := gojson.Unmarshal(trimmed, &w); err != nil {
		var te *gojson.UnmarshalTypeError
		if errors.As(err, &te) {
			return d, &InputError{Reason: ReasonWrongType, Detail: fmt.Sprintf("field %q: want %s, got %s", wireName(te.Field), te.Type, te.Value), ID: deref(w.ID)}
		}
		return d, &InputError{Reason: ReasonInvalidJSON, Detail: err.Error()}
	}
	d = Document{ID: deref(w.ID), Text: deref(w.Text), URL: w.URL, Source: w.Source, Title: w.Title, Lang: w.Lang,
		FetchedAt: w.FetchedAt, ContentType: w.ContentType, Metadata: w.Metadata}
	switch {
	case d.ID == "":
		return d, &InputError{Reason: ReasonMissingID, Detail: `field "id" is required and must be a non-empty string`}
	case IDTooLong(d.ID):
		return d, &InputError{Reason: ReasonInvalidField, Detail: fmt.Sprintf(`field "id" is longer than %d characters`, MaxIDChars)}
	case w.Text == nil && w.HTML == nil:
		return d, &InputError{Reason: ReasonMissingText, Detail: `field "text" is required and must be a string (or "html", the page's HTML)`, ID: d.ID}
	}
	if d.FetchedAt != "" {
		if _, ok := ParseDateTime(d.FetchedAt); !ok {
			return d, &InputError{Reason: ReasonInvalidField, ID: d.ID, Detail: fmt.Sprintf(
				`field "fetched_at": %s is not an RFC 3339 date-time, such as 2026-11-28T09:30:00Z (a time zone offset is required)`, quoteShort(d.FetchedAt))}
		}
	}
	if bytes.Equal(bytes.TrimSpace(d.Metadata), []byte("null")) {
		d.Metadata = nil // as absent, like the other optional fields' null
	}
	if len(d.Metadata) > 0 && !bytes.HasPrefix(bytes.TrimSpace(d.Metadata), []byte("{")) {
		return d, &InputError{Reason: ReasonWrongType, Detail: `field "metadata" must be an object`, ID: d.ID}
	}
	if w.Text == nil { // the page, not its text: what a browser shows of it
		d.Text = htmltext.Text([]byte(*w.HTML))
	}
	return d, nil
}

// ParseDateTime parses an RFC 3339 date-time (section 5.6) as the JSON
// Schema format "date-time" has it: "T" and "Z" in either case, and a leap
// second at 23:59:60 UTC (read as the second before it), which time.Parse
// refuses.
func ParseDateTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return time.Time{}, false
		}
	}
	s = strings.ToUpper(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if len(s) < 19 || s[17:19] != "60" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s[:17]+"59"+s[19:])
	if err != nil || t.UTC().Hour() != 23 || t.UTC().Minute() != 59 {
		return time.Time{}, false
	}
	return t, true
}

// quoteShort quotes s for an error, its first 40 bytes when longer.
func quoteShort(s string) string {
	if len(s) <= 40 {
		return strconv.Quote(s)
	}
	return strconv.Quote(CutUTF8(s, 40)) + "..."
}

// CutUTF8 returns the longest prefix of s of at most n bytes that does not
// end inside a character: a header, log line or message cut at n bytes
// would otherwise not be UTF-8.
func CutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// wireNames maps wireDocument's Go field names to their JSON names.
var wireNames = func() map[string]string {
	m := map[string]string{}
	t := reflect.TypeFor[wireDocument]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[t.Field(i).Name] = name
	}
	return m
}()

// wireName is the JSON name of the field goccy/go-json names by its Go
// name in a type error ("Text" for "text").
func wireName(field string) string {
	if name, ok := wireNames[field]; ok {
		return name
	}
	return field
}

// jsonKind names the JSON type a valid value opening with c has.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// wireDocument is Document with the required fields as pointers, so one
// decode tells a missing or null field from an empty one.
type wireDocument struct {
	ID          *string         `json:"id"`
	Text        *string         `json:"text"`
	HTML        *string         `json:"html"`
	URL         string          `json:"url"`
	Source      string          `json:"source"`
	Title       string          `json:"title"`
	Lang        string          `json:"lang"`
	FetchedAt   string          `json:"fetched_at"`
	ContentType string          `json:"content_type"`
	Metadata    json.RawMessage `json:"metadata"`
}

// scan walks a JSON text once, without parsing it, skipping each string
// to its closing quote (bytes.IndexByte), so a long text costs little. It
// returns the deepest nesting of arrays and objects, so a depth bomb is
// refused before the decoder recurses into it, and whether the object has
// a top-level key that names a field of wireDocument only when case is
// ignored ("ID", "Text", "fetched_At") or holds an escape (compared only
// once unescaped), which goccy/go-json would take for the field.
func scan(b []byte) (deepest int, variantKey bool) {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		case '"':
			end := stringEnd(b, i+1)
			if !variantKey && depth == 1 && isKey(b, end+1) {
				k := b[i+1 : end]
				exact, folded := fieldMatch(k)
				variantKey = bytes.IndexByte(k, '\\') >= 0 || (folded && !exact)
			}
			i = end
		}
	}
	return deepest, variantKey
}

// stringEnd returns the index of the quote that ends the string starting
// at b[i] (just past its opening quote); len(b)-1 when none does.
func stringEnd(b []byte, i int) int {
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b) - 1
		}
		q += i
		n := 0 // backslashes before the quote
		for n < q-i && b[q-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return q
		}
		i = q + 1
	}
}

// isKey reports whether the string that ended before b[i] is an object
// key: the next byte other than white space is a colon.
func isKey(b []byte, i int) bool {
	for ; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
		case ':':
			return true
		default:
			return false
		}
	}
	return false
}

// fieldMatch says whether k is a wireDocument field's JSON name, or equals
// one under Unicode case folding (so "ſource", with a long s, folds).
func fieldMatch(k []byte) (exact, folded bool) {
	for _, name := range wireFields {
		if string(k) == string(name) {
			return true, true
		}
	}
	for _, name := range wireFields {
		if len(k) >= len(name) && bytes.EqualFold(k, name) {
			return false, true
		}
	}
	return false, false
}

// wireFields are wireDocument's JSON names.
var wireFields = func() [][]byte {
	var names [][]byte
	for _, name := range wireNames {
		names = append(names, []byte(name))
	}
	return names
}()

// decodeExact decodes the object b into w matching keys exactly, as the
// schema does (the last of two equal keys wins, as with encoding/json).
func decodeExact(b []byte, w *wireDocument) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return &InputError{Reason: ReasonInvalidJSON, Detail: err.Error()}
	}
	fields := []struct {
		name string
		dst  any
	}{{"id", &w.ID}, {"text", &w.Text}, {"html", &w.HTML}, {"url", &w.URL}, {"source", &w.Source}, {"title", &w.Title}, {"lang", &w.Lang},
		{"fetched_at", &w.FetchedAt}, {"content_type", &w.ContentType}, {"metadata", &w.Metadata}}
	for _, f := range fields {
		raw, ok := m[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return &InputError{Reason: ReasonWrongType, Detail: fmt.Sprintf("field %q: want %s, got %s", f.name, te.Type, te.Value), ID: deref(w.ID)}
			}
			return &InputError{Reason: ReasonInvalidJSON, Detail: err.Error()}
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// KeepBytes is how much of an oversized input a dead letter keeps.
const KeepBytes = 64 << 10

// NewDeadLetter builds the dead-letter record for an input: the original
// bytes (as text when valid UTF-8, else base64), at most KeepBytes of them
// when the input is larger.
func NewDeadLetter(reason Reason, detail string, id string, data []byte) DeadLetter {
	return NewDeadLetterKeeping(reason, detail, id, data, KeepBytes)
}

// NewDeadLetterKeeping is NewDeadLetter keeping at most keep bytes: a
// worker keeps every byte of an input it accepted, so the dead letter can
// be redriven, and cuts only those over its size limit.
func NewDeadLetterKeeping(reason Reason, detail string, id string, data []byte, keep int) DeadLetter {
	dl := DeadLetter{Schema: DeadLetterV1, Reason: reason, Error: detail, ID: id, Size: len(data)}
	if len(data) > keep {
		data = data[:keep]
		dl.Truncated = true
	}
	if utf8.Valid(data) {
		dl.Encoding, dl.Data = "utf-8", string(data)
	} else if dl.Truncated && utf8.Valid(trimPartialRune(data)) {
		dl.Encoding, dl.Data = "utf-8", string(trimPartialRune(data))
	} else {
		dl.Encoding, dl.Data = "base64", base64.StdEncoding.EncodeToString(data)
	}
	return dl
}

// Bytes returns the original bytes a dead letter carries.
func (dl DeadLetter) Bytes() ([]byte, error) {
	if dl.Encoding == "base64" {
		return base64.StdEncoding.DecodeString(dl.Data)
	}
	return []byte(dl.Data), nil
}

func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}
