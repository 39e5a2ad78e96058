package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/winnow-dev/winnow/schemas"
)

// TestRecordOfAnIDAlreadyRecorded: a record's Nats-Msg-Id is its document
// id, so within duplicate_window the output stream keeps the first record
// of an id. A second input of that id (another version of a page) gets no
// record of its own, and the worker says so (same_id); a redelivery whose
// record an earlier delivery wrote is counted apart (retry).
func TestRecordOfAnIDAlreadyRecorded(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	sameID := func(r *running) float64 {
		return testutil.ToFloat64(r.w.metrics.duplicateAcks.WithLabelValues(dupSameID))
	}
	retry := func(r *running) float64 {
		return testutil.ToFloat64(r.w.metrics.duplicateAcks.WithLabelValues(dupRetry))
	}

	publishDoc(t, js, "docs.raw.t", map[string]string{"id": "page", "text": "The first version of the page."})
	waitFor(t, "the first record", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	publishDoc(t, js, "docs.raw.t", map[string]string{"id": "page", "text": "The second version, edited since."})
	waitFor(t, "the second version counted", func() bool { return sameID(r) == 1 })
	if n := outputCount(t, js, cfg.OutputStream); n != 1 {
		t.Fatalf("%d outputs, want the first record only", n)
	}
	if rec := decodeRecord(t, readOutputs(t, js, cfg.OutputStream)[0].data); rec.Text != "The first version of the page." {
		t.Errorf("record text %q", rec.Text)
	}
	if got := retry(r); got != 0 {
		t.Errorf("retry %v, want 0", got)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	// A worker wrote "crashed"'s record and died before acking its input:
	// the next delivery's record is a retry.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	publishDoc(t, js, "docs.raw.t", map[string]string{"id": "crashed", "text": "Written once."})
	c, err := js.Consumer(ctx, cfg.InputStream, cfg.Durable)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: "docs.clean.t", Data: []byte(`{"id":"crashed"}`)}, jetstream.WithMsgID("crashed")); err != nil {
			t.Fatal(err)
		}
		if err := m.Nak(); err != nil {
			t.Fatal(err)
		}
	}
	r = startWorker(t, s, cfg)
	waitFor(t, "the redelivery counted", func() bool { return retry(r) == 1 })
	if n, got := outputCount(t, js, cfg.OutputStream), sameID(r); n != 2 || got != 0 {
		t.Errorf("%d outputs, same_id %v; want 2 and 0", n, got)
	}
}

// TestDeadLetterAfterInputStreamMadeAgain: sequences start again at 1 in an
// input stream deleted and made again; a dead letter there is not taken for
// the one of the message the old stream held at that sequence.
func TestDeadLetterAfterInputStreamMadeAgain(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	publishDoc(t, js, "docs.raw.t", map[string]any{"id": "old", "text": 1})
	waitFor(t, "the first dead letter", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(context.Background(), cfg.InputStream); err != nil {
		t.Fatal(err)
	}
	startWorker(t, s, cfg) // makes the input stream again
	publishDoc(t, js, "docs.raw.t", map[string]any{"id": "new", "text": 2})
	waitFor(t, "the second dead letter", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
	outs := readOutputs(t, js, cfg.OutputStream)
	a, b := outs[0].header.Get(nats.MsgIdHdr), outs[1].header.Get(nats.MsgIdHdr)
	if a == b || a == "" {
		t.Errorf("dead letters' Nats-Msg-Ids %q and %q", a, b)
	}
}

// TestRecordIDsNATSWouldMerge: NATS trims a header value's spaces and tabs
// and turns CR and LF into spaces, so as Nats-Msg-Ids these ids would be
// three (the stream would keep three records of seven, the rest logged
// same_id). Each gets its record, under its own id, with schemas.MsgID as
// its Nats-Msg-Id.
func TestRecordIDsNATSWouldMerge(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	ids := []string{"a", " a", "a\n", "\ta", "a b", "a\nb", "a\r\nb"}
	for i, id := range ids {
		publishDoc(t, js, "docs.raw.t", map[string]string{"id": id, "text": fmt.Sprintf("Story %d walks to the harbour.", i)})
	}
	waitFor(t, "a record each", func() bool { return outputCount(t, js, cfg.OutputStream) == uint64(len(ids)) })
	got := map[string]string{}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		got[decodeRecord(t, o.data).ID] = o.header.Get(nats.MsgIdHdr)
	}
	for _, id := range ids {
		if got[id] != schemas.MsgID(id) {
			t.Errorf("record of %q: Nats-Msg-Id %q, want %q", id, got[id], schemas.MsgID(id))
		}
	}
	if n := testutil.ToFloat64(r.w.metrics.duplicateAcks.WithLabelValues(dupSameID)); n != 0 {
		t.Errorf("same_id %v, want 0", n)
	}
}

// TestRedriveFindsTheRecordOfAnEncodedID: a dead letter whose document has
// a record since is answered, also when the id's Nats-Msg-Id is encoded.
func TestRedriveFindsTheRecordOfAnEncodedID(t *testing.T) {
	_, cfg, stage, _, js := outageWorker(t)
	publishUntil(t, js, cfg, " x", 1) // the dead letter
	stage.down.Store(false)
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": " x", "text": "the story of x, sent again"})
	waitFor(t, "the record", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
	wantReport(t, "redrive", redrive(t, js, cfg, true), 0, 1, 0, map[string]int{})
}
