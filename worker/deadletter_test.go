package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/winnow-dev/winnow/internal/natstest"
	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/schemas"
)

// downStage is a real pipeline stage that fails every document while down is
// set, and always the one with id "poison".
type downStage struct{ down atomic.Bool }

func (o *downStage) Process(d *pipeline.Doc) {
	if o.down.Load() || d.In.ID == "poison" {
		panic("stage fault on " + d.In.ID)
	}
}

// TestDeadLetterCutWhenServerRefusesWhole: an input within max_doc_bytes
// whose whole dead letter is over the server's max_payload (each backslash
// of the JSON input is two bytes there) is dead-lettered with its first
// schemas.KeepBytes, not retried for ever.
func TestDeadLetterCutWhenServerRefusesWhole(t *testing.T) {
	s := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 256 << 10 })
	cfg := testConfig()
	cfg.MaxDocBytes = 200 << 10
	stage := &downStage{}
	stage.down.Store(true)
	startWorker(t, s, cfg, stage)
	_, js := connect(t, s)
	doc := []byte(`{"id":"bs","text":"` + strings.Repeat(`\\`, 75<<10) + `"}`)
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: doc})
	waitFor(t, "the dead letter", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	outs := readOutputs(t, js, cfg.OutputStream)
	var dl schemas.DeadLetter
	if err := json.Unmarshal(outs[0].data, &dl); err != nil {
		t.Fatal(err)
	}
	back, err := dl.Bytes()
	if err != nil || !dl.Truncated || dl.Size != len(doc) || len(back) != schemas.KeepBytes || !bytes.HasPrefix(doc, back) {
		t.Fatalf("dead letter: reason %s, truncated %v, size %d of %d, kept %d (%v)", dl.Reason, dl.Truncated, dl.Size, len(doc), len(back), err)
	}
}

// TestRecordOverStreamMaxMsgSize: the output stream's max_msg_size refuses
// a record (a PubAck error, unlike the server's max_payload, which the
// client checks) and then the input's whole dead letter. Both are
// permanent: the input is dead-lettered as too_large with its first bytes,
// once, instead of being retried and then nak'ed for ever. A small
// document beside it is clean.
func TestRecordOverStreamMaxMsgSize(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	editStream(t, js, cfg.OutputStream, func(_ *jetstream.StreamInfo, sc *jetstream.StreamConfig) { sc.MaxMsgSize = 4 << 10 })
	doc := []byte(`{"id":"big","text":"` + strings.Repeat("word ", 2000) + `"}`)
	dl := bigBesideSmall(t, js, cfg, doc)
	back, err := dl.Bytes()
	if err != nil || dl.Reason != schemas.ReasonTooLarge || dl.ID != "big" || !dl.Truncated || dl.Size != len(doc) ||
		len(back) == 0 || len(back) >= len(doc) || !bytes.HasPrefix(doc, back) {
		t.Fatalf("dead letter: reason %s, id %q, truncated %v, size %d of %d, kept %d (%v)", dl.Reason, dl.ID, dl.Truncated, dl.Size, len(doc), len(back), err)
	}
	if n := testutil.ToFloat64(r.w.metrics.redeliveries); n != 0 {
		t.Errorf("%v redeliveries, want 0", n)
	}
}

// TestRecordFitsMaxPayload: a document of many tiny repeats, well within
// max_doc_bytes, makes a record many times its size. Its record lists the
// first max_removals of them (1000) and, as the server's max_payload cannot
// take those, fewer: as many as the message holds (the first, as they all
// repeat one line), the rest counted in removed_omitted and all in
// stats.removed_by_reason. It was dead-lettered too_large, and redriven, it
// met the same refusal.
func TestRecordFitsMaxPayload(t *testing.T) {
	const maxPayload = 64 << 10
	s := natstest.Start(t, func(o *server.Options) { o.MaxPayload = maxPayload })
	cfg := testConfig()
	cfg.MaxDocBytes = 60 << 10
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	const lines = 15000
	listed, size := repeatsRecord(t, js, cfg, lines)
	// As many as fit: one more (about 100 bytes) would not have.
	if size > maxPayload || size < maxPayload-1024 {
		t.Errorf("message of %d bytes: want one that fills most of the %d max_payload", size, maxPayload)
	}
	checkOmitted(t, r, omittedMaxPayload, lines-1-pipeline.DefaultMaxRemovals, pipeline.DefaultMaxRemovals-listed)
}

