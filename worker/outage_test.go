package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/winnow-dev/winnow/internal/natstest"
	"github.com/winnow-dev/winnow/schemas"
)

// editStream updates a stream's configuration with edit, which is given
// the stream's info too.
func editStream(t *testing.T, js jetstream.JetStream, name string, edit func(*jetstream.StreamInfo, *jetstream.StreamConfig)) {
	t.Helper()
	ctx := context.Background()
	_, info := streamInfo(ctx, t, js, name)
	sc := info.Config
	edit(info, &sc)
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
}

// squeezeBucket limits the bucket's stream to the bytes it holds, so it
// takes no more writes ("maximum bytes exceeded"), or lifts the limit.
func squeezeBucket(t *testing.T, js jetstream.JetStream, bucket string, squeeze bool) {
	t.Helper()
	editStream(t, js, "KV_"+bucket, func(info *jetstream.StreamInfo, sc *jetstream.StreamConfig) {
		sc.MaxBytes = -1
		if squeeze {
			sc.MaxBytes = int64(info.State.Bytes)
		}
	})
}

func publishDocs(t *testing.T, js jetstream.JetStream, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		id := fmt.Sprint("doc-", i)
		publishDoc(t, js, "docs.raw.a", map[string]string{"id": id,
			"text": fmt.Sprintf("Story number %d, told once: %s walks to the harbour at dawn.", i, id)})
	}
}

// publishAtOnce publishes documents from..to-1 with the worker's consumer
// paused on the server, so that it delivers them together once resumed.
// A worker that pauses its intake on the first one then holds every one:
// none is delivered into its iterator as it drains it (such a message,
// delivered to a pull request whose inbox is gone, is redelivered after
// ack_wait, spending a delivery).
func publishAtOnce(t *testing.T, js jetstream.JetStream, cfg Config, from, to int) {
	t.Helper()
	ctx := context.Background()
	if _, err := js.PauseConsumer(ctx, cfg.InputStream, cfg.Durable, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	publishDocs(t, js, from, to)
	if _, err := js.ResumeConsumer(ctx, cfg.InputStream, cfg.Durable); err != nil {
		t.Fatal(err)
	}
}

// outcomesByID reads the output stream and counts each id's outcomes.
func outcomesByID(t *testing.T, js jetstream.JetStream, cfg Config) (byID map[string]int, outcomes map[string]int) {
	t.Helper()
	byID, outcomes = map[string]int{}, map[string]int{}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		outcomes[o.header.Get(HeaderOutcome)]++
		if o.header.Get(HeaderOutcome) == "dead_letter" {
			var dl schemas.DeadLetter
			if err := json.Unmarshal(o.data, &dl); err != nil {
				t.Fatal(err)
			}
			byID[dl.ID]++
			continue
		}
		byID[decodeRecord(t, o.data).ID]++
	}
	return byID, outcomes
}

