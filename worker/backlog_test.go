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
	"github.com/nats-io/nats.go/jetstream"
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

// startHeldWorker runs a worker of cfg on a server of its own, logging to
// logs, whose handlers hold every document until release (which runs too
// as the test ends, before the worker stops); js is a client of that
// server.
func startHeldWorker(t *testing.T, cfg Config) (r *running, js jetstream.JetStream, logs *observer.ObservedLogs, release func()) {
	t.Helper()
	s := startServer(t)
	gate := make(chan struct{})
	hold := pipeline.StageFunc(func(*pipeline.Doc) { <-gate })
	nc, js := connect(t, s)
	core, logs := observer.New(zap.InfoLevel)
	r = startWorkerLogged(t, nc, cfg, zap.New(core), hold)
	release = sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the worker's cleanup stops it
	return r, js, logs, release
}

// TestConsumerBacklog: a consuming worker exports its input consumer's
// backlog as the server counts it: inputs not yet delivered while an
// operator has the consumer paused (and the log says it is paused), inputs
// delivered and not yet acknowledged while the handlers hold them, none
// once every input has its outcome; and nothing once the worker has
// stopped.
func TestConsumerBacklog(t *testing.T) {
	cfg := testConfig()
	cfg.backlogEvery = 50 * time.Millisecond
	r, js, logs, release := startHeldWorker(t, cfg)
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

// startDenying starts a server with a user test, who may do anything, and
// a user winnow, who may publish anything but deny; allow lifts the denial
// (a configuration reload).
func startDenying(t *testing.T, deny string) (s *server.Server, allow func()) {
	t.Helper()
	users := func(deny ...string) []*server.User {
		return []*server.User{{Username: "test", Password: "t"}, {Username: "winnow", Password: "w", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{">"}, Deny: deny}}}}
	}
	var opts *server.Options
	s = natstest.Start(t, func(o *server.Options) { o.Users, opts = users(deny), o })
	return s, func() {
		t.Helper()
		allowed := opts.Clone()
		allowed.Users = users()
		if err := s.ReloadOptions(allowed); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsumerBacklogNotPermitted: a worker whose user may not look its
// consumer up (CONSUMER.INFO denied) cleans as before, exports no backlog
// and says once why; given the permission back, it exports the count and
// says so.
func TestConsumerBacklogNotPermitted(t *testing.T) {
	cfg := testConfig()
	cfg.backlogEvery = 100 * time.Millisecond
	s, allow := startDenying(t, "$JS.API.CONSUMER.INFO."+cfg.InputStream+"."+cfg.Durable)
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
	allow()
	waitFor(t, "the backlog exported", func() bool { p, a, ok := backlogNow(t, reg); return ok && p == 0 && a == 0 })
	if logs.FilterMessage("the input consumer is looked up again").Len() != 1 {
		t.Errorf("no line that the consumer is looked up again")
	}
}

// gaugeNow gathers the gauge name, of no labels, from reg; ok is false
// while it is not exported.
func gaugeNow(t *testing.T, reg prometheus.Gatherer, name string) (value float64, ok bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// lagNow gathers winnow_consumer_lag_seconds from reg.
func lagNow(t *testing.T, reg prometheus.Gatherer) (seconds float64, ok bool) {
	t.Helper()
	return gaugeNow(t, reg, "winnow_consumer_lag_seconds")
}

// TestConsumerLag: winnow_consumer_lag_seconds is the age of the oldest
// input not yet acknowledged: 0 with none waiting; the first input's age
// while the consumer is paused, whatever came after it; still its age
// while a handler holds it (delivered, not acknowledged); 0 once every
// input has its outcome; and nothing once the worker has stopped.
func TestConsumerLag(t *testing.T) {
	cfg := testConfig()
	cfg.backlogEvery = 50 * time.Millisecond
	r, js, _, release := startHeldWorker(t, cfg)
	ctx, reg := context.Background(), r.reg
	explain := func() string { v, ok := lagNow(t, reg); return fmt.Sprintf("lag %vs, exported %v", v, ok) }
	waitExplained(t, "a lag of 0 with nothing waiting", func() bool { v, ok := lagNow(t, reg); return ok && v == 0 }, explain)

	if _, err := js.PauseConsumer(ctx, cfg.InputStream, cfg.Durable, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	first := time.Now()
	publishDoc(t, js, "docs.raw.lag", map[string]any{"id": "first", "text": "the oldest input"})
	time.Sleep(300 * time.Millisecond)
	for i := range 5 {
		publishDoc(t, js, "docs.raw.lag", map[string]any{"id": fmt.Sprint("later-", i), "text": "a later input"})
	}
	// The oldest input's age, not the newest's: at least the 300ms it
	// waited alone, at most its age now.
	oldest := func() bool {
		v, ok := lagNow(t, reg)
		return ok && v >= 0.3 && v <= time.Since(first).Seconds()
	}
	waitExplained(t, "the first input's age while the consumer is paused", oldest, explain)

	if _, err := js.ResumeConsumer(ctx, cfg.InputStream, cfg.Durable); err != nil {
		t.Fatal(err)
	}
	waitExplained(t, "every input delivered", func() bool { p, _, ok := backlogNow(t, reg); return ok && p == 0 }, explain)
	time.Sleep(3 * cfg.backlogEvery) // a look after the delivery
	if !oldest() {
		t.Errorf("with the first input held by a handler: %s, want its age (over 0.3s)", explain())
	}
	release()
	waitFor(t, "every outcome", func() bool { return outputCount(t, js, cfg.OutputStream) == 6 })
	waitExplained(t, "a lag of 0 again", func() bool { v, ok := lagNow(t, reg); return ok && v == 0 }, explain)

	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if v, ok := lagNow(t, reg); ok {
		t.Errorf("a stopped worker still exports a lag of %vs", v)
	}
}

// TestConsumerLagNotPermitted: a user the server does not let read the
// input stream's messages (STREAM.MSG.GET) keeps the backlog counts, goes
// without the lag and is told once why; given the permission, the lag is
// exported and a line says so.
func TestConsumerLagNotPermitted(t *testing.T) {
	cfg := testConfig()
	cfg.backlogEvery = 100 * time.Millisecond
	s, allow := startDenying(t, "$JS.API.STREAM.MSG.GET."+cfg.InputStream)
	nc, _ := connect(t, s, nats.UserInfo("winnow", "w"))
	core, logs := observer.New(zap.InfoLevel)
	r := startWorkerLogged(t, nc, cfg, zap.New(core))
	reg := r.reg
	_, js := connect(t, s, nats.UserInfo("test", "t"))
	// Inputs wait (the lag is read only then) on a paused consumer.
	if _, err := js.PauseConsumer(context.Background(), cfg.InputStream, cfg.Durable, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	publishDoc(t, js, "docs.raw.lag", map[string]any{"id": "doc", "text": "some text"})
	const warning = "the oldest waiting input could not be read"
	waitFor(t, "a warning that the oldest input cannot be read", func() bool { return logs.FilterMessageSnippet(warning).Len() > 0 })
	if e := logs.FilterMessageSnippet(warning).All()[0]; !strings.Contains(fmt.Sprint(e.ContextMap()["error"]), "Permissions Violation") {
		t.Errorf("the warning does not give the server's refusal: %v", e.ContextMap())
	}
	time.Sleep(3*consumerCheckTimeout + 5*cfg.backlogEvery)
	if p, _, ok := backlogNow(t, reg); !ok || p != 1 {
		t.Errorf("the backlog counts: pending %v, exported %v; want 1, kept without the lag", p, ok)
	}
	if v, ok := lagNow(t, reg); ok {
		t.Errorf("a lag of %vs exported that could not be read", v)
	}
	if n := logs.FilterMessageSnippet(warning).Len(); n != 1 {
		t.Errorf("%d warnings that the oldest input cannot be read, want one for the streak", n)
	}
	allow()
	waitFor(t, "the lag exported", func() bool { v, ok := lagNow(t, reg); return ok && v > 0 })
	if logs.FilterMessage("the oldest waiting input is read again").Len() != 1 {
		t.Errorf("no line that the oldest input is read again")
	}
}

// TestWorkerUnderDeployPermissions: the winnow user of deploy/nats/nats.conf
// may do all a consuming worker asks: make its streams and consumer,
// consume, publish, look the consumer up and read the oldest waiting input
// (the backlog and lag metrics), with not one warning.
func TestWorkerUnderDeployPermissions(t *testing.T) {
	s := natstest.Start(t, func(o *server.Options) {
		o.Users = []*server.User{deployUser(t), {Username: "test", Password: "t"}}
		o.MaxPayload = 8 << 20 // as deploy/nats/nats.conf
	})
	cfg := testConfig()
	cfg.backlogEvery = 50 * time.Millisecond
	nc, _ := connect(t, s, nats.UserInfo("winnow", "w"))
	core, logs := observer.New(zap.InfoLevel)
	r := startWorkerLogged(t, nc, cfg, zap.New(core))
	_, js := connect(t, s, nats.UserInfo("test", "t"))
	if _, err := js.PauseConsumer(context.Background(), cfg.InputStream, cfg.Durable, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		publishDoc(t, js, "docs.raw.perm", map[string]any{"id": fmt.Sprint("doc-", i), "text": "some text"})
	}
	waitFor(t, "the backlog and the lag", func() bool {
		p, _, ok := backlogNow(t, r.reg)
		v, lagged := lagNow(t, r.reg)
		return ok && p == 3 && lagged && v > 0
	})
	if _, err := js.ResumeConsumer(context.Background(), cfg.InputStream, cfg.Durable); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every outcome", func() bool { return outputCount(t, js, cfg.OutputStream) == 3 })
	waitFor(t, "a lag of 0", func() bool { v, ok := lagNow(t, r.reg); return ok && v == 0 })
	for _, e := range logs.FilterLevelExact(zap.WarnLevel).All() {
		if e.Message != "the input consumer is paused (nats consumer pause): no input comes until it resumes" {
			t.Errorf("warning under the deploy permissions: %s %v", e.Message, e.ContextMap())
		}
	}
	if n := logs.FilterLevelExact(zap.ErrorLevel).Len(); n > 0 {
		t.Errorf("%d errors under the deploy permissions: %v", n, logs.FilterLevelExact(zap.ErrorLevel).All())
	}
}
