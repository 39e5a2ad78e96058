package worker

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/winnow-dev/winnow/pipeline"
)

const heldLongMsg = "a handler has held a document long"

// TestKeepAliveSaysALongHoldOnce: a document held past heldLong is said
// once, naming its input, and counted; not while an outage is on (quiet),
// whose end starts its clock again; and the next document starts afresh.
func TestKeepAliveSaysALongHoldOnce(t *testing.T) {
	const every, heldLong = 20 * time.Millisecond, 100 * time.Millisecond
	var quiet atomic.Bool
	var beats atomic.Int32
	core, logs := observer.New(zap.WarnLevel)
	m := NewMetrics(prometheus.NewRegistry())
	ka := newKeepAlive(every, heldLong, quiet.Load, zap.New(core), m)
	beat := func() error { beats.Add(1); return nil }

	quiet.Store(true)
	start := time.Now()
	ka.start(&message{subject: "docs.raw.a", seq: 7, delivered: 2}, beat)
	waitFor(t, "beats through an outage past heldLong", func() bool { return time.Since(start) > 3*heldLong && beats.Load() >= 3 })
	if n := logs.FilterMessageSnippet(heldLongMsg).Len(); n != 0 {
		t.Fatalf("%d warnings of a document held through an outage", n)
	}
	quiet.Store(false)
	waitFor(t, "the warning", func() bool { return logs.FilterMessageSnippet(heldLongMsg).Len() > 0 })
	total := time.Since(start)
	e := logs.FilterMessageSnippet(heldLongMsg).All()[0].ContextMap()
	if e["subject"] != "docs.raw.a" || e["stream_seq"] != uint64(7) || e["delivered"] != int64(2) {
		t.Errorf("the warning does not name the input: %v", e)
	}
	// Held counts from the outage's end, not from the document's arrival.
	if held := e["held"].(time.Duration); held < heldLong || held > total-every {
		t.Errorf("held %v, want from the outage's end: at least %v and under the %v since it came", held, heldLong, total)
	}
	time.Sleep(5 * every)
	if n := logs.FilterMessageSnippet(heldLongMsg).Len(); n != 1 {
		t.Errorf("%d warnings for one document, want 1", n)
	}
	if n := testutil.ToFloat64(m.heldLong); n != 1 {
		t.Errorf("winnow_documents_held_long_total %v, want 1", n)
	}
	ka.stop()
	ka.start(&message{subject: "docs.raw.b", seq: 8, delivered: 1}, beat)
	waitFor(t, "a warning for the next document", func() bool { return logs.FilterMessageSnippet(heldLongMsg).Len() == 2 })
	ka.stop()
	if e := logs.FilterMessageSnippet(heldLongMsg).All()[1].ContextMap(); e["stream_seq"] != uint64(8) {
		t.Errorf("the second warning names %v", e)
	}
}

// TestWorkerSaysALongHold: a worker whose handler holds a document past
// heldLong warns, naming its input, and counts it; in-progress acks keep
// it from redelivery, and once the handler lets go it has its one record.
func TestWorkerSaysALongHold(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.AckWait = time.Second // beats every 500ms
	cfg.heldLongAt = 1500 * time.Millisecond
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	hold := pipeline.StageFunc(func(*pipeline.Doc) { <-gate })
	nc, js := connect(t, s)
	core, logs := observer.New(zap.WarnLevel)
	r := startWorkerLogged(t, nc, cfg, zap.New(core), hold)
	t.Cleanup(release) // before the worker's cleanup stops it
	w := r.w
	publishDoc(t, js, "docs.raw.held", map[string]any{"id": "held", "text": "some text"})
	waitFor(t, "the warning", func() bool { return logs.FilterMessageSnippet(heldLongMsg).Len() > 0 })
	e := logs.FilterMessageSnippet(heldLongMsg).All()[0].ContextMap()
	if e["subject"] != "docs.raw.held" || e["stream_seq"] != uint64(1) || e["delivered"] != int64(1) {
		t.Errorf("the warning does not name the input: %v", e)
	}
	if n := testutil.ToFloat64(w.metrics.heldLong); n != 1 {
		t.Errorf("winnow_documents_held_long_total %v, want 1", n)
	}
	release()
	waitFor(t, "the record", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	if n := testutil.ToFloat64(w.metrics.redeliveries); n != 0 {
		t.Errorf("%v redeliveries of a document its handler held", n)
	}
}