// warmWorker starts a worker on s and has it clean doc-0..doc-2, the
// documents before an outage; it returns the worker and a connection of
// the test's own.
func warmWorker(t *testing.T, s *server.Server, cfg Config) (*running, jetstream.JetStream) {
	t.Helper()
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	publishDocs(t, js, 0, 3)
	waitFor(t, "3 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 3 })
	return r, js
}

// unseen is how many of the docs documents that arrived during an outage
// a paused worker never received, done of them having finished before it
// paused: the others are held by its intake (winnow_paused_held) or its
// handlers (winnow_in_flight).
func unseen(t *testing.T, r *running, docs, done int) int {
	t.Helper()
	held, inFlight := testutil.ToFloat64(r.w.metrics.pausedHeld), testutil.ToFloat64(r.w.metrics.inFlight)
	n := docs - done - int(held) - int(inFlight)
	if n < 0 {
		t.Fatalf("paused worker: %v held, %v in flight, %d done, more than the %d documents", held, inFlight, done, docs)
	}
	return n
}

// wantResumed checks a worker after one outage: ready again, the output
// stream holds clean records of n distinct ids and nothing else, one pause
// counted, and no document held through the pause spent a delivery: none
// came again as a second copy. Only the missed documents (see unseen) may
// have been delivered twice: the server may send a message to the pull
// request the pause stopped, after its inbox is gone, and send it again
// after ack_wait (the README's outage section); commonly none is.
func wantResumed(t *testing.T, r *running, js jetstream.JetStream, cfg Config, n, missed int) {
	t.Helper()
	waitFor(t, "the worker to turn ready", r.w.Ready)
	byID, outcomes := outcomesByID(t, js, cfg)
	if len(byID) != n || outcomes["clean"] != n {
		t.Fatalf("after the outage: %d ids, outcomes %v; want %d clean", len(byID), outcomes, n)
	}
	if p := testutil.ToFloat64(r.w.metrics.pauses); p != 1 {
		t.Fatalf("winnow_pauses_total %v, want 1", p)
	}
	if h := testutil.ToFloat64(r.w.metrics.pausedHeld); h != 0 {
		t.Fatalf("winnow_paused_held %v after the outage, want 0", h)
	}
	for _, state := range []string{"held", "settled"} {
		if c := testutil.ToFloat64(r.w.metrics.copies.WithLabelValues(state)); c != 0 {
			t.Fatalf("%v second copies (%s): a held document spent a delivery", c, state)
		}
	}
	d := testutil.ToFloat64(r.w.metrics.redeliveries)
	if d > float64(missed) {
		t.Fatalf("%v redeliveries, but only %d documents were not held through the pause", d, missed)
	}
	if d > 0 {
		t.Logf("%v of the %d documents the paused worker had not received were sent to its stopped pull", d, missed)
	}
}

// TestStateOutage squeezes the dedupe bucket so that it takes no writes
// while documents arrive. Under the pause policy the worker holds them,
// pulls no more, spends no delivery and dead-letters none, turns unready,
// and cleans every one once the bucket takes writes again; stopped during
// an outage it hands its documents back and stops cleanly. Under the retry
// policy the same outage dead-letters them.
func TestStateOutage(t *testing.T) {
	for _, policy := range []string{OutagePause, OutageRetry} {
		t.Run(policy, func(t *testing.T) {
			s := startServer(t)
			cfg := testConfig()
			cfg.State = "kv"
			cfg.Outage = policy
			cfg.AckWait = time.Second
			r, _ := kvWorker(t, s, cfg)
			_, js := connect(t, s)
			publishDocs(t, js, 0, 3)
			waitFor(t, "3 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 3 })

			squeezeBucket(t, js, cfg.Shared.Bucket, true)
			publishAtOnce(t, js, cfg, 3, 23)
			if policy == OutageRetry {
				waitFor(t, "23 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 23 })
				_, outcomes := outcomesByID(t, js, cfg)
				if outcomes["dead_letter"] != 20 {
					t.Fatalf("retry policy: outcomes %v, want the 20 documents of the outage dead-lettered", outcomes)
				}
				return
			}
			waitFor(t, "the worker to turn unready", func() bool { return !r.w.Ready() })
			if p := testutil.ToFloat64(r.w.metrics.pausedNow); p != 1 {
				t.Fatalf("winnow_paused %v during the outage", p)
			}
			// Longer than every delivery and backoff the retry policy gives
			// a document.
			time.Sleep(cfg.worstRedelivery() + time.Second)
			if n := outputCount(t, js, cfg.OutputStream); n != 3 {
				t.Fatalf("%d outputs during the outage, want the 3 from before it", n)
			}
			cons, err := js.Consumer(context.Background(), cfg.InputStream, cfg.Durable)
			if err != nil {
				t.Fatal(err)
			}
			info, err := cons.Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if info.NumRedelivered != 0 || info.NumAckPending+int(info.NumPending) != 20 {
				t.Fatalf("during the outage: %s; want 20 documents waiting, none redelivered", consumerState(js, cfg))
			}
			missed := unseen(t, r, 20, 0)

			squeezeBucket(t, js, cfg.Shared.Bucket, false)
			waitFor(t, "23 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 23 })
			wantResumed(t, r, js, cfg, 23, missed)

			// Stopped during an outage, the worker hands its documents back
			// and stops within the drain deadline; the next one cleans them.
			squeezeBucket(t, js, cfg.Shared.Bucket, true)
			publishDocs(t, js, 23, 28)
			waitFor(t, "the worker to turn unready", func() bool { return !r.w.Ready() })
			if err := r.stop(t); err != nil {
				t.Fatalf("stopped during an outage: %v", err)
			}
			squeezeBucket(t, js, cfg.Shared.Bucket, false)
			kvWorker(t, s, cfg)
			waitFor(t, "28 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 28 })
			byID, outcomes := outcomesByID(t, js, cfg)
			if len(byID) != 28 || outcomes["clean"] != 28 {
				t.Fatalf("after the restart: %d ids, outcomes %v; want 28 clean", len(byID), outcomes)
			}
		})
	}
}

// TestOutputStreamOutage deletes the output stream while documents arrive,
// so that records and dead letters alike find no stream. Under the pause
// policy the worker holds them, spends no delivery, and cleans every one
// once the stream is back. Under the retry policy they use up their
// deliveries and end as max_deliveries dead letters, or as records when a
// copy still within max_deliver is handled once the stream is back: one
// outcome each, however many copies of an input the naks made (see
// copies).
func TestOutputStreamOutage(t *testing.T) {
	for _, policy := range []string{OutagePause, OutageRetry} {
		t.Run(policy, func(t *testing.T) {
			s := startServer(t)
			ctx := context.Background()
			// The streams exist, and the worker may not create them: a
			// deleted output stream is then an outage it cannot end
			// (with create_streams it would create the stream again; see
			// TestOutputStreamDeletedIsCreatedAgain).
			creating := testConfig()
			_, js0 := connect(t, s)
			if _, err := creating.ensure(ctx, js0); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig()
			cfg.CreateStreams = false
			cfg.Outage = policy
			cfg.PublishTimeout = time.Second
			r, js := warmWorker(t, s, cfg)

			if err := js.DeleteStream(ctx, cfg.OutputStream); err != nil {
				t.Fatal(err)
			}
			publishDocs(t, js, 3, 13)
			if policy == OutagePause {
				waitFor(t, "the worker to turn unready", func() bool { return !r.w.Ready() })
			}
			time.Sleep(cfg.worstRedelivery() + time.Second)
			missed := 0
			if policy == OutagePause {
				missed = unseen(t, r, 10, 0)
			}
			if _, err := creating.ensure(ctx, js); err != nil { // the output stream again, empty
				t.Fatal(err)
			}
			if policy == OutageRetry {
				// Every input acked or terminated; copies redelivered while
				// the handlers were stuck may each have an outcome.
				cons, err := js.Consumer(ctx, cfg.InputStream, cfg.Durable)
				if err != nil {
					t.Fatal(err)
				}
				waitExplained(t, "every input finished", func() bool {
					info, err := cons.Info(ctx)
					return err == nil && info.AckFloor.Stream == 13 && info.NumAckPending == 0
				}, func() string { return consumerState(js, cfg) })
				byID, outcomes := outcomesByID(t, js, cfg)
				if outcomes["dead_letter"] == 0 {
					t.Fatalf("retry policy: outcomes %v, want max_deliveries dead letters", outcomes)
				}
				// One outcome each: a copy of an input a handler held or had
				// settled gets none of its own (see copies).
				if len(byID) != 10 {
					t.Fatalf("outcomes for %d ids, want 10: %v", len(byID), byID)
				}
				for id, n := range byID {
					if n != 1 {
						t.Errorf("%s: %d outcomes", id, n)
					}
				}
				t.Logf("outcomes %v; copies held %v, settled %v", outcomes,
					testutil.ToFloat64(r.w.metrics.copies.WithLabelValues("held")), testutil.ToFloat64(r.w.metrics.copies.WithLabelValues("settled")))
				return
			}
			waitExplained(t, "10 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 10 },
				func() string {
					return fmt.Sprint(outputCount(t, js, cfg.OutputStream), " outputs; ", consumerState(js, cfg))
				})
			wantResumed(t, r, js, cfg, 10, missed)
		})
	}
}

// limitOutput makes the output stream take no more than max more
// messages (discard: new), counted in messages or, with bytes, in the
// bytes it holds now (max must then be 0); or it lifts the limits (max <
// 0).
func limitOutput(t *testing.T, js jetstream.JetStream, cfg Config, bytes bool, max int64) {
	t.Helper()
	editStream(t, js, cfg.OutputStream, func(info *jetstream.StreamInfo, sc *jetstream.StreamConfig) {
		sc.Discard, sc.MaxMsgs, sc.MaxBytes = jetstream.DiscardNew, -1, -1
		switch {
		case max >= 0 && bytes:
			sc.MaxBytes = int64(info.State.Bytes)
		case max >= 0:
			sc.MaxMsgs = int64(info.State.Msgs) + max
		}
	})
}

// TestOutputStreamFull fills the output stream (discard: new at a message
// or byte limit) while documents arrive. The stream answers its info but
// takes no records: the worker holds the documents, spends no delivery,
// naks none, retries one record until the stream takes it, and then cleans
// them all. (Before, each record was nak'ed and retried until max_deliver,
// then its dead letter, refused too, was retried without end.)
func TestOutputStreamFull(t *testing.T) {
	for _, limit := range []struct {
		name  string
		bytes bool
		room  int64
	}{{"messages", false, 2}, {"bytes", true, 0}} {
		t.Run(limit.name, func(t *testing.T) {
			s := startServer(t)
			cfg := testConfig()
			cfg.AckWait = time.Second
			r, js := warmWorker(t, s, cfg)

			limitOutput(t, js, cfg, limit.bytes, limit.room)
			publishAtOnce(t, js, cfg, 3, 13)
			waitFor(t, "the worker to turn unready", func() bool { return !r.w.Ready() })
			rec := httptest.NewRecorder()
			r.w.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			if body := rec.Body.String(); rec.Code != http.StatusServiceUnavailable ||
				!regexp.MustCompile(`^not ready: paused for an outage since \S+ \(\d+s ago\): the output stream is full; .*\(.+\)\n$`).MatchString(body) {
				t.Errorf("/readyz while the stream is full: %d %q", rec.Code, body)
			}
			time.Sleep(cfg.worstRedelivery() + time.Second)
			if n := outputCount(t, js, cfg.OutputStream); n != 3+uint64(limit.room) {
				t.Fatalf("%d outputs while the stream is full, want %d", n, 3+limit.room)
			}
			if p := testutil.ToFloat64(r.w.metrics.pausedNow); p != 1 {
				t.Fatalf("winnow_paused %v while the stream is full", p)
			}
			for _, cause := range []string{"publish", "dead_letter_publish"} {
				if n := testutil.ToFloat64(r.w.metrics.naks.WithLabelValues(cause)); n != 0 {
					t.Fatalf("%v naks (%s) while the stream is full, want none", n, cause)
				}
			}
			missed := unseen(t, r, 10, int(limit.room))

			limitOutput(t, js, cfg, false, -1)
			waitFor(t, "13 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 13 })
			wantResumed(t, r, js, cfg, 13, missed)
		})
	}
}

// TestReadyzGivesTheLatestCause: /readyz says what holds the outage now,
// not what began it: the output stream full by its message limit, then by
// its byte limit once the message limit is lifted (it said "maximum
// messages exceeded" to the end).
func TestReadyzGivesTheLatestCause(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	r, js := warmWorker(t, s, cfg)
	readyz := func() string {
		rec := httptest.NewRecorder()
		r.w.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Body.String()
	}
	limitOutput(t, js, cfg, false, 0)
	publishAtOnce(t, js, cfg, 3, 8)
	waitFor(t, "the worker to turn unready", func() bool { return !r.w.Ready() })
	if body := readyz(); !strings.Contains(body, "the output stream is full") || !strings.Contains(body, "maximum messages exceeded") {
		t.Fatalf("/readyz: %q", body)
	}
	limitOutput(t, js, cfg, true, 0) // messages unlimited, bytes at what the stream holds
	waitFor(t, "/readyz to name the byte limit", func() bool {
		body := readyz()
		return strings.Contains(body, "the output stream is full") && strings.Contains(body, "maximum bytes exceeded")
	})
	limitOutput(t, js, cfg, false, -1)
	waitFor(t, "8 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 8 })
	waitFor(t, "the worker to turn ready", r.w.Ready)
}

// TestStorageFull fills the JetStream storage the output stream draws on,
// the server's (max_file_store) or its account's (a store limit), with
// another stream while documents wait: the output stream is under no
// limit of its own, but every write is refused ("insufficient resources",
// "resource limits exceeded for account"). The worker pauses as for a full
// stream and cleans every document once the other stream is purged.
func TestStorageFull(t *testing.T) {
	for _, limit := range []struct {
		name     string
		onServer bool
		code     jetstream.ErrorCode
	}{{"server", true, 10023}, {"account", false, 10002}} {
		t.Run(limit.name, func(t *testing.T) { testStorageFull(t, limit.onServer, limit.code) })
	}
}

// testStorageFull is TestStorageFull with the server's storage limited
// (onServer) or its account's, each refusing writes with code.
func testStorageFull(t *testing.T, onServer bool, code jetstream.ErrorCode) {
	s := natstest.Start(t, func(o *server.Options) {
		o.MaxPayload = 8 << 20
		if onServer {
			o.JetStreamMaxStore = 2 << 20
		}
	})
	if !onServer {
		limits := map[string]server.JetStreamAccountLimits{"": {MaxMemory: -1, MaxStore: 2 << 20, MaxStreams: -1, MaxConsumers: -1}}
		if err := s.GlobalAccount().UpdateJetStreamLimits(limits); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig()
	cfg.AckWait = time.Second
	r, js := warmWorker(t, s, cfg)
	ctx := context.Background()

	if _, err := js.PauseConsumer(ctx, cfg.InputStream, cfg.Durable, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	publishDocs(t, js, 3, 13)
	ballast, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BALLAST", Subjects: []string{"ballast"}})
	if err != nil {
		t.Fatal(err)
	}
	// Smaller and smaller messages, until not even a 16-byte one fits: an
	// account checks the message's size against what is left.
	for size := 64 << 10; size >= 16; size /= 16 {
		for {
			_, err := js.Publish(ctx, "ballast", make([]byte, size))
			if err == nil {
				continue
			}
			var api *jetstream.APIError
			if !errors.As(err, &api) || api.ErrorCode != code {
				t.Fatalf("filling the storage: %v, want err_code %d", err, code)
			}
			break
		}
	}
	if _, err := js.ResumeConsumer(ctx, cfg.InputStream, cfg.Durable); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the worker to turn unready", func() bool { return !r.w.Ready() })
	time.Sleep(cfg.worstRedelivery() + time.Second)
	if n := outputCount(t, js, cfg.OutputStream); n != 3 {
		t.Fatalf("%d outputs while the storage is full, want 3", n)
	}
	if n := testutil.ToFloat64(r.w.metrics.naks.WithLabelValues("publish")); n != 0 {
		t.Fatalf("%v naks while the storage is full, want none", n)
	}
	missed := unseen(t, r, 10, 0)

	if err := ballast.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "13 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 13 })
	wantResumed(t, r, js, cfg, 13, missed)
}

// TestOutputStreamDeletedIsCreatedAgain: an operator deletes the output
// stream under a running worker. With create_streams the worker creates it
// again, as start-up would, and the documents that arrive after it are all
// answered there; none is dead-lettered.
func TestOutputStreamDeletedIsCreatedAgain(t *testing.T) {
	// The publish that finds no stream creates it (recreateOutput) under
	// either policy. Before, under pause the outage probe created it after
	// the document had been nak'ed, and under retry nothing did: every
	// record and dead letter was nak'ed until a restart.
	for _, policy := range []string{OutagePause, OutageRetry} {
		t.Run(policy, func(t *testing.T) {
			s := startServer(t)
			cfg := testConfig()
			cfg.Outage = policy
			r, js := warmWorker(t, s, cfg)
			if err := js.DeleteStream(context.Background(), cfg.OutputStream); err != nil {
				t.Fatal(err)
			}
			publishDocs(t, js, 3, 8)
			waitFor(t, "the five in a new output stream", func() bool { return outputCount(t, js, cfg.OutputStream) == 5 })
			for _, o := range readOutputs(t, js, cfg.OutputStream) {
				if !strings.HasPrefix(o.subject, "docs.clean.") {
					t.Errorf("%s: %s", o.subject, o.data)
				}
			}
			if got := testutil.ToFloat64(r.w.metrics.documents.WithLabelValues("dead_letter")); got != 0 {
				t.Errorf("%v dead letters", got)
			}
			// The publish that found no stream is sent again once the stream
			// is made: no document spends a delivery on it.
			if got := testutil.ToFloat64(r.w.metrics.naks.WithLabelValues("publish")); got != 0 {
				t.Errorf("%v naks after a failed publish", got)
			}
		})
	}
}

// TestOutputStreamSealed: a sealed output stream takes no writes, ever. The
// worker pauses as for a full one (before, each record was retried to
// max_deliver and its dead letter, refused too, nak'ed without end), and
// once an operator deletes the stream (create_streams makes a new one) it
// cleans every document that waited.
func TestOutputStreamSealed(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.AckWait = time.Second
	r, js := warmWorker(t, s, cfg)
	editStream(t, js, cfg.OutputStream, func(_ *jetstream.StreamInfo, sc *jetstream.StreamConfig) { sc.Sealed = true })
	publishAtOnce(t, js, cfg, 3, 13)
	waitFor(t, "the worker to turn unready", func() bool { return !r.w.Ready() })
	time.Sleep(cfg.worstRedelivery() + time.Second)
	if p := testutil.ToFloat64(r.w.metrics.pausedNow); p != 1 {
		t.Fatalf("winnow_paused %v with the stream sealed", p)
	}
	for _, cause := range []string{"publish", "dead_letter_publish"} {
		if n := testutil.ToFloat64(r.w.metrics.naks.WithLabelValues(cause)); n != 0 {
			t.Fatalf("%v naks (%s) with the stream sealed, want none", n, cause)
		}
	}
	missed := unseen(t, r, 10, 0)
	if err := js.DeleteStream(context.Background(), cfg.OutputStream); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "10 outputs in the new stream", func() bool { return outputCount(t, js, cfg.OutputStream) == 10 })
	wantResumed(t, r, js, cfg, 10, missed)
}

// TestOutputNotPermitted: a worker whose user the server does not let
// publish records (its permissions deny docs.clean.>) pauses as for a full
// stream, dead-letters nothing and spends no delivery, and once the
// server's configuration is reloaded with the permission, writes every
// record. Before, each record's publish timed out (the server drops a
// refused publish and says why only aside) and was retried as a transient
// fault until max_deliver, and the documents were dead-lettered.
func TestOutputNotPermitted(t *testing.T) {
	user := func(deny ...string) []*server.User {
		return []*server.User{{Username: "test", Password: "t"}, {Username: "winnow", Password: "w", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{">"}, Deny: deny}}}}
	}
	var opts *server.Options
	s := natstest.Start(t, func(o *server.Options) {
		o.MaxPayload, o.Users, opts = 8<<20, user("docs.clean.>"), o
	})
	cfg := testConfig()
	cfg.PublishTimeout = time.Second
	nc, _ := connect(t, s, nats.UserInfo("winnow", "w"))
	r := startWorkerOn(t, nc, cfg)
	_, js := connect(t, s, nats.UserInfo("test", "t"))
	publishAtOnce(t, js, cfg, 0, 5)
	waitFor(t, "the worker to turn unready", func() bool { return !r.w.Ready() })
	time.Sleep(cfg.worstRedelivery() + time.Second)
	if p := testutil.ToFloat64(r.w.metrics.pausedNow); p != 1 {
		t.Fatalf("winnow_paused %v while records are refused", p)
	}
	if n := outputCount(t, js, cfg.OutputStream); n != 0 {
		t.Fatalf("%d outputs (dead letters) while records are refused, want none", n)
	}
	if n := testutil.ToFloat64(r.w.metrics.naks.WithLabelValues("publish")); n != 0 {
		t.Fatalf("%v publish naks while records are refused, want none", n)
	}
	missed := unseen(t, r, 5, 0)
	allowed := opts.Clone()
	allowed.Users = user()
	if err := s.ReloadOptions(allowed); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "5 records", func() bool { return outputCount(t, js, cfg.OutputStream) == 5 })
	wantResumed(t, r, js, cfg, 5, missed)
}
