package pipeline

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/internal/schematest"
	"github.com/winnow-dev/winnow/moderate"
	"github.com/winnow-dev/winnow/schemas"
)

// FuzzProcess runs a stream of documents (the input split at '\x00')
// through one pipeline with every stage on and every kind of cut
// (redacted e-mail, phone, card and blocklisted phrases, dropped
// boilerplate), committing each, and checks the record: valid UTF-8 text,
// removals in order, inside the input, not overlapping, each quoting its
// span (a redaction its mask); stats that match; JSON that round-trips and
// is valid against record.json. A removal quotes its span with the personal
// data the policy redacts masked, so no record holds any.
func FuzzProcess(f *testing.F) {
	for _, s := range []string{
		"Reach me at jane@example.com or +1 (555) 010-2030.\nCard 4111 1111 1111 1111 thanks\x00Reach me at jane@example.com",
		"Subscribe for free today!\nThe forbidden topic came up twice.\n\nThe forbidden topic came up twice.\x00Buy now, 50% off!",
		"Caption of the photo&#xa0;here\nCaption of the photo here\n> quoted line of a reply here\n-- \nsig",
		"line one of a story that repeats itself\nline two\x00line one of a story that repeats itself\nline two…",
		"Mac text, a line\rA caption here\rA caption here\r\r\nWindows line\r\nA caption here\r",
		"Card 4111 1111 1111 1111 or jane@example.com\nCard 4111 1111 1111 1111 or jane@example.com",
	} {
		f.Add(s)
	}
	cfg := DefaultConfig()
	cfg.Moderation.PII = moderate.PIIPolicy{Enabled: true, Email: moderate.ActionRedact, Phone: moderate.ActionRedact, Card: moderate.ActionRedact}
	cfg.Moderation.Blocklist.Phrases = []string{"forbidden topic", "a"}
	cfg.Moderation.Blocklist.Action = moderate.ActionRedact
	cfg.Moderation.Boilerplate.Enabled = true
	cfg.MaxRemovals = 0
	capped := cfg
	capped.MaxRemovals = 3 // a record's list cut short, its counts whole
	schema := compileSchema(f, schemas.RecordV1)
	m, err := moderate.New(cfg.Moderation, cfg.ModerationOptions)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pc, err := New(capped)
		if err != nil {
			t.Fatal(err)
		}
		for i, text := range strings.Split(strings.ToValidUTF8(in, "\uFFFD"), "\x00") {
			id := fmt.Sprint("d", i)
			_, rec, err := p.Process(schemas.Document{ID: id, Text: text})
			if err != nil {
				t.Fatal(err)
			}
			checkRecord(t, text, rec, m, len(rec.Removed))
			b, err := gojson.MarshalWithOption(rec, gojson.DisableHTMLEscape())
			if err != nil {
				t.Fatal(err)
			}
			if err := schematest.Validate(schema, b); err != nil {
				t.Fatalf("record %s: %v", b, err)
			}
			p.Commit()
			// The same record listing three removals: the first three of
			// schemas.ListingOrder, in input order.
			_, short, err := pc.Process(schemas.Document{ID: id, Text: text})
			if err != nil {
				t.Fatal(err)
			}
			checkRecord(t, text, short, m, capped.MaxRemovals)
			keep := schemas.ListingOrder(len(rec.Removed), func(i int) schemas.RemovalGroup { return schemas.GroupOf(rec.Removed[i]) })
			keep = keep[:min(len(keep), capped.MaxRemovals)]
			slices.Sort(keep)
			want := []schemas.Removal{}
			for _, k := range keep {
				want = append(want, rec.Removed[k])
			}
			if short.Text != rec.Text || !reflect.DeepEqual(short.Removed, want) {
				t.Fatalf("with max_removals %d: text %q, removed %+v: want %q and %+v of %+v",
					capped.MaxRemovals, short.Text, short.Removed, rec.Text, keep, rec.Removed)
			}
			pc.Commit()
		}
	})
}

func checkRecord(t *testing.T, in string, rec schemas.Record, m *moderate.Moderator, maxRemovals int) {
	t.Helper()
	counted := 0
	for _, n := range rec.Stats.RemovedByReason {
		counted += n
	}
	if listed := len(rec.Removed); counted != listed+rec.RemovedOmitted || listed > maxRemovals ||
		rec.RemovedOmitted > 0 && listed != maxRemovals {
		t.Fatalf("%d removals listed, %d omitted, %d counted by reason: want at most %d listed, the rest omitted",
			listed, rec.RemovedOmitted, counted, maxRemovals)
	}
	if !utf8.ValidString(rec.Text) {
		t.Fatalf("record text %q is not valid UTF-8", rec.Text)
	}
	if rec.Stats.BytesIn != len(in) || rec.Stats.BytesOut != len(rec.Text) {
		t.Fatalf("stats %+v for %d bytes in, %d out", rec.Stats, len(in), len(rec.Text))
	}
	end := 0
	for _, r := range rec.Removed {
		if r.Offset < end || r.Length < 0 || r.Offset+r.Length > len(in) {
			t.Fatalf("removal %+v: outside the %d-byte input or overlapping the one before (ending at %d)", r, len(in), end)
		}
		end = r.Offset + r.Length
		span := dedupe.Span{Start: r.Offset, End: end}
		if masked := m.Mask(in, span); r.Text != masked && r.Action != string(moderate.ActionRedact) {
			t.Fatalf("removal %+v quotes %q, its span masked is %q", r, r.Text, masked)
		}
		if again := m.Mask(r.Text, dedupe.Span{End: len(r.Text)}); again != r.Text {
			t.Fatalf("removal %+v quotes personal data the policy redacts (masked: %q)", r, again)
		}
		if r.Reason == "" {
			t.Fatalf("removal %+v without a reason", r)
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var back schemas.Record
	if err := json.Unmarshal(b, &back); err != nil || back.Text != rec.Text || len(back.Removed) != len(rec.Removed) {
		t.Fatalf("record does not round-trip through JSON: %v", err)
	}
}
