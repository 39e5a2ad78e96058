package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/winnow-dev/winnow/internal/natstest"
)

// TestJetStreamDomainSetting: with nats.jetstream_domain naming the hub,
// `winnow run` on a leaf node makes its streams and dedupe bucket in the
// hub's JetStream, and `winnow publish`, `winnow audit` and `winnow
// redrive` on the leaf find them there. A domain no JetStream answers in
// fails start-up naming it; one that is not one subject token fails
// --check-config.
func TestJetStreamDomainSetting(t *testing.T) {
	hub, leaf, _ := natstest.HubAndLeaf(t)
	t.Setenv("WINNOW_NATS_JETSTREAM_DOMAIN", "hub")
	t.Setenv("WINNOW_WORKER_STATE", "kv")
	r := startRun(t, leaf.ClientURL())
	waitReady(t, r, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream := func(url, name string) error {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc) // the server's own domain
		if err != nil {
			t.Fatal(err)
		}
		_, err = js.Stream(ctx, name)
		return err
	}
	for _, name := range []string{"WINNOW_RAW", "WINNOW_OUT", "KV_WINNOW_DEDUPE"} {
		if err := stream(hub.ClientURL(), name); err != nil {
			t.Errorf("%s not in the hub's domain: %v", name, err)
		}
		if err := stream(leaf.ClientURL(), name); err == nil {
			t.Errorf("%s made in the leaf's domain", name)
		}
	}

	file := filepath.Join(t.TempDir(), "docs.jsonl")
	if err := os.WriteFile(file, []byte("{\"id\":\"a\",\"text\":\"One story about the harbour.\"}\n{\"id\":\"b\",\"text\":\"Another about the hills.\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tool := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		args = append(append(args[:1:1], "--nats-url", leaf.ClientURL()), args[1:]...)
		if code := Main(ctx, args, nil, &out, &errb); code != exitOK {
			t.Fatalf("winnow %s: exit %d: %s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String()
	}
	tool("publish", "--subject", "docs.raw.x", file)
	if out := tool("audit", "--ids", file, "--wait", "20s"); !strings.Contains(out, `"clean": 2`) {
		t.Errorf("audit: %s", out)
	}
	// It exits 1 when it cannot read the output stream.
	if out := tool("redrive", "--dry-run"); !strings.Contains(out, `"dead_letters": 0`) {
		t.Errorf("redrive --dry-run: %s", out)
	}

	// A domain no JetStream answers in fails start-up saying so (before:
	// "JetStream is not enabled on the NATS server").
	t.Setenv("WINNOW_NATS_JETSTREAM_DOMAIN", "hubb")
	code, stderr := runUntilReady(t, leaf.ClientURL(), nil)
	if want := `no JetStream answers in domain "hubb" (nats.jetstream_domain; the connected server has JetStream in domain "leaf")`; code != exitFatal ||
		!strings.Contains(stderr, want) {
		t.Errorf("domain hubb: exit %d, stderr %q; want exit 1 saying %q", code, stderr, want)
	}
	plain := natstest.Start(t, nil) // JetStream, no domain
	code, stderr = runUntilReady(t, plain.ClientURL(), nil)
	if want := `no JetStream answers in domain "hubb" (nats.jetstream_domain; the connected server has JetStream with no domain)`; code != exitFatal ||
		!strings.Contains(stderr, want) {
		t.Errorf("domain hubb on a server without domains: exit %d, stderr %q; want exit 1 saying %q", code, stderr, want)
	}

	t.Setenv("WINNOW_NATS_JETSTREAM_DOMAIN", "hub.east")
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"run", "--check-config"}, nil, &out, &errb); code != exitFatal ||
		!strings.Contains(errb.String(), "nats.jetstream_domain") {
		t.Errorf("domain hub.east: exit %d, stderr %q; want 1 naming nats.jetstream_domain", code, errb.String())
	}
}
