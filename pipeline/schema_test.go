package pipeline

import (
	"path/filepath"
	"testing"

	gojson "github.com/goccy/go-json"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/winnow-dev/winnow/internal/corpus"
	"github.com/winnow-dev/winnow/internal/schematest"
	"github.com/winnow-dev/winnow/moderate"
	"github.com/winnow-dev/winnow/schemas"
)

// TestRecordsMatchTheSchema: every record the pipeline makes of the
// development gold and a tenth of the bench corpus, encoded as the worker
// publishes it, is valid against schemas/v1/record.json: under the
// defaults, and under a policy that redacts PII and rejects spam and
// blocklisted words, so rejections and redactions are checked too.
func TestRecordsMatchTheSchema(t *testing.T) {
	schema := compileSchema(t, schemas.RecordV1)
	dir, err := corpus.Dir()
	if err != nil {
		t.Fatal(err)
	}
	var docs []schemas.Document
	load := func(name string, every int) {
		n := 0
		err := corpus.Each(filepath.Join(dir, name), func(line []byte) error {
			if n++; n%every != 0 {
				return nil
			}
			d, err := schemas.DecodeDocument(line)
			docs = append(docs, d)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	load("gold/docs.jsonl", 1)
	load("bench.jsonl.gz", 10)
	strict := DefaultConfig()
	strict.Moderation.PII = moderate.PIIPolicy{Enabled: true, Email: moderate.ActionRedact, Phone: moderate.ActionRedact, Card: moderate.ActionRedact}
	strict.Moderation.Spam.Action = moderate.ActionReject
	strict.Moderation.Blocklist.Phrases = []string{"bank", "free"}
	strict.Moderation.Blocklist.Action = moderate.ActionRedact
	strict.Moderation.Boilerplate.Enabled = true
	for name, cfg := range map[string]Config{"default": DefaultConfig(), "strict": strict} {
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		outcomes := map[Outcome]int{}
		for _, d := range docs {
			o, rec, err := p.Process(d)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, d.ID, err)
			}
			p.Commit()
			outcomes[o]++
			b, err := gojson.MarshalWithOption(rec, gojson.DisableHTMLEscape())
			if err != nil {
				t.Fatal(err)
			}
			if err := schematest.Validate(schema, b); err != nil {
				t.Fatalf("%s: %s: record %.300s: %v", name, d.ID, b, err)
			}
		}
		if outcomes[Clean] == 0 || outcomes[Duplicate] == 0 || (name == "strict") != (outcomes[Rejected] > 0) {
			t.Errorf("%s: outcomes %v: want clean records and duplicates, and rejections under the strict policy only", name, outcomes)
		}
		t.Logf("%s: %d records valid, outcomes %v", name, len(docs), outcomes)
	}
}

func compileSchema(t testing.TB, typ string) *jsonschema.Schema {
	t.Helper()
	b, ok := schemas.File(typ)
	if !ok {
		t.Fatalf("no schema for %s", typ)
	}
	return schematest.Compile(t, typ, b)
}
