package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/winnow-dev/winnow/internal/schematest"
)

func compile(t testing.TB, typ string) *jsonschema.Schema {
	t.Helper()
	b, ok := File(typ)
	if !ok {
		t.Fatalf("no schema for %s", typ)
	}
	return schematest.Compile(t, typ, b)
}

func validate(s *jsonschema.Schema, b []byte) error { return schematest.Validate(s, b) }

// TestDocumentFixtures checks that the JSON Schema validator and
// DecodeDocument agree on every good and bad fixture.
func TestDocumentFixtures(t *testing.T) {
	s := compile(t, DocumentV1)
	for _, want := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "document", want, "*.json"))
		if len(files) == 0 {
			t.Fatalf("no %s fixtures", want)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			schemaErr := validate(s, b)
			_, decodeErr := DecodeDocument(b)
			if want == "good" && (schemaErr != nil || decodeErr != nil) {
				t.Errorf("%s: schema %v, decoder %v; want both to accept", f, schemaErr, decodeErr)
			}
			if want == "bad" && (schemaErr == nil || decodeErr == nil) {
				t.Errorf("%s: schema %v, decoder %v; want both to reject", f, schemaErr, decodeErr)
			}
			if want == "bad" && !errors.Is(decodeErr, ErrInvalid) {
				t.Errorf("%s: decoder error %v does not wrap ErrInvalid", f, decodeErr)
			}
		}
	}
}

// TestDecodeByteOrderMark: a leading UTF-8 byte order mark is ignored
// (RFC 8259, section 8.1); what follows it is judged as without it.
func TestDecodeByteOrderMark(t *testing.T) {
	d, err := DecodeDocument([]byte("\ufeff {\"id\":\"a\",\"text\":\"x\"}"))
	if err != nil || d.ID != "a" || d.Text != "x" {
		t.Errorf("got %+v, %v", d, err)
	}
	for in, want := range map[string]Reason{"\ufeff": ReasonEmpty, "\ufeff[1]": ReasonWrongType, "\ufeff\ufeff{}": ReasonInvalidJSON} {
		var ie *InputError
		if _, err := DecodeDocument([]byte(in)); !errors.As(err, &ie) || ie.Reason != want {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
}

func TestDecodeReasons(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	tests := []struct {
		name string
		in   string
		want Reason
	}{
		{"empty", "", ReasonEmpty},
		{"spaces", "  \n", ReasonEmpty},
		{"invalid utf8", "{\"id\":\"a\",\"text\":\"\xff\"}", ReasonInvalidUTF8},
		{"invalid json", `{"id":"a",`, ReasonInvalidJSON},
		{"depth bomb", `{"id":"a","text":"x","metadata":` + deep + `}`, ReasonTooDeep},
		{"array", `[1]`, ReasonWrongType},
		{"string", `"doc"`, ReasonWrongType},
		{"null", `null`, ReasonWrongType},
		{"not json", `not json`, ReasonInvalidJSON},
		{"bare word", `hello {"id":"a","text":"x"}`, ReasonInvalidJSON},
		{"wrong type", `{"id":1,"text":"x"}`, ReasonWrongType},
		{"missing id", `{"text":"x"}`, ReasonMissingID},
		{"null id", `{"id":null,"text":"x"}`, ReasonMissingID},
		{"missing text", `{"id":"a"}`, ReasonMissingText},
		{"bad time", `{"id":"a","text":"x","fetched_at":"noon"}`, ReasonInvalidField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeDocument([]byte(tt.in))
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err %v, want *InputError", err)
			}
			if ie.Reason != tt.want {
				t.Errorf("reason %s, want %s (%v)", ie.Reason, tt.want, err)
			}
		})
	}
}

