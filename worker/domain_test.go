package worker

import (
	"context"
	"testing"
	"time"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/internal/natstest"
)

// TestJetStreamDomain: a worker connected to a leaf node, told the hub's
// domain, makes and uses its streams and dedupe bucket in the hub's
// JetStream, not the leaf's (before, there was no way to name a domain:
// the JetStream API a client on the leaf reaches is the leaf's own).
func TestJetStreamDomain(t *testing.T) {
	hub, leaf, _ := natstest.HubAndLeaf(t)
	cfg := testConfig()
	cfg.JetStreamDomain = "hub"
	cfg.Shared.JetStreamDomain = "hub"
	leafNC, _ := connect(t, leaf)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := NewSharedMemory(ctx, leafNC, cfg.Shared, dedupe.DefaultMemoryOptions(), nil, nil); err != nil {
		t.Fatal(err)
	}
	startWorker(t, leaf, cfg)

	_, hubJS := connect(t, hub)
	_, leafJS := connect(t, leaf) // the leaf's own domain
	for _, name := range []string{cfg.InputStream, cfg.OutputStream, "KV_" + cfg.Shared.Bucket} {
		if _, err := hubJS.Stream(ctx, name); err != nil {
			t.Errorf("stream %s not in the hub's domain: %v", name, err)
		}
		if _, err := leafJS.Stream(ctx, name); err == nil {
			t.Errorf("stream %s made in the leaf's domain", name)
		}
	}
	// A crawler on the hub publishes; the worker on the leaf cleans.
	publishDocs(t, hubJS, 0, 5)
	waitFor(t, "5 records in the hub's output stream", func() bool { return outputCount(t, hubJS, cfg.OutputStream) == 5 })
	if byID, outcomes := outcomesByID(t, hubJS, cfg); len(byID) != 5 || outcomes["clean"] != 5 {
		t.Fatalf("%d ids, outcomes %v; want 5 clean", len(byID), outcomes)
	}
}

// TestNewJetStreamDomain: NewJetStream reaches the domain it names, and the
// connected server's own without one.
func TestNewJetStreamDomain(t *testing.T) {
	_, leaf, _ := natstest.HubAndLeaf(t)
	nc, _ := connect(t, leaf)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for domain, want := range map[string]string{"": "leaf", "leaf": "leaf", "hub": "hub"} {
		js, err := NewJetStream(nc, domain)
		if err != nil {
			t.Fatal(err)
		}
		info, err := js.AccountInfo(ctx)
		if err != nil {
			t.Fatalf("domain %q: %v", domain, err)
		}
		if info.Domain != want {
			t.Errorf("domain %q answered by %q, want %q", domain, info.Domain, want)
		}
	}
}
