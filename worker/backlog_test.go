package worker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/winnow-dev/winnow/internal/natstest"
	"github.com/winnow-dev/winnow/pipeline"
)

// backlogNow gathers winnow_consumer_pending and winnow_consumer_ack_pending
// from reg; ok is false while they are not exported.
func backlogNow(t *testing.T, reg prometheus.Gatherer) (pending, ackPending float64, ok bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, mf := range mfs {
		switch mf.GetName() {
		case "winnow_consumer_pending":
			pending, seen = mf.GetMetric()[0].GetGauge().GetValue(), seen+1
		case "winnow_consumer_ack_pending":
			ackPending, seen = mf.GetMetric()[0].GetGauge().GetValue(), seen+1
		}
	}
	return pending, ackPending, seen == 2
}

// TestConsumerBacklog: a consuming worker exports its input consumer's
// backlog as the server counts it: inputs not yet delivered while an
// operator has the consumer paused (and the log says it is paused), inputs
// delivered and not yet acknowledged while the handlers hold them, none
// once every input has its outcome; and nothing once the worker has
// stopped.
func TestConsumerBacklog(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.backlogEvery = 50 * time.Millisecond
	gate := make(chan struct{})
	hold := pipeline.StageFunc(func(*pipeline.Doc) { <-gate })
	nc, js := connect(t, s)
	core, logs := observer.New(zap.InfoLevel)
	r := startWorkerLogged(t, nc, cfg, zap.New(core), hold)
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the worker's cleanup stops it
	ctx, reg := context.Background(), r.reg
	waitFor(t, "an empty backlog", func() bool { p, a, ok := backlogNow(t, reg); return ok && p == 0 && a == 0 })

	if _, err := js.PauseConsumer(ctx, cfg.InputStream, cfg.Durable, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := range n {
		publishDoc(t, js, "docs.raw.backlog", map[string]any{"id": fmt.Sprintf("doc-%d", i), "text": "some text"})
	}
	explain := func() string {
		p, a, ok := backlogNow(t, reg)
		return fmt.Sprintf("pending %v, ack pending %v, exported %v", p, a, ok)
	}
	waitExplained(t, "the paused consumer's inputs counted pending", func() bool {
		p, a, ok := backlogNow(t, reg)
		return ok && p == n && a == 0
	}, explain)
	if logs.FilterMessageSnippet("the input consumer is paused").Len() != 1 {
		t.Errorf("no single warning that the consumer is paused: %v", logs.All())
	}

	if _, err := js.ResumeConsumer(ctx, cfg.InputStream, cfg.Durable); err != nil {
		t.Fatal(err)
	}
	// The handlers hold what they took; the rest of what was delivered
	// waits in the pull buffer, unacknowledged too.
	waitExplained(t, "delivered inputs counted as awaiting their ack", func() bool {
		p, a, ok := backlogNow(t, reg)
		return ok && a >= float64(cfg.Handlers) && p+a == n
	}, explain)
	if logs.FilterMessage("the input consumer is resumed").Len() != 1 {
		t.Errorf("no single line that the consumer is resumed: %v", logs.All())
	}
	release()
	waitFor(t, "every outcome", func() bool { return outputCount(t, js, cfg.OutputStream) == n })
	waitExplained(t, "an empty backlog again", func() bool { p, a, ok := backlogNow(t, reg); return ok && p == 0 && a == 0 }, explain)

	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if p, a, ok := backlogNow(t, reg); ok {
		t.Errorf("a stopped worker still exports a backlog (pending %v, ack pending %v)", p, a)
	}
}

// TestConsumerBacklogGoesStale: a look is exported only while it is
// current; a worker that cannot look again (NATS away) stops exporting the
// last count rather than report it as though nothing moved.
func TestConsumerBacklogGoesStale(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	if _, _, ok := backlogNow(t, reg); ok {
		t.Fatal("a backlog exported before any look")
	}
	m.consumerLooked(7, 3, 200*time.Millisecond)
	if p, a, ok := backlogNow(t, reg); !ok || p != 7 || a != 3 {
		t.Fatalf("after a look: pending %v, ack pending %v, exported %v; want 7, 3", p, a, ok)
	}
	time.Sleep(250 * time.Millisecond)
	if _, _, ok := backlogNow(t, reg); ok {
		t.Error("a stale look still exported")
	}
}

// TestConsumerBacklogNotPermitted: a worker whose user may not look its
// consumer up (CONSUMER.INFO denied) cleans as before, exports no backlog
// and says once why; given the permission back, it exports the count and
// says so.
func TestConsumerBacklogNotPermitted(t *testing.T) {
	user := func(deny ...string) []*server.User {
		return []*server.User{{Username: "test", Password: "t"}, {Username: "winnow", Password: "w", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{">"}, Deny: deny}}}}
	}
	cfg := testConfig()
	cfg.backlogEvery = 100 * time.Millisecond
	var opts *server.Options
	s := natstest.Start(t, func(o *server.Options) {
		o.Users, opts = user("$JS.API.CONSUMER.INFO."+cfg.InputStream+"."+cfg.Durable), o
	})
	nc, _ := connect(t, s, nats.UserInfo("winnow", "w"))
	core, logs := observer.New(zap.InfoLevel)
	r := startWorkerLogged(t, nc, cfg, zap.New(core))
	reg := r.reg
	_, js := connect(t, s, nats.UserInfo("test", "t"))
	publishDoc(t, js, "docs.raw.backlog", map[string]any{"id": "doc", "text": "some text"})
	waitFor(t, "the document's record", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	waitFor(t, "a warning that the consumer cannot be looked up", func() bool {
		return logs.FilterMessageSnippet("the input consumer could not be looked up").Len() > 0
	})
	if e := logs.FilterMessageSnippet("the input consumer could not be looked up").All()[0]; !strings.Contains(fmt.Sprint(e.ContextMap()["error"]), "Permissions Violation") {
		t.Errorf("the warning does not give the server's refusal: %v", e.ContextMap())
	}
	// Each refused look waits out its timeout: let three go by.
	time.Sleep(3*consumerCheckTimeout + 5*cfg.backlogEvery)
	if p, a, ok := backlogNow(t, reg); ok {
		t.Errorf("a backlog exported that could not be looked up: %v, %v", p, a)
	}
	if n := logs.FilterMessageSnippet("the input consumer could not be looked up").Len(); n != 1 {
		t.Errorf("%d warnings that the consumer cannot be looked up, want one for the streak", n)
	}
	allowed := opts.Clone()
	allowed.Users = user()
	if err := s.ReloadOptions(allowed); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the backlog exported", func() bool { p, a, ok := backlogNow(t, reg); return ok && p == 0 && a == 0 })
	if logs.FilterMessage("the input consumer is looked up again").Len() != 1 {
		t.Errorf("no line that the consumer is looked up again")
	}
}