// TestDecodeSaysWhereUTF8Breaks: an invalid_utf8 dead letter names the
// first bad byte and its offset in the original bytes, past valid
// multi-byte characters before it.
func TestDecodeSaysWhereUTF8Breaks(t *testing.T) {
	for in, want := range map[string]string{
		"{\"id\":\"a\",\"text\":\"caf\xe9\"}":           "byte 0xe9 at offset 21",
		"\ufeff{\"id\":\"é\",\"text\":\"ok \xc3\x28\"}": "byte 0xc3 at offset 25",
		"{\"id\":\"a\",\"text\":\"\xe2\x82\"}":          "byte 0xe2 at offset 18",
		"{\"id\":\"日本\",\"text\":\"x\"}\x80":            "byte 0x80 at offset 26",
	} {
		_, err := DecodeDocument([]byte(in))
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%q: %v, want it to end %q", in, err, want)
		}
	}
}

// TestDecodeQuotesTheDateTime: a fetched_at that is no RFC 3339 date-time
// is quoted (its first 40 bytes) beside the form wanted.
func TestDecodeQuotesTheDateTime(t *testing.T) {
	long := strings.Repeat("é", 30)
	for in, want := range map[string]string{
		"2026-11-28T12:00:00": `"2026-11-28T12:00:00" is not an RFC 3339 date-time, such as 2026-11-28T09:30:00Z`,
		long:                  strconv.Quote(strings.Repeat("é", 20)) + "... is not",
	} {
		_, err := DecodeDocument([]byte(`{"id":"a","text":"x","fetched_at":` + strconv.Quote(in) + `}`))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q in it", in, err, want)
		}
	}
}

