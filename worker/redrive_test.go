package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/winnow-dev/winnow/internal/schematest"
	"github.com/winnow-dev/winnow/schemas"
)

// outageWorker starts a server and a worker whose stage is down, and
// connects to the server.
func outageWorker(t *testing.T) (*server.Server, Config, *downStage, *running, jetstream.JetStream) {
	t.Helper()
	s := startServer(t)
	cfg := testConfig()
	stage := &downStage{}
	stage.down.Store(true)
	r := startWorker(t, s, cfg, stage)
	_, js := connect(t, s)
	return s, cfg, stage, r, js
}

// publishUntil publishes a JSON document and waits until the output stream
// holds n messages.
func publishUntil(t *testing.T, js jetstream.JetStream, cfg Config, id string, n uint64) {
	t.Helper()
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": id, "text": "the story of " + id})
	waitFor(t, fmt.Sprintf("%d outputs", n), func() bool { return outputCount(t, js, cfg.OutputStream) == n })
}

func redrive(t *testing.T, js jetstream.JetStream, cfg Config, dry bool) *RedriveReport {
	t.Helper()
	rep, err := Redrive(context.Background(), js, cfg, RedriveOptions{Reasons: DefaultRedriveReasons, DryRun: dry})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantReport(t *testing.T, step string, got *RedriveReport, redriven, answered, inFlight int, skipped map[string]int) {
	t.Helper()
	if got.Redriven[schemas.ReasonProcessingFailed] != redriven || len(got.Redriven) > 1 || got.Answered != answered ||
		got.InFlight != inFlight || !maps.Equal(got.Skipped, skipped) {
		t.Fatalf("%s: got %+v, want %d redriven, %d answered, %d in flight, skipped %v", step, got, redriven, answered, inFlight, skipped)
	}
}

// TestRedriveAfterOutage dead-letters documents while a stage is down, then
// redrives them: a dry run publishes nothing, a second redrive before the
// worker is back is dropped by the input stream, the redriven documents are
// cleaned with the dead letter they answer in a header, a document that
// fails again gets a new dead letter, and a third redrive only takes that
// one.
func TestRedriveAfterOutage(t *testing.T) {
	s, cfg, stage, r, js := outageWorker(t)
	for _, id := range []string{"a1", "a2", "a3", "poison"} {
		publishDoc(t, js, "docs.raw.a", map[string]string{"id": id, "text": "story " + id})
	}
	// Over schemas.KeepBytes, within max_doc_bytes: its dead letter keeps it whole.
	var b strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&b, "Paragraph %d tells part %d of the story.\n", i, 7*i)
	}
	big := b.String()
	bigDoc, _ := json.Marshal(map[string]string{"id": "big", "text": big})
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: bigDoc})
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.b", Data: []byte("a plain-text story"), Header: nats.Header{HeaderID: {"p1"}}})
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: []byte(`{"id": "bad",`)})
	waitFor(t, "seven dead letters", func() bool { return outputCount(t, js, cfg.OutputStream) == 7 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	stage.down.Store(false)
	invalid := map[string]int{string(schemas.ReasonInvalidJSON): 1}

	wantReport(t, "dry run", redrive(t, js, cfg, true), 6, 0, 0, invalid)
	if n := outputCount(t, js, cfg.InputStream); n != 0 {
		t.Fatalf("dry run published %d inputs", n)
	}
	first := redrive(t, js, cfg, false)
	wantReport(t, "redrive", first, 6, 0, 0, invalid)
	if first.DeadLetters != 7 {
		t.Fatalf("read %d dead letters, want 7", first.DeadLetters)
	}
	wantReport(t, "redrive again, no worker", redrive(t, js, cfg, false), 0, 0, 6, invalid)
	if n := outputCount(t, js, cfg.InputStream); n != 6 {
		t.Fatalf("input stream holds %d messages after two redrives, want 6", n)
	}

	r = startWorker(t, s, cfg, stage)
	waitFor(t, "five records and poison's second dead letter", func() bool { return outputCount(t, js, cfg.OutputStream) == 13 })
	deadLetterIDs := map[string]string{} // Nats-Msg-Id -> document id
	answers := map[string]string{}       // document id -> the dead letter its output answers
	var cleaned []string
	for i, o := range readOutputs(t, js, cfg.OutputStream) {
		var rec struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(o.data, &rec); err != nil {
			t.Fatal(err)
		}
		if i < 7 {
			deadLetterIDs[o.header.Get(nats.MsgIdHdr)] = rec.ID
			if rec.ID == "big" {
				var dl schemas.DeadLetter
				_ = json.Unmarshal(o.data, &dl)
				if back, err := dl.Bytes(); err != nil || dl.Truncated || !bytes.Equal(back, bigDoc) {
					t.Errorf("the large document's dead letter: truncated %v, %d of %d bytes (%v)", dl.Truncated, len(back), len(bigDoc), err)
				}
			}
			continue
		}
		answers[rec.ID] = o.header.Get(HeaderRedriveOf)
		if o.header.Get(HeaderOutcome) == "clean" {
			cleaned = append(cleaned, rec.ID)
		}
		if rec.ID == "p1" && rec.Text != "a plain-text story" {
			t.Errorf("plain-text document came back as %q", rec.Text)
		}
		if rec.ID == "big" && len(rec.Text) < len(big)*9/10 {
			t.Errorf("the large document came back with %d of its %d bytes", len(rec.Text), len(big))
		}
	}
	slices.Sort(cleaned)
	if !slices.Equal(cleaned, []string{"a1", "a2", "a3", "big", "p1"}) {
		t.Fatalf("cleaned after the redrive: %v", cleaned)
	}
	for id, of := range answers {
		if deadLetterIDs[of] != id {
			t.Errorf("%s's output names dead letter %q, which is %q's", id, of, deadLetterIDs[of])
		}
	}
	redriven := func(outcome string) float64 { return testutil.ToFloat64(r.w.metrics.redriven.WithLabelValues(outcome)) }
	waitExplained(t, "winnow_redriven_total: 5 clean, 1 dead letter", func() bool {
		return redriven("clean") == 5 && redriven("dead_letter") == 1 // counted just after each output
	}, func() string {
		return fmt.Sprintf("clean %v, dead_letter %v", redriven("clean"), redriven("dead_letter"))
	})
	if len(answers) != 6 {
		t.Errorf("%d outputs name the dead letter they answer, want 6: %v", len(answers), answers)
	}

	third := redrive(t, js, cfg, false)
	wantReport(t, "redrive after the outputs", third, 1, 6, 0, invalid)
	if third.DeadLetters != 8 {
		t.Fatalf("read %d dead letters, want 8", third.DeadLetters)
	}
}

// TestRedriveSkipsDocumentsWithARecord: a dead letter whose document was
// since cleaned (the crawler sent it again) is not redriven.
func TestRedriveSkipsDocumentsWithARecord(t *testing.T) {
	_, cfg, stage, _, js := outageWorker(t)
	publishUntil(t, js, cfg, "again", 1) // the dead letter
	stage.down.Store(false)
	publishUntil(t, js, cfg, "again", 2) // the record
	wantReport(t, "redrive", redrive(t, js, cfg, false), 0, 1, 0, map[string]int{})
}

// TestKeepTrying: errors a cluster gives while it elects leaders are asked
// through; a missing stream is not.
func TestKeepTrying(t *testing.T) {
	calls := 0
	err := keepTrying(context.Background(), time.Minute, func() error {
		if calls++; calls < 3 {
			return nats.ErrNoResponders
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("after no responders twice: %v, %d calls", err, calls)
	}
	calls = 0
	err = keepTrying(context.Background(), time.Minute, func() error { calls++; return jetstream.ErrStreamNotFound })
	if !errors.Is(err, jetstream.ErrStreamNotFound) || calls != 1 {
		t.Fatalf("missing stream: %v, %d calls", err, calls)
	}
}

// TestRedriveSince reads only the outputs stored since the given time.
func TestRedriveSince(t *testing.T) {
	_, cfg, _, _, js := outageWorker(t)
	publishUntil(t, js, cfg, "early", 1)
	time.Sleep(50 * time.Millisecond)
	since := time.Now()
	publishUntil(t, js, cfg, "late", 2)
	read := map[string]int{} // messages each read told Progress of
	progress := func(what string, last uint64) func(jetstream.Msg) {
		if last < 2 {
			t.Errorf("Progress(%q, %d): the stream holds 2 dead letters", what, last)
		}
		return func(jetstream.Msg) { read[what]++ }
	}
	all, err := Redrive(context.Background(), js, cfg, RedriveOptions{Reasons: DefaultRedriveReasons, DryRun: true, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	if read["outputs"] != 2 || read["dead letters"] != 2 || len(read) != 2 {
		t.Fatalf("Progress told of %v", read)
	}
	recent, err := Redrive(context.Background(), js, cfg, RedriveOptions{Reasons: DefaultRedriveReasons, DryRun: true, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if all.DeadLetters != 2 || recent.DeadLetters != 1 || recent.Redriven[schemas.ReasonProcessingFailed] != 1 {
		t.Fatalf("whole stream: %+v; since the second: %+v", all, recent)
	}
}

// TestRedriveKeepsHowTheBodyReads: a gzipped plain-text body in
// windows-1252 is dead-lettered while the stage is down; its dead letter
// keeps the input's Content-Type and Content-Encoding, so the redriven
// input is decompressed and read in its charset again and cleaned, not
// dead-lettered. With carry_headers "*" the record still carries neither:
// they described the input's body, not the record's JSON.
func TestRedriveKeepsHowTheBodyReads(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.CarryHeaders = []string{"*"}
	stage := &downStage{}
	stage.down.Store(true)
	r := startWorker(t, s, cfg, stage)
	_, js := connect(t, s)
	const ct = "text/plain; charset=windows-1252"
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: gzipped(t, []byte("Caf\xe9 au lait \x93served\x94")),
		Header: nats.Header{HeaderID: {"cafe"}, "Content-Type": {ct}, "Content-Encoding": {"gzip"}, "X-Crawl-Job": {"j1"}}})
	waitFor(t, "the dead letter", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	dlq := readOutputs(t, js, cfg.OutputStream)[0]
	var dl schemas.DeadLetter
	if err := json.Unmarshal(dlq.data, &dl); err != nil {
		t.Fatal(err)
	}
	mustMatchSchema(t, schemas.DeadLetterV1, dlq.data)
	if dl.ContentType != ct || dl.ContentEncoding != "gzip" || dlq.header.Get("Content-Type") != "" || dlq.header.Get("Content-Encoding") != "" {
		t.Fatalf("dead letter: content_type %q, content_encoding %q, headers %v; want %q and gzip in the JSON, not as headers (its body is JSON)",
			dl.ContentType, dl.ContentEncoding, dlq.header, ct)
	}
	stage.down.Store(false)
	if rep := redrive(t, js, cfg, false); rep.Redriven[schemas.ReasonProcessingFailed] != 1 {
		t.Fatalf("redrive: %+v", rep)
	}
	startWorker(t, s, cfg, stage)
	waitFor(t, "the redriven output", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
	o := readOutputs(t, js, cfg.OutputStream)[1]
	var rec schemas.Record
	if err := json.Unmarshal(o.data, &rec); err != nil {
		t.Fatal(err)
	}
	mustMatchSchema(t, schemas.RecordV1, o.data)
	if o.subject != "docs.clean.a" || rec.Text != "Café au lait “served”" {
		t.Fatalf("redriven: %s %q (%s)", o.subject, rec.Text, o.data)
	}
	if o.header.Get("X-Crawl-Job") != "j1" || o.header.Get("Content-Type") != "" || o.header.Get("Content-Encoding") != "" {
		t.Fatalf("record headers %v: want X-Crawl-Job carried, no Content-Type or Content-Encoding", o.header)
	}
}

// mustMatchSchema fails t unless data is valid against the published
// schema of typ.
func mustMatchSchema(t *testing.T, typ string, data []byte) {
	t.Helper()
	src, ok := schemas.File(typ)
	if !ok {
		t.Fatalf("no schema for %s", typ)
	}
	if err := schematest.Validate(schematest.Compile(t, typ, src), data); err != nil {
		t.Fatalf("%s: %v\n%s", typ, err, data)
	}
}
