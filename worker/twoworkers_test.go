package worker

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/internal/corpus"
	"github.com/winnow-dev/winnow/pipeline"
)

// decision is what a worker decided for one document.
type decision struct {
	outcome, dupOf string
	crossRemoved   int
}

// kvWorker starts a worker whose cross-document state is the shared KV
// bucket.
func kvWorker(t *testing.T, s *server.Server, cfg Config) (*running, *SharedMemory) {
	t.Helper()
	nc, _ := connect(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	pc := pipeline.DefaultConfig()
	mem, err := NewSharedMemory(ctx, nc, cfg.Shared, pc.CrossOptions.Memory, nil, metrics)
	if err != nil {
		t.Fatal(err)
	}
	pc.Memory = mem
	w, err := New(nc, cfg, func() (*pipeline.Pipeline, error) { return pipeline.New(pc) }, zaptest.NewLogger(t), metrics)
	if err != nil {
		t.Fatal(err)
	}
	w.WatchState(mem.Probe) // as winnow run does
	r := &running{w: w, reg: reg, cancel: cancel, done: make(chan struct{})}
	go func() { r.err = w.Run(ctx); close(r.done) }()
	t.Cleanup(func() { cancel(); <-r.done })
	waitFor(t, "worker ready", w.Ready)
	return r, mem
}

// decide runs docs through `workers` KV-state workers on a fresh server and
// returns every document's decision. Paced, each document is published once
// the previous one has its outcome and every worker has applied its commit;
// otherwise all are published at once.
func decide(t *testing.T, docs []corpus.Doc, workers int, paced bool) map[string]decision {
	s := startServer(t)
	cfg := testConfig()
	cfg.Handlers = 1
	cfg.State = "kv"
	var mems []*SharedMemory
	for i := 0; i < workers; i++ {
		_, mem := kvWorker(t, s, cfg)
		mems = append(mems, mem)
	}
	// replicated: every worker has applied every other worker's commits.
	replicated := func() bool {
		var total int64
		for _, m := range mems {
			total += m.Committed()
		}
		for _, m := range mems {
			if m.Committed()+m.Replicated() != total {
				return false
			}
		}
		return true
	}
	_, js := connect(t, s)
	cons, err := js.Consumer(context.Background(), cfg.InputStream, cfg.Durable)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		publishDoc(t, js, "docs.raw.two", d)
		if paced {
			waitFor(t, "the outcome", func() bool { return outputCount(t, js, cfg.OutputStream) == uint64(i+1) })
			// Acked means committed (the worker commits before it acks).
			waitFor(t, "the ack", func() bool {
				info, err := cons.Info(context.Background())
				return err == nil && info.NumAckPending == 0 && info.NumPending == 0
			})
			waitFor(t, "the commit to replicate", replicated)
		}
	}
	waitFor(t, "every outcome", func() bool { return outputCount(t, js, cfg.OutputStream) == uint64(len(docs)) })
	out := map[string]decision{}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		rec := decodeRecord(t, o.data)
		d := decision{outcome: strings.SplitN(o.subject, ".", 3)[1], dupOf: rec.DuplicateOf}
		for _, r := range rec.Removed {
			if r.Reason == string(dedupe.ReasonCrossRepeat) {
				d.crossRemoved++
			}
		}
		out[rec.ID] = d
	}
	return out
}

// TestTwoWorkersShareState: two workers sharing the KV state over one
// stream decide as one worker does over the same order, but for documents
// in flight at the same moment; exact copies are caught either way.
func TestTwoWorkersShareState(t *testing.T) {
	dir, err := corpus.Dir()
	if err != nil {
		t.Fatal(err)
	}
	all, err := corpus.Docs(dir+"/gold/docs.jsonl", 400)
	if err != nil {
		t.Fatal(err)
	}
	// The gold's first 400 documents (pages with their extractor copies,
	// mail threads), then exact re-sends of 50 of them under new ids.
	docs := append([]corpus.Doc(nil), all...)
	for i := 0; i < 50; i++ {
		d := all[i*7]
		docs = append(docs, corpus.Doc{ID: "resent/" + d.ID, Text: d.Text})
	}
	one := decide(t, docs, 1, true)
	two := decide(t, docs, 2, true)
	burst := decide(t, docs, 2, false)
	burstDiffer := 0
	for _, d := range docs {
		if one[d.ID] != burst[d.ID] {
			burstDiffer++
		}
	}
	differ := 0
	for _, d := range docs {
		a, b := one[d.ID], two[d.ID]
		if a != b {
			differ++
			if differ <= 5 {
				t.Logf("%s: one worker %+v, two workers %+v", d.ID, a, b)
			}
		}
		if b.dupOf == d.ID {
			t.Errorf("%s marked a duplicate of itself", d.ID)
		}
	}
	missed := 0
	for i := 0; i < 50; i++ {
		if two["resent/"+all[i*7].ID].outcome != "dup" {
			missed++
		}
	}
	// In a burst the two workers' pull buffers hold different stretches of
	// the stream, so a re-send can reach its claim before its original
	// does; the claim then makes the original the duplicate. A pair is
	// missed only when neither copy is marked a duplicate.
	burstMissed, backwards := 0, 0
	for i := 0; i < 50; i++ {
		orig, resent := all[i*7].ID, "resent/"+all[i*7].ID
		switch o, r := burst[orig], burst[resent]; {
		case o.dupOf == "" && r.dupOf == "":
			burstMissed++
			t.Logf("burst: %s and %s both kept: %+v, %+v", orig, resent, o, r)
		case o.dupOf == resent:
			backwards++
		}
	}
	t.Logf("paced: %d of %d decisions differ between one worker and two sharing state; %d of 50 exact re-sends missed", differ, len(docs), missed)
	t.Logf("burst (all published at once, documents in flight together): %d of %d differ; %d of 50 copy pairs missed, %d settled with the re-send first",
		burstDiffer, len(docs), burstMissed, backwards)
	if missed > 0 || burstMissed > 0 {
		t.Errorf("exact copies not marked duplicate with shared state: %d re-sends paced, %d pairs in the burst", missed, burstMissed)
	}
	if differ > 0 {
		t.Errorf("%d decisions differ with nothing in flight together", differ)
	}
}