// TestRecordFitsStreamMaxMsgSize: a record the output stream refuses as
// over a max_msg_size an operator set while the worker ran is fitted to it
// (the limit read again) and sent once more, where it was dead-lettered
// too_large. A record too large with no removal listed names the limit.
func TestRecordFitsStreamMaxMsgSize(t *testing.T) {
	const maxMsgSize = 16 << 10
	s := startServer(t)
	cfg := testConfig()
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	editStream(t, js, cfg.OutputStream, func(_ *jetstream.StreamInfo, sc *jetstream.StreamConfig) { sc.MaxMsgSize = maxMsgSize })
	const lines = 4000
	listed, size := repeatsRecord(t, js, cfg, lines)
	if size > maxMsgSize || size < maxMsgSize-1024 {
		t.Errorf("message of %d bytes: want one that fills most of the %d max_msg_size", size, maxMsgSize)
	}
	checkOmitted(t, r, omittedMaxMsgSize, lines-1-pipeline.DefaultMaxRemovals, pipeline.DefaultMaxRemovals-listed)
	if n := testutil.ToFloat64(r.w.metrics.deadLetters.WithLabelValues(string(schemas.ReasonTooLarge))); n != 0 {
		t.Errorf("%v dead letters too_large, want none", n)
	}
	// A page with nothing to remove and over the limit, which the worker
	// now knows, is dead-lettered saying which limit.
	var text strings.Builder
	for i := 0; text.Len() < maxMsgSize; i++ {
		fmt.Fprintf(&text, "Line %d of a long page that says nothing twice.\n", i)
	}
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": "long", "text": text.String()})
	waitFor(t, "three outcomes", func() bool { return outputCount(t, js, cfg.OutputStream) == 3 })
	var dl schemas.DeadLetter
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		if o.subject == "docs.dlq.a" {
			dl = decodeDeadLetter(t, o.data)
		}
	}
	if dl.ID != "long" || dl.Reason != schemas.ReasonTooLarge ||
		!strings.HasSuffix(dl.Error, "its message may take (the output stream's max_msg_size less its headers)") {
		t.Errorf("dead letter of %q: %s, %q", dl.ID, dl.Reason, dl.Error)
	}
}

// repeatsRecord publishes a page of lines "ab" lines and a small document
// on docs.raw.a, waits for their two records and returns how many removals
// the page's lists and the size of its message (body and headers). It
// fails the test unless both are clean and the page's record keeps one
// "ab", counts every repeat, listed or omitted, and lists the first.
func repeatsRecord(t *testing.T, js jetstream.JetStream, cfg Config, lines int) (listed, size int) {
	t.Helper()
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: []byte(`{"id":"repeats","text":"` + strings.Repeat(`ab\n`, lines) + `"}`)})
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": "small", "text": "Some small text."})
	waitFor(t, "two outcomes", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
	var got *output
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		if o.subject != "docs.clean.a" {
			t.Fatalf("%s on %s: %.300s", o.header.Get(HeaderOutcome), o.subject, o.data)
		}
		if strings.Contains(string(o.data), `"id":"repeats"`) {
			got = &o
		}
	}
	if got == nil {
		t.Fatal("no record of the document of repeats")
	}
	var rec schemas.Record
	if err := json.Unmarshal(got.data, &rec); err != nil {
		t.Fatal(err)
	}
	listed, size = len(rec.Removed), len(got.data)+headerBytes(got.header)
	t.Logf("message %d bytes: %d removals listed, %d omitted", size, listed, rec.RemovedOmitted)
	if rec.Text != "ab" || listed == 0 || listed+rec.RemovedOmitted != lines-1 || rec.Stats.RemovedByReason["exact_repeat"] != lines-1 {
		t.Fatalf("text %q, %d removals listed and %d omitted, by reason %v: want \"ab\" and %d removals in all",
			rec.Text, listed, rec.RemovedOmitted, rec.Stats.RemovedByReason, lines-1)
	}
	for i, rm := range rec.Removed {
		if rm.Offset != 3*(i+1) || rm.Text != "ab" {
			t.Fatalf("removal %d: offset %d, text %q: want the first in input order (offset %d)", i, rm.Offset, rm.Text, 3*(i+1))
		}
	}
	return listed, size
}