// TestDecodeMatchesNamesExactly: a key that names a field only in another
// case is another field, as the schema has it (encoding/json and
// goccy/go-json would take "Text" for text, the last one winning).
func TestDecodeMatchesNamesExactly(t *testing.T) {
	for in, want := range map[string]Document{
		`{"id":"a","text":"body","Text":"other","URL":"u2","url":"u"}`:     {ID: "a", Text: "body", URL: "u"},
		`{"Id":"b","id":"a","text":"body","ſource":"s2","source":"s"}`:     {ID: "a", Text: "body", Source: "s"},
		`{"id":"a","text":"body","ex\"tra":{"Text":"nested"},"title":"T"}`: {ID: "a", Text: "body", Title: "T"},
		`{"id":"a","\u0054ext":"other","text":"body"}`:                     {ID: "a", Text: "body"},
		`{"id":"a","text":"body","\u0054ext":"other"}`:                     {ID: "a", Text: "body"},
		`{"id":"a","\u0074ext":"body"}`:                                    {ID: "a", Text: "body"},
	} {
		got, err := DecodeDocument([]byte(in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v %v, want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]Reason{`{"id":"a","TEXT":"x"}`: ReasonMissingText, `{"iD":"a","text":"x"}`: ReasonMissingID,
		`{"id":"a","Text":"x","text":5}`: ReasonWrongType} {
		_, err := DecodeDocument([]byte(in))
		var ie *InputError
		if !errors.As(err, &ie) || ie.Reason != want {
			t.Errorf("%s: %v, want %s", in, err, want)
		}
	}
}

// TestDecodeNamesTheType: valid JSON that is not an object says what it is.
func TestDecodeNamesTheType(t *testing.T) {
	for in, want := range map[string]string{`[1]`: "an array", `"doc"`: "a string", `true`: "a boolean",
		`null`: "null", `-1.5`: "a number"} {
		_, err := DecodeDocument([]byte(in))
		if err == nil || !strings.HasSuffix(err.Error(), "document must be a JSON object, got "+want) {
			t.Errorf("%s: %v", in, err)
		}
	}
}

// TestDecodeTypeErrorNamesTheJSONField: a field of the wrong type is named
// as the input spells it, not as the Go struct does ("Text").
func TestDecodeTypeErrorNamesTheJSONField(t *testing.T) {
	for in, want := range map[string]string{`{"id":1,"text":"x"}`: `field "id": want string, got number`,
		`{"id":"a","text":5}`:                      `field "text": want string, got number`,
		`{"id":"a","text":"x","fetched_at":5}`:     `field "fetched_at": want string, got number`,
		`{"id":"a","text":"x","content_type":[1]}`: `field "content_type": want string, got array`} {
		_, err := DecodeDocument([]byte(in))
		var ie *InputError
		if !errors.As(err, &ie) || ie.Reason != ReasonWrongType || ie.Detail != want {
			t.Errorf("%s: %v, want %s", in, err, want)
		}
	}
}

func TestRecordRoundTripAndSchema(t *testing.T) {
	off, n := 4, 18
	rec := Record{
		Schema: RecordV1, ID: "seed", Text: "kept", Metadata: json.RawMessage(`{"k":"v"}`),
		Removed: []Removal{{Text: "China illustration", Reason: "exact_repeat", Kind: "line", Offset: 143, Length: 18,
			RefOffset: &off, RefLength: &n, Similarity: 1}},
		DuplicateOf: "other", DuplicateSimilarity: 0.93, DuplicateRule: "near",
		Flags: []Flag{{Rule: "spam", Score: 0.97}},
		Stats: Stats{BytesIn: 10, BytesOut: 4, LinesIn: 2, LinesOut: 1, RemovedByReason: map[string]int{"exact_repeat": 1}},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(compile(t, RecordV1), b); err != nil {
		t.Fatalf("record fails its schema: %v\n%s", err, b)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec, back) {
		t.Fatalf("round trip changed the record:\n%+v\n%+v", rec, back)
	}
	bad := bytes.Replace(b, []byte(`"winnow.v1.record"`), []byte(`"winnow.v2.record"`), 1)
	if validate(compile(t, RecordV1), bad) == nil {
		t.Fatal("schema accepted a record with the wrong type string")
	}
	bad = bytes.Replace(b, []byte(`"duplicate_rule":"near"`), []byte(`"duplicate_rule":"fuzzy"`), 1)
	if bytes.Equal(bad, b) || validate(compile(t, RecordV1), bad) == nil {
		t.Fatal("schema accepted a record with an unknown duplicate_rule")
	}
}

// TestReasonsMatchSchema checks that Reasons lists the dead-letter schema's
// reason enum, in order.
func TestReasonsMatchSchema(t *testing.T) {
	b, _ := File(DeadLetterV1)
	var sch struct {
		Properties struct {
			Reason struct {
				Enum []Reason `json:"enum"`
			} `json:"reason"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &sch); err != nil {
		t.Fatal(err)
	}
	if got := sch.Properties.Reason.Enum; !reflect.DeepEqual(got, Reasons) {
		t.Fatalf("schema enumerates %v, Reasons lists %v", got, Reasons)
	}
}

func TestDeadLetter(t *testing.T) {
	s := compile(t, DeadLetterV1)
	tests := []struct {
		name     string
		data     []byte
		encoding string
		trunc    bool
	}{
		{"text", []byte(`{"id":`), "utf-8", false},
		{"binary", []byte{0xff, 0xfe, 0x00, 'x'}, "base64", false},
		{"oversized", bytes.Repeat([]byte("é"), KeepBytes), "utf-8", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl := NewDeadLetter(ReasonInvalidJSON, "detail", "", tt.data)
			if dl.Encoding != tt.encoding || dl.Truncated != tt.trunc || dl.Size != len(tt.data) {
				t.Fatalf("got encoding %s truncated %v size %d", dl.Encoding, dl.Truncated, dl.Size)
			}
			back, err := dl.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(tt.data, back) || (!tt.trunc && len(back) != len(tt.data)) || len(back) > KeepBytes {
				t.Fatalf("original bytes not recovered: %d of %d", len(back), len(tt.data))
			}
			b, _ := json.Marshal(dl)
			if err := validate(s, b); err != nil {
				t.Fatalf("dead letter fails its schema: %v", err)
			}
		})
	}
}

// TestDecodeExactCoversEveryField: the key-by-key decode fills every field
// of wireDocument, so a field added to one is not missed by the other.
func TestDecodeExactCoversEveryField(t *testing.T) {
	obj := map[string]any{}
	for _, name := range wireNames {
		obj[name] = "v-" + name
	}
	obj["metadata"] = map[string]any{"k": 1}
	b, _ := json.Marshal(obj)
	var w wireDocument
	if err := decodeExact(b, &w); err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(w)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("decodeExact leaves %s (%q) empty", v.Type().Field(i).Name, wireNames[v.Type().Field(i).Name])
		}
	}
}

// TestEveryFieldDescribed: the schemas are the contract downstream readers
// go by, so every property of every object says what it holds, and every
// dead-letter reason is named in its field's description.
func TestEveryFieldDescribed(t *testing.T) {
	for _, typ := range []string{DocumentV1, RecordV1, DeadLetterV1} {
		b, _ := File(typ)
		var root map[string]any
		if err := json.Unmarshal(b, &root); err != nil {
			t.Fatal(err)
		}
		var walk func(node any, path string)
		walk = func(node any, path string) {
			m, ok := node.(map[string]any)
			if !ok {
				return
			}
			if props, ok := m["properties"].(map[string]any); ok {
				for name, p := range props {
					if d, _ := p.(map[string]any)["description"].(string); d == "" {
						t.Errorf("%s: %s%s has no description", typ, path, name)
					}
					walk(p, path+name+".")
				}
			}
			if defs, ok := m["$defs"].(map[string]any); ok {
				for name, d := range defs {
					walk(d, "$defs."+name+".")
				}
			}
			walk(m["items"], path+"[].")
		}
		walk(root, "")
	}
	b, _ := File(DeadLetterV1)
	for _, r := range Reasons {
		if !strings.Contains(describedReasons(t, b), string(r)) {
			t.Errorf("the reason field's description does not name %s", r)
		}
	}
}

// describedReasons returns the description of the dead-letter schema b's
// reason field.
func describedReasons(t *testing.T, b []byte) string {
	t.Helper()
	var sch struct {
		Properties struct {
			Reason struct {
				Description string `json:"description"`
			} `json:"reason"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &sch); err != nil {
		t.Fatal(err)
	}
	return sch.Properties.Reason.Description
}

// TestCutUTF8: a prefix of at most n bytes, cut between characters.
func TestCutUTF8(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abc", 2, "ab"}, {"aé", 2, "a"}, {"aé", 3, "aé"}, {"日本", 4, "日"}, {"日本", 2, ""}, {"", 0, ""}} {
		if got := CutUTF8(c.s, c.n); got != c.want {
			t.Errorf("CutUTF8(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

// TestDocumentHTML: a document may carry the page (html) rather than its
// text: without text (or with text null) its text is what a browser shows
// of the page; with text, html is ignored; with neither, it is
// missing_text, naming both.
func TestDocumentHTML(t *testing.T) {
	for in, want := range map[string]string{
		`{"id":"a","html":"<html><head><title>T</title></head><body><p>One</p><p>Two &amp; three</p><script>x()</script></body></html>"}`: "One\nTwo & three",
		`{"id":"a","text":null,"html":"<p>From the page</p>"}`:                                                                            "From the page",
		`{"id":"a","text":"The crawler's text","html":"<p>The page</p>"}`:                                                                 "The crawler's text",
		`{"id":"a","html":"<script>only()</script>"}`:                                                                                     "",
	} {
		d, err := DecodeDocument([]byte(in))
		if err != nil || d.Text != want {
			t.Errorf("%s: text %q, %v; want %q", in, d.Text, err, want)
		}
	}
	_, err := DecodeDocument([]byte(`{"id":"a","html":null}`))
	var ie *InputError
	if !errors.As(err, &ie) || ie.Reason != ReasonMissingText || !strings.Contains(ie.Detail, `"html"`) {
		t.Errorf("neither text nor html: %v, want missing_text naming both", err)
	}
}
