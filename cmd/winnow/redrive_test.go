package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/winnow-dev/winnow/internal/natstest"
	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/worker"
)

// failWhile is a real pipeline stage that fails every document while down
// is set.
type failWhile struct{ down atomic.Bool }

func (f *failWhile) Process(*pipeline.Doc) {
	if f.down.Load() {
		panic("stage down")
	}
}

// TestRedriveCommandAndAudit dead-letters three documents during an outage,
// redrives them with `winnow redrive`, and checks that `winnow audit` then
// counts each document once, by its record.
func TestRedriveCommandAndAudit(t *testing.T) {
	s := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 8 << 20 })
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	wc := worker.DefaultConfig()
	wc.Handlers, wc.MaxDeliver, wc.AckWait, wc.Backoff = 2, 2, 2*time.Second, []time.Duration{20 * time.Millisecond}
	stage := &failWhile{}
	stage.down.Store(true)
	w, err := worker.New(nc, wc, func() (*pipeline.Pipeline, error) { return pipeline.New(pipeline.DefaultConfig(), stage) }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for !w.Ready() {
		time.Sleep(10 * time.Millisecond)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"d1", "d2", "d3"}
	for _, id := range ids {
		if _, err := js.Publish(ctx, "docs.raw.x", fmt.Appendf(nil, `{"id":%q,"text":"story %s"}`, id, id)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := audit(ctx, nc, wc, ids, 20*time.Second, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ByOutcome["dead_letter"] != 3 || len(rep.Missing) > 0 {
		t.Fatalf("before the redrive: %+v", rep)
	}

	var out, errb bytes.Buffer
	if code := Main(ctx, []string{"redrive", "--nats-url", s.ClientURL(), "--reasons", "processing_failed,bogus"}, nil, &out, &errb); code != exitFatal ||
		!strings.Contains(errb.String(), `"bogus" is not a dead-letter reason`) {
		t.Fatalf("an unknown reason: exit %d, stderr %q", code, errb.String())
	}
	stage.down.Store(false)
	errb.Reset()
	if code := Main(ctx, []string{"redrive", "--nats-url", s.ClientURL()}, nil, &out, &errb); code != exitOK {
		t.Fatalf("redrive: exit %d, stderr %q", code, errb.String())
	}
	var rr worker.RedriveReport
	if err := json.Unmarshal(out.Bytes(), &rr); err != nil || rr.Redriven["processing_failed"] != 3 {
		t.Fatalf("redrive printed %q (%v)", out.String(), err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, err := js.Stream(ctx, wc.OutputStream)
		if err != nil {
			t.Fatal(err)
		}
		if info, err := st.Info(ctx); err == nil && info.State.Msgs >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the redriven documents' records did not arrive")
		}
	}
	rep, err = audit(ctx, nc, wc, ids, 0, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Messages != 6 || rep.ByOutcome["clean"] != 3 || rep.Redriven != 3 || len(rep.IDsTwice) > 0 || len(rep.Missing) > 0 {
		t.Fatalf("after the redrive: %+v", rep)
	}
}