// checkOmitted checks winnow_removals_omitted_total: byCap for
// max_removals, bySize for the limit named.
func checkOmitted(t *testing.T, r *running, limit string, byCap, bySize int) {
	t.Helper()
	gotCap := testutil.ToFloat64(r.w.metrics.omitted.WithLabelValues(omittedMaxRemovals))
	gotSize := testutil.ToFloat64(r.w.metrics.omitted.WithLabelValues(limit))
	if gotCap != float64(byCap) || gotSize != float64(bySize) {
		t.Errorf("removals omitted: %v for max_removals, %v for %s: want %d and %d", gotCap, gotSize, limit, byCap, bySize)
	}
}

// TestRecordOverMaxPayloadWithNoRemovals: a compressed document's record
// the server's max_payload cannot take with no removal listed is not
// published; the input is dead-lettered too_large, whole (redrivable once
// max_payload is raised), saying how large the record would be.
func TestRecordOverMaxPayloadWithNoRemovals(t *testing.T) {
	const maxPayload = 64 << 10
	s := natstest.Start(t, func(o *server.Options) { o.MaxPayload = maxPayload })
	cfg := testConfig()
	cfg.MaxDocBytes = 1 << 20
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	var text strings.Builder
	for i := 0; text.Len() < 2*maxPayload; i++ {
		fmt.Fprintf(&text, "Line %d of a long page that says nothing twice.\n", i)
	}
	b, err := json.Marshal(map[string]string{"id": "long", "text": text.String()})
	if err != nil {
		t.Fatal(err)
	}
	doc := gzipped(t, b)
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: doc, Header: nats.Header{"Content-Encoding": {"gzip"}}})
	dl := bigBesideSmall(t, js, cfg, nil)
	back, err := dl.Bytes()
	if err != nil || dl.Reason != schemas.ReasonTooLarge || dl.ID != "long" || dl.Truncated || !bytes.Equal(back, doc) ||
		!regexp.MustCompile(`^its record would be \d+ bytes, over the \d+ its message may take \(the server's max_payload less its headers\)$`).MatchString(dl.Error) {
		t.Fatalf("dead letter: reason %s, id %q, truncated %v, kept %d of %d, error %q", dl.Reason, dl.ID, dl.Truncated, len(back), len(doc), dl.Error)
	}
}

// bigBesideSmall publishes doc (unless nil: the caller did) and a small
// document on docs.raw.a, waits for their two outcomes and returns doc's
// dead letter (the zero one when there is none).
func bigBesideSmall(t *testing.T, js jetstream.JetStream, cfg Config, doc []byte) schemas.DeadLetter {
	t.Helper()
	if doc != nil {
		publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: doc})
	}
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": "small", "text": "Some small text."})
	waitFor(t, "two outcomes", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		if o.subject == "docs.dlq.a" {
			return decodeDeadLetter(t, o.data)
		}
	}
	return schemas.DeadLetter{}
}

// TestMaxPayloadWarnings: New warns when the server's max_payload is below
// max_doc_bytes (such documents cannot arrive) or below twice it (a record
// holds the removed text too, so records of the largest documents may list
// fewer of their removals), and is quiet when there is room.
func TestMaxPayloadWarnings(t *testing.T) {
	cfg := testConfig()
	cfg.MaxDocBytes = 1 << 20
	for _, c := range []struct {
		maxPayload int32
		want       string
	}{
		{512 << 10, "above the server's max_payload"},
		{1 << 20, "under twice max_doc_bytes"},
		{2 << 20, ""},
	} {
		s := natstest.Start(t, func(o *server.Options) { o.MaxPayload = c.maxPayload })
		nc, _ := connect(t, s)
		core, logs := observer.New(zap.WarnLevel)
		if _, err := New(nc, cfg, func() (*pipeline.Pipeline, error) { return pipeline.New(pipeline.DefaultConfig()) },
			zap.New(core), NewMetrics(prometheus.NewRegistry())); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range logs.All() {
			got = append(got, e.Message)
		}
		if c.want == "" && len(got) > 0 || c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)) {
			t.Errorf("max_payload %d: warnings %q, want %q", c.maxPayload, got, c.want)
		}
	}
}
