package worker

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/winnow-dev/winnow/pipeline"
)

// TestRestartKeepsOperatorLimits: limits an operator gave winnow's streams
// and bucket after winnow created them stay through a restart, while the
// settings winnow's configuration names (duplicate_window, the bucket's
// ttl) follow the configuration. Before, every start sent winnow's whole
// stream configuration and reset the limits.
func TestRestartKeepsOperatorLimits(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	r := startWorker(t, s, cfg)
	nc, js := connect(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mem := pipeline.DefaultConfig().CrossOptions.Memory
	if _, err := NewSharedMemory(ctx, nc, cfg.Shared, mem, nil, nil); err != nil {
		t.Fatal(err)
	}
	limit := func(_ *jetstream.StreamInfo, sc *jetstream.StreamConfig) {
		sc.MaxAge, sc.MaxBytes, sc.Discard = 48*time.Hour, 1<<30, jetstream.DiscardNew
	}
	editStream(t, js, cfg.OutputStream, limit)
	editStream(t, js, cfg.InputStream, limit)
	editStream(t, js, "KV_"+cfg.Shared.Bucket, func(_ *jetstream.StreamInfo, sc *jetstream.StreamConfig) { sc.MaxBytes = 1 << 20 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	cfg.DuplicateWindow += time.Minute
	cfg.Shared.TTL = 12 * time.Hour
	startWorker(t, s, cfg)
	if _, err := NewSharedMemory(ctx, nc, cfg.Shared, mem, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{cfg.OutputStream, cfg.InputStream} {
		_, info := streamInfo(ctx, t, js, name)
		if c := info.Config; c.MaxAge != 48*time.Hour || c.MaxBytes != 1<<30 || c.Discard != jetstream.DiscardNew || c.Duplicates != cfg.DuplicateWindow {
			t.Errorf("%s after a restart: max_age %v, max_bytes %d, discard %v, duplicates %v", name, c.MaxAge, c.MaxBytes, c.Discard, c.Duplicates)
		}
	}
	_, info := streamInfo(ctx, t, js, "KV_"+cfg.Shared.Bucket)
	if c := info.Config; c.MaxBytes != 1<<20 || c.MaxAge != 12*time.Hour {
		t.Errorf("bucket after a restart: max_bytes %d, max_age (ttl) %v", c.MaxBytes, c.MaxAge)
	}
}

// madeFirst starts a server with streams an operator made before winnow
// first started, and connects to it.
func madeFirst(t *testing.T, streams ...jetstream.StreamConfig) (*server.Server, jetstream.JetStream, context.Context) {
	t.Helper()
	s := startServer(t)
	_, js := connect(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	for _, sc := range streams {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	return s, js, ctx
}

// TestMaxAgeBelowDuplicateWindow: an operator's max_age on the output stream
// shorter than worker.duplicate_window fails start-up naming both settings
// (before: the server's "duplicates window can not be larger then max age").
func TestMaxAgeBelowDuplicateWindow(t *testing.T) {
	cfg := testConfig()
	_, js, ctx := madeFirst(t, jetstream.StreamConfig{Name: cfg.OutputStream, Subjects: cfg.outputSubjects(),
		MaxAge: 30 * time.Second, Duplicates: 30 * time.Second})
	_, err := cfg.ensure(ctx, js)
	if err == nil || !strings.Contains(err.Error(), "output stream WINNOW_OUT: its max_age (30s) is shorter than worker.duplicate_window (1m0s)") {
		t.Fatalf("ensure: %v", err)
	}
	_, info := streamInfo(ctx, t, js, cfg.OutputStream)
	if info.Config.MaxAge != 30*time.Second {
		t.Fatalf("max_age now %v", info.Config.MaxAge)
	}
}

// TestStartKeepsOperatorSubjects: an input or output stream an operator made
// to take other subjects as well still takes them after start-up, and one
// whose subject winnow's covers takes winnow's instead (a stream's subjects
// may not overlap). Before, start-up set winnow's subjects alone.
func TestStartKeepsOperatorSubjects(t *testing.T) {
	cfg := testConfig()
	s, js, ctx := madeFirst(t,
		jetstream.StreamConfig{Name: cfg.InputStream, Subjects: []string{"docs.raw.news.>", "crawl.meta.>"}, Retention: jetstream.WorkQueuePolicy},
		jetstream.StreamConfig{Name: cfg.OutputStream, Subjects: []string{"docs.clean.>", "audit.>"}})
	startWorker(t, s, cfg)
	for name, want := range map[string][]string{
		cfg.InputStream:  {"crawl.meta.>", "docs.raw.>"},
		cfg.OutputStream: {"audit.>", "docs.clean.>", "docs.dup.>", "docs.rejected.>", "docs.dlq.>"},
	} {
		if _, info := streamInfo(ctx, t, js, name); !sameSubjects(info.Config.Subjects, want) {
			t.Errorf("%s takes %v, want %v", name, info.Config.Subjects, want)
		}
	}
	if _, err := js.Publish(ctx, "crawl.meta.job-1", []byte("{}")); err != nil {
		t.Fatalf("the operator's subject no longer reaches the stream: %v", err)
	}
}

func TestSubjectCovers(t *testing.T) {
	for _, c := range []struct {
		wide, narrow string
		want         bool
	}{
		{"docs.>", "docs.raw.>", true},
		{"docs.raw.>", "docs.>", false},
		{"docs.raw.>", "docs.raw.>", true},
		{"docs.raw.>", "docs.raw", false},
		{"a.*", "a.b", true},
		{"a.*", "a.*", true},
		{"a.b", "a.*", false},
		{"a.*", "a.>", false},
		{"a.*", "a.b.c", false},
		{"*.raw.>", "docs.raw.x.y", true},
		{"docs.clean.>", "docs.dup.>", false},
		{">", "anything.at.all", true},
	} {
		if got := subjectCovers(c.wide, c.narrow); got != c.want {
			t.Errorf("subjectCovers(%q, %q) = %v", c.wide, c.narrow, got)
		}
	}
	got := withSubjects([]string{"docs.>", "x.a", "x.b"}, []string{"docs.raw.>", "x.*"})
	if want := []string{"docs.>", "x.*"}; !slices.Equal(got, want) {
		t.Errorf("withSubjects: %v, want %v", got, want)
	}
}

// TestConsumerDeletedIsMadeAgain: the consumer, or the input stream with it,
// deleted under a running worker is made again as start-up makes it, and
// the documents that follow are cleaned by the same worker (before, Run
// returned "next message: nats: consumer deleted" and `winnow run` exited,
// losing the in-process dedupe memory), also while the server cannot yet
// make the stream's store. Without create_streams it still returns that
// error.
func TestConsumerDeletedIsMadeAgain(t *testing.T) {
	for _, what := range []string{"consumer", "input stream", "input stream, store slow to go"} {
		t.Run(what, func(t *testing.T) {
			s := startServer(t)
			cfg := testConfig()
			r := startWorker(t, s, cfg)
			_, js := connect(t, s)
			publishDocs(t, js, 0, 3)
			waitFor(t, "3 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 3 })
			ctx := context.Background()
			var err error
			if what == "consumer" {
				err = js.DeleteConsumer(ctx, cfg.InputStream, cfg.Durable)
			} else {
				err = js.DeleteStream(ctx, cfg.InputStream)
			}
			if err != nil {
				t.Fatal(err)
			}
			if what == "input stream, store slow to go" {
				// A file where the stream's directory goes makes the server
				// answer "error creating store for stream", as it does while
				// a deleted stream's files are still being moved away; the
				// worker tries again until the way is clear.
				dir := filepath.Join(s.JetStreamConfig().StoreDir, "$G", "streams", cfg.InputStream)
				if err := os.WriteFile(dir, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				time.Sleep(deletionSettle + 1500*time.Millisecond) // past the first attempt and one retry
				if err := os.Remove(dir); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "the consumer made again", func() bool {
				select {
				case <-r.done:
					t.Fatalf("Run returned: %v", r.err)
				default:
				}
				_, err := js.Consumer(ctx, cfg.InputStream, cfg.Durable)
				return err == nil && r.w.Ready()
			})
			publishDocs(t, js, 3, 8)
			waitFor(t, "8 outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 8 })
			if byID, outcomes := outcomesByID(t, js, cfg); len(byID) != 8 || outcomes["clean"] != 8 {
				t.Fatalf("%d ids, outcomes %v; want 8 clean", len(byID), outcomes)
			}
			if n := testutil.ToFloat64(r.w.metrics.consumerMade); n != 1 {
				t.Fatalf("winnow_consumer_recreated_total %v, want 1", n)
			}
			select {
			case <-r.done:
				t.Fatalf("Run returned: %v", r.err)
			default:
			}
		})
	}
	t.Run("without create_streams", func(t *testing.T) {
		s := startServer(t)
		cfg := testConfig()
		if err := startWorker(t, s, cfg).stop(t); err != nil { // it makes the streams and consumer
			t.Fatal(err)
		}
		cfg.CreateStreams = false
		r := startWorker(t, s, cfg)
		_, js := connect(t, s)
		if err := js.DeleteConsumer(context.Background(), cfg.InputStream, cfg.Durable); err != nil {
			t.Fatal(err)
		}
		select {
		case <-r.done:
			if r.err == nil || !strings.Contains(r.err.Error(), "consumer deleted") {
				t.Fatalf("Run returned %v, want the deletion", r.err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run still running 20 s after its consumer was deleted")
		}
	})
}

// TestConsumerDeletedWhilePaused: a consumer deleted while intake is paused
// (the output stream full) has no pull request waiting to be told so; the
// worker's next pull after the outage meets no responder, which nats.go's
// iterator does not report. The worker finds it missing once its iterator
// has been quiet for consumerCheck, makes it again, and cleans what was
// published meanwhile. Before, it stayed ready and consumed nothing, for
// ever.
func TestConsumerDeletedWhilePaused(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.AckWait = time.Second
	r, js := warmWorker(t, s, cfg)
	limitOutput(t, js, cfg, false, 2)
	publishAtOnce(t, js, cfg, 3, 13)
	waitFor(t, "the worker to pause", func() bool { return testutil.ToFloat64(r.w.metrics.pausedNow) == 1 })
	if err := js.DeleteConsumer(context.Background(), cfg.InputStream, cfg.Durable); err != nil {
		t.Fatal(err)
	}
	limitOutput(t, js, cfg, false, -1)
	waitFor(t, "the held documents cleaned", func() bool { return outputCount(t, js, cfg.OutputStream) == 13 })
	publishDocs(t, js, 13, 18)
	waitFor(t, "18 outputs", func() bool {
		select {
		case <-r.done:
			t.Fatalf("Run returned: %v", r.err)
		default:
		}
		return outputCount(t, js, cfg.OutputStream) == 18
	})
	if byID, outcomes := outcomesByID(t, js, cfg); len(byID) != 18 || outcomes["clean"] != 18 {
		t.Fatalf("%d ids, outcomes %v; want 18 clean", len(byID), outcomes)
	}
	if n := testutil.ToFloat64(r.w.metrics.consumerMade); n != 1 {
		t.Fatalf("winnow_consumer_recreated_total %v, want 1", n)
	}
}

// TestInputSubjectsTakenByAnotherConsumer: a work-queue stream gives each
// subject to one consumer, so winnow's consumer is refused while another
// takes its subjects: the durable it had before worker.durable was
// renamed, or an operator's unfiltered consumer. Start-up fails naming it
// and the ways out (before, only the server's "filtered consumer not
// unique on workqueue stream").
func TestInputSubjectsTakenByAnotherConsumer(t *testing.T) {
	for _, c := range []struct {
		name, want string
		before     func(t *testing.T, s *server.Server, js jetstream.JetStream, cfg Config)
	}{
		{"durable renamed", "consumer winnow takes docs.raw.>: set worker.durable to winnow, or remove it once its documents are done: nats consumer rm WINNOW_RAW winnow",
			func(t *testing.T, s *server.Server, _ jetstream.JetStream, cfg Config) {
				if err := startWorker(t, s, cfg).stop(t); err != nil {
					t.Fatal(err)
				}
			}},
		{"unfiltered consumer", "consumer audit takes >: set worker.durable to audit",
			func(t *testing.T, s *server.Server, js jetstream.JetStream, cfg Config) {
				if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: cfg.InputStream,
					Subjects: []string{cfg.Subjects.Input}, Retention: jetstream.WorkQueuePolicy}); err != nil {
					t.Fatal(err)
				}
				if _, err := js.CreateConsumer(context.Background(), cfg.InputStream,
					jetstream.ConsumerConfig{Durable: "audit", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServer(t)
			_, js := connect(t, s)
			cfg := testConfig()
			c.before(t, s, js, cfg)
			cfg.Durable = "winnow2"
			nc, _ := connect(t, s)
			w, err := New(nc, cfg, func() (*pipeline.Pipeline, error) { return pipeline.New(pipeline.DefaultConfig()) }, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := w.Run(ctx); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Run: %v\nwant it to say %q", err, c.want)
			}
		})
	}
}

func TestSubjectsOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"docs.raw.>", "docs.raw.>", true},
		{">", "docs.raw.>", true},
		{"docs.*.news", "docs.raw.>", true},
		{"docs.raw", "docs.raw.>", false},
		{"docs.raw.a", "docs.raw.b", false},
		{"docs.*", "docs.raw.x", false},
		{"crawl.meta.>", "docs.raw.>", false},
		{"docs.raw.*", "docs.*.x", true},
	} {
		if got := subjectsOverlap(c.a, c.b); got != c.want {
			t.Errorf("subjectsOverlap(%q, %q) = %v", c.a, c.b, got)
		}
		if got := subjectsOverlap(c.b, c.a); got != c.want {
			t.Errorf("subjectsOverlap(%q, %q) = %v", c.b, c.a, got)
		}
	}
}

// TestSubjectCoversExhaustive checks subjectCovers and subjectsOverlap
// against their definitions over every subject of up to four tokens from
// {a, b, *, >} (> last): wide covers narrow when every literal subject of
// up to five tokens from {a, b, c} that narrow matches, wide matches too;
// they overlap when some literal subject matches both.
func TestSubjectCoversExhaustive(t *testing.T) {
	var subjects, literals []string
	var grow func(prefix []string, tokens []string, max int, into *[]string)
	grow = func(prefix []string, tokens []string, max int, into *[]string) {
		if len(prefix) > 0 {
			*into = append(*into, strings.Join(prefix, "."))
			if prefix[len(prefix)-1] == ">" || len(prefix) == max {
				return
			}
		}
		for _, tok := range tokens {
			grow(append(slices.Clone(prefix), tok), tokens, max, into)
		}
	}
	grow(nil, []string{"a", "b", "*", ">"}, 4, &subjects)
	grow(nil, []string{"a", "b", "c"}, 5, &literals)
	matches := func(filter, subject string) bool {
		f, s := strings.Split(filter, "."), strings.Split(subject, ".")
		for i, tok := range f {
			if tok == ">" {
				return len(s) > i
			}
			if i >= len(s) || (tok != "*" && tok != s[i]) {
				return false
			}
		}
		return len(f) == len(s)
	}
	for _, wide := range subjects {
		for _, narrow := range subjects {
			want := true
			for _, lit := range literals {
				if matches(narrow, lit) && !matches(wide, lit) {
					want = false
					break
				}
			}
			if got := subjectCovers(wide, narrow); got != want {
				t.Errorf("subjectCovers(%q, %q) = %v, want %v", wide, narrow, got, want)
			}
			overlap := false
			for _, lit := range literals {
				if matches(narrow, lit) && matches(wide, lit) {
					overlap = true
					break
				}
			}
			if got := subjectsOverlap(wide, narrow); got != overlap {
				t.Errorf("subjectsOverlap(%q, %q) = %v, want %v", wide, narrow, got, overlap)
			}
		}
	}
	t.Logf("%d subject pairs over %d literal subjects", len(subjects)*len(subjects), len(literals))
}

// TestStreamSubjectsTakenElsewhere: a stream of another's that already
// takes winnow's subjects fails start-up naming it (the server says only
// "subjects overlap with an existing stream").
func TestStreamSubjectsTakenElsewhere(t *testing.T) {
	cfg := testConfig()
	_, js, ctx := madeFirst(t, jetstream.StreamConfig{Name: "EVERYTHING", Subjects: []string{"docs.clean.>", "docs.raw.>"}})
	_, err := cfg.ensure(ctx, js)
	if err == nil || !strings.Contains(err.Error(), "input stream WINNOW_RAW: ") ||
		!strings.Contains(err.Error(), "(stream EVERYTHING takes docs.raw.>: change its subjects or winnow's worker.subjects)") {
		t.Fatalf("ensure: %v", err)
	}
	editStream(t, js, "EVERYTHING", func(_ *jetstream.StreamInfo, sc *jetstream.StreamConfig) { sc.Subjects = []string{"docs.clean.>"} })
	_, err = cfg.ensure(ctx, js)
	if err == nil || !strings.Contains(err.Error(), "output stream WINNOW_OUT: ") || !strings.Contains(err.Error(), "stream EVERYTHING takes docs.clean.>") {
		t.Fatalf("ensure: %v", err)
	}
}

// TestStreamCompression: with compression s2 the streams winnow creates
// are compressed, and documents go through them as ever; a restart with
// compression none leaves the existing streams as they are, as with any
// setting an operator may have changed since.
func TestStreamCompression(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.Compression = "s2"
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": "z1", "text": seedLike})
	waitFor(t, "the record", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	if rec := decodeRecord(t, readOutputs(t, js, cfg.OutputStream)[0].data); rec.ID != "z1" || len(rec.Removed) == 0 {
		t.Fatalf("record through s2 streams: %+v", rec)
	}
	check := func(when string) {
		t.Helper()
		for _, name := range []string{cfg.InputStream, cfg.OutputStream} {
			if _, info := streamInfo(ctx, t, js, name); info.Config.Compression != jetstream.S2Compression {
				t.Errorf("%s, %s: compression %v, want s2", when, name, info.Config.Compression)
			}
		}
	}
	check("created")
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	cfg.Compression = "none"
	startWorker(t, s, cfg)
	check("after a restart with compression none")

	bad := DefaultConfig()
	bad.Compression = "gzip"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `worker.compression: "gzip": want none or s2`) {
		t.Errorf("compression gzip: %v", err)
	}
}
