package worker

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/winnow-dev/winnow/pipeline"
)

// slowStage makes every document take each, the one with id "long" take
// long, and counts the documents it saw.
type slowStage struct {
	each, long time.Duration
	seen       atomic.Int64
}

func (s *slowStage) Process(d *pipeline.Doc) {
	s.seen.Add(1)
	if d.In.ID == "long" {
		time.Sleep(s.long)
		return
	}
	time.Sleep(s.each)
}

// TestSlowHandlersKeepAckDeadlines: with pull_batch a small multiple of
// handlers, as the README advises where documents are slow, documents
// queued on a slow worker for several ack waits, and one that takes 2.5 ack
// waits itself, are each handled once, with one outcome and no redelivery:
// a pulled message reaches a handler well within the ack wait, and the
// handler with the long document keeps its deadline fresh.
func TestSlowHandlersKeepAckDeadlines(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.AckWait = time.Second
	cfg.Handlers = 2
	cfg.PullBatch = 4
	stage := &slowStage{each: 100 * time.Millisecond, long: 2500 * time.Millisecond}
	r := startWorker(t, s, cfg, stage)
	_, js := connect(t, s)
	const n = 40 // 2 s of work for two handlers, 4 s for the one left while the other has the long one
	publishDoc(t, js, "docs.raw.slow", map[string]string{"id": "long", "text": "a document that takes a while"})
	for i := 1; i < n; i++ {
		publishDoc(t, js, "docs.raw.slow", map[string]string{"id": fmt.Sprintf("slow-%d", i), "text": fmt.Sprintf("document number %d", i)})
	}
	waitFor(t, "every outcome", func() bool { return outputCount(t, js, cfg.OutputStream) >= n })
	time.Sleep(2 * cfg.AckWait) // time for a late redelivery to show
	outcomes := map[string][]string{}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		id := o.header.Get("Nats-Msg-Id")
		outcomes[id] = append(outcomes[id], o.subject)
	}
	for id, subj := range outcomes {
		if len(subj) != 1 || subj[0] != "docs.clean.slow" {
			t.Errorf("%s: outcomes %v, want one on docs.clean.slow", id, subj)
		}
	}
	if len(outcomes) != n {
		t.Errorf("%d documents with outcomes, want %d", len(outcomes), n)
	}
	if got := stage.seen.Load(); got != n {
		t.Errorf("the pipeline ran %d times for %d documents", got, n)
	}
	if got := testutil.ToFloat64(r.w.metrics.redeliveries); got != 0 {
		t.Errorf("%v redeliveries, want 0", got)
	}
	// 2.5 s at one beat every 0.5 s; a loaded machine may fire late.
	if got := testutil.ToFloat64(r.w.metrics.inProgress); got < 2 {
		t.Errorf("%v in-progress acks for the long document, want >= 2", got)
	}
}

// TestIdleWorkerKeepsConsuming: a worker left with nothing to do for
// several of its bounded waits for the next message (see nextWait) stays
// ready and handles the next document.
func TestIdleWorkerKeepsConsuming(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	publishDoc(t, js, "docs.raw.idle", map[string]string{"id": "before", "text": "the first document"})
	waitFor(t, "the first outcome", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	time.Sleep(3 * nextWait)
	if !r.w.Ready() {
		t.Fatal("worker unready after idling")
	}
	publishDoc(t, js, "docs.raw.idle", map[string]string{"id": "after", "text": "the second document"})
	waitFor(t, "the second outcome", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
}
