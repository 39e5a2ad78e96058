package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/winnow-dev/winnow/internal/natstest"
	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/schemas"
)

// startServer runs a real nats-server with JetStream in-process (see
// natstest.Start), with the payload limit the worker's records need.
func startServer(t *testing.T) *server.Server {
	return natstest.Start(t, func(o *server.Options) { o.MaxPayload = 8 << 20 })
}

func connect(t *testing.T, s *server.Server, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return connectURL(t, s.ClientURL(), opts...)
}

// connectURL is connect to the servers a URL list names (a cluster's).
func connectURL(t testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, append(opts, nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		subj := ""
		if sub != nil {
			subj = sub.Subject
		}
		t.Logf("nats async error on %q: %v", subj, err)
	}))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// testConfig is DefaultConfig with short timers for tests.
func testConfig() Config {
	c := DefaultConfig()
	c.Handlers = 2
	c.AckWait = 2 * time.Second
	c.Backoff = []time.Duration{50 * time.Millisecond}
	c.MaxDeliver = 3
	c.DuplicateWindow = time.Minute
	c.DrainTimeout = 5 * time.Second
	return c
}

type running struct {
	w      *Worker
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returns
	err    error         // what Run returned, once done is closed
}

// stop cancels the worker and returns what Run returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		return r.err
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop")
		return nil
	}
}

// startWorker runs a worker on its own connection until the test ends.
func startWorker(t *testing.T, s *server.Server, cfg Config, stages ...pipeline.Stage) *running {
	t.Helper()
	nc, _ := connect(t, s)
	return startWorkerOn(t, nc, cfg, stages...)
}

// startWorkerOn runs a worker on nc until the test ends.
func startWorkerOn(t *testing.T, nc *nats.Conn, cfg Config, stages ...pipeline.Stage) *running {
	t.Helper()
	return startWorkerLogged(t, nc, cfg, zaptest.NewLogger(t), stages...)
}

// startWorkerLogged is startWorkerOn logging to log (an observer's, for a
// test that reads what the worker said).
func startWorkerLogged(t *testing.T, nc *nats.Conn, cfg Config, log *zap.Logger, stages ...pipeline.Stage) *running {
	t.Helper()
	reg := prometheus.NewRegistry()
	w, err := New(nc, cfg, func() (*pipeline.Pipeline, error) {
		return pipeline.New(pipeline.DefaultConfig(), stages...)
	}, log, NewMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, reg: reg, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = w.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	waitFor(t, "worker ready", w.Ready)
	return r
}

// waitFor polls cond until it holds, failing the test after 20s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitExplained(t, what, cond, nil)
}

// waitExplained is waitFor that, on timeout, adds what explain says.
func waitExplained(t *testing.T, what string, cond func() bool, explain func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			more := ""
			if explain != nil {
				more = "; " + explain()
			}
			t.Fatalf("timed out waiting for %s%s", what, more)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// consumerState describes the worker's consumer as the server sees it, to
// tell a server that stopped delivering from a worker that stopped
// handling.
func consumerState(js jetstream.JetStream, cfg Config) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, cfg.InputStream, cfg.Durable)
	if err != nil {
		return "consumer: " + err.Error()
	}
	info, err := c.Info(ctx)
	if err != nil {
		return "consumer info: " + err.Error()
	}
	return fmt.Sprintf("consumer %s: %d pending, %d waiting pull requests, %d ack pending, %d redelivered, delivered up to stream seq %d, acked floor %d",
		cfg.Durable, info.NumPending, info.NumWaiting, info.NumAckPending, info.NumRedelivered, info.Delivered.Stream, info.AckFloor.Stream)
}

// output is one message read back from the output stream.
type output struct {
	subject string
	header  nats.Header
	data    []byte
}

// streamInfo looks a stream up and asks its info, failing the test when
// either fails.
func streamInfo(ctx context.Context, t *testing.T, js jetstream.JetStream, name string) (jetstream.Stream, *jetstream.StreamInfo) {
	t.Helper()
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st, info
}

// readOutputs reads every message on the output stream.
func readOutputs(t *testing.T, js jetstream.JetStream, stream string) []output {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, info := streamInfo(ctx, t, js, stream)
	n := info.State.Msgs
	if n == 0 {
		return nil
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []output
	for uint64(len(out)) < n {
		batch, err := c.Fetch(int(n)-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			out = append(out, output{subject: m.Subject(), header: m.Headers(), data: m.Data()})
		}
		if batch.Error() != nil {
			t.Fatal(batch.Error())
		}
	}
	return out
}

// outputCount returns how many messages the output stream holds.
func outputCount(t *testing.T, js jetstream.JetStream, stream string) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), stream)
	if err != nil {
		return 0
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func publishDoc(t *testing.T, js jetstream.JetStream, subject string, doc any) {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	publishRaw(t, js, &nats.Msg{Subject: subject, Data: b})
}

func publishRaw(t *testing.T, js jetstream.JetStream, m *nats.Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatalf("publish %s: %v", m.Subject, err)
	}
}

func decodeDeadLetter(t *testing.T, b []byte) schemas.DeadLetter {
	t.Helper()
	var dl schemas.DeadLetter
	if err := json.Unmarshal(b, &dl); err != nil {
		t.Fatalf("dead letter: %v: %s", err, b)
	}
	return dl
}

// decodeDeadLetterData returns the original bytes a dead letter keeps.
func decodeDeadLetterData(t *testing.T, b []byte) []byte {
	t.Helper()
	data, err := decodeDeadLetter(t, b).Bytes()
	if err != nil {
		t.Fatalf("dead letter data: %v: %s", err, b)
	}
	return data
}

func decodeRecord(t *testing.T, b []byte) schemas.Record {
	t.Helper()
	var r schemas.Record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("record: %v: %s", err, b)
	}
	return r
}
