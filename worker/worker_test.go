package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/schemas"
)

const seedLike = "China illustration\nChina illustration\n\nThe body of the story stays.\nChina continues to harass exiles\nChina continues to harass exiles"

func TestCleanRecordPublished(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	publishDoc(t, js, "docs.raw.demo", map[string]any{"id": "seed", "text": seedLike, "url": "https://example.test/a"})
	waitFor(t, "one output", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	out := readOutputs(t, js, cfg.OutputStream)[0]
	if out.subject != "docs.clean.demo" {
		t.Fatalf("subject %s, want docs.clean.demo", out.subject)
	}
	rec := decodeRecord(t, out.data)
	if rec.Text != "China illustration\n\nThe body of the story stays.\nChina continues to harass exiles" {
		t.Errorf("text %q", rec.Text)
	}
	if len(rec.Removed) != 2 || rec.Removed[0].Reason != "exact_repeat" || rec.URL != "https://example.test/a" {
		t.Errorf("record %+v", rec)
	}
	if got := out.header.Get(nats.MsgIdHdr); got != "seed" {
		t.Errorf("Nats-Msg-Id %q, want the document id", got)
	}
	if got := testutil.ToFloat64(r.w.metrics.documents.WithLabelValues("clean")); got != 1 {
		t.Errorf("winnow_documents_total{outcome=clean} = %v", got)
	}
	if got := testutil.ToFloat64(r.w.metrics.removed.WithLabelValues("exact_repeat")); got != 2 {
		t.Errorf("winnow_blocks_removed_total{reason=exact_repeat} = %v", got)
	}
}

// TestDuplicateRouted: a document that copies an earlier one goes to the
// dup subject with what it copies, how similar and by which rule, and the
// metrics count it.
func TestDuplicateRouted(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.Handlers = 1 // one pipeline, so one memory (winnow run shares one among all)
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	story := "The council met on Tuesday to discuss the budget for the city's parks.\nIt voted to keep the pools open all summer, at a cost of two million."
	publishDoc(t, js, "docs.raw.demo", map[string]any{"id": "first", "text": story})
	waitFor(t, "one output", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	publishDoc(t, js, "docs.raw.demo", map[string]any{"id": "again", "text": story})
	waitFor(t, "two outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
	out := readOutputs(t, js, cfg.OutputStream)[1]
	rec := decodeRecord(t, out.data)
	if out.subject != "docs.dup.demo" || rec.ID != "again" || rec.DuplicateOf != "first" ||
		rec.DuplicateSimilarity != 1 || rec.DuplicateRule != "exact" {
		t.Fatalf("%s: %+v", out.subject, rec)
	}
	if got := testutil.ToFloat64(r.w.metrics.duplicates.WithLabelValues("exact")); got != 1 {
		t.Errorf("winnow_duplicates_total{rule=exact} = %v", got)
	}
	if got := testutil.ToFloat64(r.w.metrics.documents.WithLabelValues("duplicate")); got != 1 {
		t.Errorf("winnow_documents_total{outcome=duplicate} = %v", got)
	}
}

func TestPlainTextDocuments(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	h := nats.Header{}
	h.Set(HeaderID, "plain-1")
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.txt", Data: []byte("a <b>line</b> & more\na <b>line</b> & more\n"), Header: h})
	waitFor(t, "one output", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	out := readOutputs(t, js, cfg.OutputStream)[0]
	rec := decodeRecord(t, out.data)
	if out.subject != "docs.clean.txt" || rec.ID != "plain-1" || rec.Text != "a <b>line</b> & more" {
		t.Fatalf("subject %s record %+v", out.subject, rec)
	}
	// Written as `winnow clean` writes records: no HTML escapes.
	if !bytes.Contains(out.data, []byte(`"text":"a <b>line</b> & more"`)) {
		t.Fatalf("record text escaped: %s", out.data)
	}
}

// TestJSONWithByteOrderMark: a JSON document after a UTF-8 byte order mark
// is a JSON document (RFC 8259 lets a parser ignore the mark). Before, the
// worker took it for a plain-text body: with a Nats-Msg-Id header, as a
// crawler sets one, the record's text was the JSON source itself.
func TestJSONWithByteOrderMark(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	h := nats.Header{}
	h.Set(nats.MsgIdHdr, "bom-1")
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: []byte("\ufeff{\"id\":\"bom-1\",\"text\":\"The harbour at dawn.\"}"), Header: h})
	waitFor(t, "one output", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	out := readOutputs(t, js, cfg.OutputStream)[0]
	if rec := decodeRecord(t, out.data); out.subject != "docs.clean.a" || rec.ID != "bom-1" || rec.Text != "The harbour at dawn." {
		t.Fatalf("subject %s record %s", out.subject, out.data)
	}
}

// TestWildcardInputSubject: an input published to docs.raw.* or
// docs.raw.> (a server that is not pedantic stores it) gets its outcome on
// a literal subject, docs.clean._, not on docs.clean.* or docs.clean.>;
// Winnow-Subject keeps the subject it came on.
func TestWildcardInputSubject(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	for subject, id := range map[string]string{"docs.raw.*": "star", "docs.raw.>": "gt", "docs.raw.site.*": "site-star"} {
		publishRaw(t, js, &nats.Msg{Subject: subject, Data: []byte(`{"id":"` + id + `","text":"The harbour at dawn."}`)})
	}
	waitFor(t, "three outputs", func() bool { return outputCount(t, js, cfg.OutputStream) == 3 })
	want := map[string]string{"star": "docs.clean._", "gt": "docs.clean._", "site-star": "docs.clean.site._"}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		rec := decodeRecord(t, o.data)
		if o.subject != want[rec.ID] || !strings.Contains(o.header.Get(HeaderSubject), "docs.raw.") {
			t.Errorf("%s: on %s (from %s), want %s", rec.ID, o.subject, o.header.Get(HeaderSubject), want[rec.ID])
		}
	}
}

// TestLongInputSubject: an input on a subject that only just fitted the
// server's control line (4 KiB) gets its outcome, and the worker goes on:
// published on docs.clean. with the whole subject, the longer line was
// refused and nats.go closed the worker's connection for good. The part of
// an outcome's subject taken from its input's is bounded, whole tokens and
// a hash; Winnow-Subject keeps the input's.
func TestLongInputSubject(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	oneToken := "docs.raw." + strings.Repeat("a", 4040)
	tokens := "docs.raw.site." + strings.Repeat("b.", 1000) + "c"
	publishRaw(t, js, &nats.Msg{Subject: oneToken, Data: []byte(`{"id":"one","text":"The harbour at dawn."}`)})
	publishRaw(t, js, &nats.Msg{Subject: tokens, Data: []byte(`{"id":"many","text":"The harbour at dusk."}`)})
	publishRaw(t, js, &nats.Msg{Subject: oneToken, Data: []byte(`not json`)})
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.after", Data: []byte(`{"id":"after","text":"The harbour at night."}`)})
	waitFor(t, "four outcomes", func() bool { return outputCount(t, js, cfg.OutputStream) == 4 })
	got := map[string]output{}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		got[o.subject] = o
	}
	oneSuffix := fmt.Sprintf("%016x", xxhash.Sum64String(strings.Repeat("a", 4040)))
	for subject, from := range map[string]string{
		"docs.clean." + oneSuffix: oneToken,
		"docs.dlq." + oneSuffix:   oneToken,
		"docs.clean.after":        "docs.raw.after",
	} {
		if o, ok := got[subject]; !ok || o.header.Get(HeaderSubject) != from {
			t.Errorf("no outcome on %.40s... from %.40s...", subject, from)
		}
	}
	var many string
	for subject := range got {
		if strings.HasPrefix(subject, "docs.clean.site.b.") {
			many = subject
		}
	}
	if suffix := strings.TrimPrefix(many, "docs.clean."); len(suffix) > maxSuffixBytes || !strings.HasPrefix(suffix, "site.b.b.") ||
		!LiteralSubject(many) || got[many].header.Get(HeaderSubject) != tokens {
		t.Errorf("the many-token input's outcome on %q", many)
	}
}

func TestBadInputsAreDeadLettered(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.MaxDocBytes = 4096
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	cases := []struct {
		name   string
		data   []byte
		reason schemas.Reason
		header nats.Header
	}{
		{"invalid-json", []byte(`{"id":"x","text":`), schemas.ReasonInvalidJSON, nil},
		{"invalid-utf8", []byte("{\"id\":\"x\",\"text\":\"\xff\"}"), schemas.ReasonInvalidUTF8, nil},
		{"plain-invalid-utf8", []byte("text \xff\xfe"), schemas.ReasonInvalidUTF8, nil},
		{"empty", []byte("   "), schemas.ReasonEmpty, nil},
		{"missing-id", []byte(`{"text":"x"}`), schemas.ReasonMissingID, nil},
		{"wrong-type", []byte(`{"id":"x","text":42}`), schemas.ReasonWrongType, nil},
		{"depth-bomb", []byte(`{"id":"x","text":"t","metadata":{"a":` + deep + `}}`), schemas.ReasonTooDeep, nil},
		{"too-large", bytes.Repeat([]byte("a"), 5000), schemas.ReasonTooLarge, nil},
		{"plain-no-id", []byte("just text"), schemas.ReasonNoID, nil},
		{"plain-long-id", []byte("just text"), schemas.ReasonInvalidField, nats.Header{HeaderID: {strings.Repeat("i", schemas.MaxIDChars+1)}}},
		{"plain-invalid-utf8-id", []byte("just text"), schemas.ReasonInvalidField, nats.Header{HeaderID: {"id-\xff"}}},
	}
	for _, c := range cases {
		publishRaw(t, js, &nats.Msg{Subject: "docs.raw." + c.name, Data: c.data, Header: c.header})
	}
	waitFor(t, "every dead letter", func() bool { return outputCount(t, js, cfg.OutputStream) == uint64(len(cases)) })
	got := map[string]output{}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		got[o.subject] = o
	}
	for _, c := range cases {
		o, ok := got["docs.dlq."+c.name]
		if !ok {
			t.Errorf("%s: no dead letter on docs.dlq.%s", c.name, c.name)
			continue
		}
		if o.header.Get(HeaderReason) != string(c.reason) || o.header.Get(HeaderError) == "" {
			t.Errorf("%s: headers %v, want reason %s", c.name, o.header, c.reason)
		}
		var dl schemas.DeadLetter
		if err := json.Unmarshal(o.data, &dl); err != nil {
			t.Fatal(err)
		}
		orig, err := dl.Bytes()
		if err != nil || !bytes.HasPrefix(c.data, orig) || dl.Size != len(c.data) || dl.Reason != c.reason {
			t.Errorf("%s: dead letter %+v does not carry the original bytes", c.name, dl)
		}
	}
	if got := testutil.ToFloat64(r.w.metrics.documents.WithLabelValues("dead_letter")); got != float64(len(cases)) {
		t.Errorf("dead_letter outcomes %v, want %d", got, len(cases))
	}
}

// panicOnce is a real pipeline stage that panics the first time it sees a
// given document id, and always for "poison".
type panicOnce struct{ seen atomic.Int32 }

func (p *panicOnce) Process(d *pipeline.Doc) {
	if d.In.ID == "poison" || (d.In.ID == "flaky" && p.seen.Add(1) == 1) {
		panic("stage fault on " + d.In.ID)
	}
}

func TestRedeliveryAfterHandlerFault(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	stage := &panicOnce{}
	r := startWorker(t, s, cfg, stage)
	_, js := connect(t, s)
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": "flaky", "text": "hello"})
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": "poison", "text": "hello"})
	waitFor(t, "two outcomes", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
	subjects := map[string]string{}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		subjects[o.subject] = o.header.Get(HeaderReason)
	}
	if _, ok := subjects["docs.clean.a"]; !ok {
		t.Errorf("flaky document not cleaned after redelivery: %v", subjects)
	}
	if subjects["docs.dlq.a"] != string(schemas.ReasonProcessingFailed) {
		t.Errorf("poison document not dead-lettered after max_deliver: %v", subjects)
	}
	if got := testutil.ToFloat64(r.w.metrics.redeliveries); got < 3 { // flaky once, poison twice
		t.Errorf("redeliveries %v, want >= 3", got)
	}
}

func TestPublishFaultIsRetried(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	// Take docs.clean.> away from the output stream: publishing fails.
	editStream(t, js, cfg.OutputStream, func(_ *jetstream.StreamInfo, sc *jetstream.StreamConfig) {
		sc.Subjects = []string{cfg.Subjects.DLQ + ".>"}
	})
	publishDoc(t, js, "docs.raw.b", map[string]string{"id": "late", "text": "hello"})
	time.Sleep(200 * time.Millisecond) // let the first attempt fail
	editStream(t, js, cfg.OutputStream, func(_ *jetstream.StreamInfo, sc *jetstream.StreamConfig) {
		sc.Subjects = cfg.outputSubjects()
	})
	waitFor(t, "the record", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	if o := readOutputs(t, js, cfg.OutputStream)[0]; o.subject != "docs.clean.b" {
		t.Fatalf("got %s, want docs.clean.b", o.subject)
	}
}

// TestDrainAndRestart stops a worker mid-stream and starts another: every
// document ends as exactly one record, none twice.
func TestDrainAndRestart(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.PullBatch = 16
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	const n = 400
	for i := 0; i < n; i++ {
		publishDoc(t, js, "docs.raw.d", map[string]string{"id": fmt.Sprint("doc-", i), "text": strings.Repeat(fmt.Sprint("line ", i, "\n"), 3)})
	}
	waitFor(t, "some progress", func() bool { return outputCount(t, js, cfg.OutputStream) > 20 })
	if err := r.stop(t); err != nil {
		t.Fatalf("Run after drain: %v", err)
	}
	if r.w.Ready() {
		t.Fatal("worker still ready after shutdown")
	}
	mid := outputCount(t, js, cfg.OutputStream)
	startWorker(t, s, cfg)
	waitFor(t, "all outputs", func() bool { return outputCount(t, js, cfg.OutputStream) >= n })
	time.Sleep(300 * time.Millisecond) // anything extra would show up now
	seen := map[string]int{}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		seen[decodeRecord(t, o.data).ID]++
	}
	for i := 0; i < n; i++ {
		if c := seen[fmt.Sprint("doc-", i)]; c != 1 {
			t.Errorf("doc-%d has %d records", i, c)
		}
	}
	t.Logf("%d of %d done before the drain", mid, n)
}

func TestReadinessAndMetricsEndpoints(t *testing.T) {
	s := startServer(t)
	r := startWorker(t, s, testConfig())
	h := r.w.Handler(r.reg)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz %d while consuming", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "winnow_documents_total") {
		t.Errorf("/metrics %d without winnow_documents_total", code)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/readyz"); code != 503 || body != "not ready: shutting down\n" {
		t.Errorf("/readyz %d %q after shutdown, want 503 saying why", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
}

func TestCoreQueueGroupMode(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.Mode = ModeCore
	startWorker(t, s, cfg)
	nc, _ := connect(t, s)
	sub, err := nc.SubscribeSync("docs.clean.>")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"id": "c1", "text": "x\nx"})
	if err := nc.Publish("docs.raw.core", b); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rec := decodeRecord(t, m.Data); m.Subject != "docs.clean.core" || rec.Text != "x" {
		t.Fatalf("%s %+v", m.Subject, rec)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := map[string]func(*Config){
		"worker.mode":             func(c *Config) { c.Mode = "kafka" },
		"worker.subjects.input":   func(c *Config) { c.Subjects.Input = "docs.raw" },
		"worker.subjects.clean":   func(c *Config) { c.Subjects.Clean = "docs.raw.clean" },
		"worker.handlers":         func(c *Config) { c.Handlers = 0 },
		"worker.duplicate_window": func(c *Config) { c.DuplicateWindow = time.Second },
		"worker.max_ack_pending":  func(c *Config) { c.MaxAckPending = 0 },
		"worker.output_stream":    func(c *Config) { c.OutputStream = c.InputStream },
		"worker.shared.max_bytes": func(c *Config) { c.State, c.Shared.MaxBytes = "kv", 512<<10 },
	}
	for field, mut := range bad {
		c := DefaultConfig()
		mut(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %v does not name the field", field, err)
		}
	}
	// Outputs are named by what follows the input prefix: it must be
	// literal. ("docs.*.raw.>" was accepted and sent every output to
	// docs.clean._.) Output prefixes are literal subjects too.
	for _, in := range []string{"docs.*.raw.>", "docs..raw.>", "docs raw.>", ".docs.>", "*.>", ">"} {
		c := DefaultConfig()
		c.Subjects.Input = in
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "worker.subjects.input") {
			t.Errorf("input %q: %v", in, err)
		}
	}
	for _, out := range []string{"docs..clean", ".clean", "docs.clean.", "docs.*", "docs clean"} {
		c := DefaultConfig()
		c.Subjects.Clean = out
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "worker.subjects.clean") {
			t.Errorf("clean %q: %v", out, err)
		}
	}
	for _, in := range []string{"docs.raw.>", "a.>", "crawl.site-1.raw.>"} {
		c := DefaultConfig()
		c.Subjects.Input = in
		if err := c.Validate(); err != nil {
			t.Errorf("input %q: %v", in, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

var _ jetstream.Msg // the handler is written against jetstream.Msg

// TestSetPipelineWhileConsuming: pipelines replaced while documents flow
// (a policy reloaded) clean every document after SetPipeline returns, and
// each document before it is cleaned by one or the other; a constructor
// that fails leaves the running pipelines in place.
func TestSetPipelineWhileConsuming(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.Handlers = 4
	flag := func(v string) pipeline.Stage {
		return pipeline.StageFunc(func(d *pipeline.Doc) { d.Flags = append(d.Flags, schemas.Flag{Rule: v}) })
	}
	w := startWorker(t, s, cfg, flag("v1")).w
	_, js := connect(t, s)
	publish := func(from, to int) error {
		for i := from; i < to; i++ {
			b, _ := json.Marshal(map[string]string{"id": fmt.Sprint("d", i),
				"text": fmt.Sprintf("Story %d: the ferry left pier %d at dawn with %d passengers.", i, i*7, i*3)})
			if _, err := js.Publish(context.Background(), "docs.raw.a", b); err != nil {
				return err
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	}
	published := make(chan error, 1)
	go func() { published <- publish(0, 100) }()
	waitFor(t, "some records", func() bool { return outputCount(t, js, cfg.OutputStream) >= 20 })
	if err := w.SetPipeline(func() (*pipeline.Pipeline, error) { return pipeline.New(pipeline.DefaultConfig(), flag("v2")) }); err != nil {
		t.Fatal(err)
	}
	if err := w.SetPipeline(func() (*pipeline.Pipeline, error) { return nil, errors.New("bad policy") }); err == nil {
		t.Fatal("a failing constructor was accepted")
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "100 records", func() bool { return outputCount(t, js, cfg.OutputStream) == 100 })
	if err := publish(100, 120); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "120 records", func() bool { return outputCount(t, js, cfg.OutputStream) == 120 })
	seen := map[string]int{}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		rec := decodeRecord(t, o.data)
		var n int
		fmt.Sscanf(rec.ID, "d%d", &n)
		var versions []string // the test stages' flags (moderation may add its own)
		for _, f := range rec.Flags {
			if f.Rule == "v1" || f.Rule == "v2" {
				versions = append(versions, f.Rule)
			}
		}
		if len(versions) != 1 || (n >= 100 && versions[0] != "v2") {
			t.Fatalf("%s: flags %+v", rec.ID, rec.Flags)
		}
		seen[versions[0]]++
	}
	if seen["v1"] == 0 || seen["v2"] < 20 {
		t.Fatalf("records by version %v", seen)
	}
	t.Logf("records by version: %v", seen)
}

// TestCoreShutdownCountsWhatItLoses: in core mode (at most once) a shutdown
// with the server gone cannot drain its subscriptions; the messages they
// still buffered are dropped with them and counted in the error, beside
// the document a handler was still on.
func TestCoreShutdownCountsWhatItLoses(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.Mode = ModeCore
	cfg.Handlers = 1
	cfg.DrainTimeout = time.Second
	stage := &slowStage{each: 3 * time.Second}
	r := startWorker(t, s, cfg, stage)
	nc, _ := connect(t, s)
	for i := range 5 {
		b, _ := json.Marshal(map[string]string{"id": fmt.Sprint("c", i), "text": "slow to clean"})
		if err := nc.Publish("docs.raw.core", b); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first document in the handler", func() bool { return stage.seen.Load() == 1 })
	time.Sleep(200 * time.Millisecond) // the other four reach the worker's subscription
	s.Shutdown()
	err := r.stop(t)
	// Four wait behind the first (fewer, should the server have gone before
	// it delivered them all).
	if err == nil || !regexp.MustCompile(`[1-4] messages buffered when the drain deadline passed are lost`).MatchString(err.Error()) ||
		!strings.Contains(err.Error(), "unfinished documents are lost (core mode)") {
		t.Fatalf("stop: %v", err)
	}
}

// TestContentTypeDecidesTheBody: a Content-Type header says what a body is,
// where its first byte would mislead: text/plain code or RTF opening with
// '{' is cleaned as text (it was an invalid_json dead letter), and an
// application/json body that is no object is refused as JSON (it was
// cleaned as plain text, its JSON source the record's text). Without the
// header the first byte decides, as before.
func TestContentTypeDecidesTheBody(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	rtf := "{\\rtf1\\ansi The harbour at dawn.}"
	cases := []bodyCase{
		{"rtf-as-text", "text/plain; charset=utf-8", "rtf-1", rtf, true, rtf},
		{"rtf-sniffed", "", "rtf-2", rtf, false, ""},
		{"array-as-json", "Application/JSON", "arr-1", `[{"id":"arr-1","text":"x"}]`, false, ""},
		{"array-sniffed", "", "arr-2", `[{"id":"arr-2","text":"x"}]`, true, ""},
		{"json-as-json", "application/json", "", `{"id":"json-1","text":"A line."}`, true, ""},
		// A plain-text body is decoded from the charset it names.
		{"latin1", `text/plain; charset="ISO-8859-1"`, "l1", "Caf\xe9 cr\xe8me \x80 5.\nCaf\xe9 cr\xe8me \x80 5.", true, "Café crème € 5."},
		{"shift-jis", "text/plain;charset=Shift_JIS", "sj", "\x93\xfa\x96\x7b\x8c\xea", true, "日本語"},
		{"utf-16", "text/plain; charset=utf-16le", "u16", "c\x00a\x00f\x00\xe9\x00", true, "café"},
		{"utf-16-bom", "text/plain; charset=utf-16be", "u16b", "\xfe\xff\x00c\x00a\x00f\x00\xe9", true, "café"},
		{"utf-8-bom", "text/plain", "u8b", "\ufeffcafé", true, "café"},
		{"bom-only", "text/plain; charset=utf-16le", "u16e", "\xff\xfe", false, "empty body"},
		// A byte order mark says the encoding, before any label (WHATWG).
		{"utf-16-bom-sniffed", "text/plain", "u16s", "\xff\xfec\x00a\x00f\x00\xe9\x00", true, "café"},
		{"utf-16be-bom-no-header", "", "u16n", "\xfe\xff\x00c\x00a\x00f\x00\xe9", true, "café"},
		{"bom-beats-label", "text/plain; charset=windows-1252", "bl", "\xef\xbb\xbfcaf\xc3\xa9", true, "café"},
		{"unknown-charset", "text/plain; charset=klingon", "kl", "caf\xe9", false, `charset "klingon" is not one winnow decodes`},
		{"never-decoded", "text/plain; charset=iso-2022-kr", "kr", "caf\xe9", false, `charset "iso-2022-kr" is not one winnow decodes`},
		{"bad-utf-8", "text/plain; charset=utf-8", "u8", "ok caf\xe9", false, "byte 0xe9 at offset 6"},
		// JSON is UTF-8 whatever the header says.
		{"json-latin1", "application/json; charset=iso-8859-1", "", "{\"id\":\"jl\",\"text\":\"caf\xe9\"}", false, "byte 0xe9 at offset 22"},
	}
	checkBodies(t, cases, publishBodies(t, js, cfg, cases))
}

// bodyCase is an input body published on docs.raw.<name> with its
// Content-Type and Winnow-Id headers (when given), and the outcome it
// should have: a clean record, whose text is want when want is given, or a
// dead letter whose error holds want and which, when want is given, keeps
// the body's bytes.
type bodyCase struct {
	name, contentType, id, body string
	clean                       bool
	want                        string // the record's text, or words of the dead letter's error
}

// publishBodies publishes every case and returns the outcomes by case.
func publishBodies(t *testing.T, js jetstream.JetStream, cfg Config, cases []bodyCase) map[string]output {
	t.Helper()
	for _, c := range cases {
		h := nats.Header{}
		if c.contentType != "" {
			h.Set("Content-Type", c.contentType)
		}
		if c.id != "" {
			h.Set(HeaderID, c.id)
		}
		publishRaw(t, js, &nats.Msg{Subject: "docs.raw." + c.name, Data: []byte(c.body), Header: h})
	}
	return outcomesByCase(t, js, cfg, len(cases))
}

// checkBodies reports every case whose outcome is not the one it wants.
func checkBodies(t *testing.T, cases []bodyCase, got map[string]output) {
	t.Helper()
	for _, c := range cases {
		o := got[c.name]
		switch {
		case c.clean && o.subject != "docs.clean."+c.name:
			t.Errorf("%s: %s %s, want a clean record", c.name, o.subject, o.data)
		case c.clean && c.want != "" && decodeRecord(t, o.data).Text != c.want:
			t.Errorf("%s: record text %q, want %q", c.name, decodeRecord(t, o.data).Text, c.want)
		case !c.clean && (o.subject != "docs.dlq."+c.name || o.header.Get(HeaderReason) == ""):
			t.Errorf("%s: %s %v, want a dead letter", c.name, o.subject, o.header)
		case !c.clean && !strings.Contains(o.header.Get(HeaderError), c.want):
			t.Errorf("%s: dead letter's error %q, want %q in it", c.name, o.header.Get(HeaderError), c.want)
		case !c.clean && c.want != "" && !bytes.Equal(decodeDeadLetterData(t, o.data), []byte(c.body)):
			t.Errorf("%s: dead letter %s does not keep the original bytes", c.name, o.data)
		}
	}
}

// TestHTMLBodyReadAsAPage: a page sent as it came (Content-Type text/html,
// or a body that opens as a page does) is cleaned as the text a browser
// shows: its repeats removed line by line, its markup, head and scripts
// never in the record; its charset from the header, else its <meta>. A
// page with no visible text, or not in the charset it says, is a dead
// letter with its bytes. text/plain stays plain text, tags and all.
func TestHTMLBodyReadAsAPage(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	page := `<html><head><title>Title</title><script>var teaser = "<p>no</p>";</script><style>p { margin: 0 }</style></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<figure><img src="a.jpg" alt="x"><figcaption>Harbour at dawn</figcaption></figure>
<p>Harbour at&nbsp;dawn</p>
<p>The body of the   story
stays.</p><div hidden>Subscribe for free</div></body></html>`
	cases := []bodyCase{
		{"page", "text/html; charset=utf-8", "page", page, true, "Home News\nHarbour at dawn\nThe body of the story stays."},
		{"page-meta-charset", "text/html", "page-meta-charset", "<meta charset=\"windows-1252\"><p>Caf\xe9 cr\xe8me</p>", true, "Café crème"},
		{"page-header-charset-first", "Text/HTML; charset=utf-8", "page-header-charset-first", "<meta charset=\"windows-1252\"><p>café</p>", true, "café"},
		{"page-sniffed", "", "page-sniffed", "\n<!DOCTYPE html>\n<html><body><p>A sniffed page.</p></body></html>", true, "A sniffed page."},
		{"page-xhtml", "application/xhtml+xml", "page-xhtml", `<html xmlns="http://www.w3.org/1999/xhtml"><body><p>An XHTML page.</p></body></html>`, true, "An XHTML page."},
		{"page-no-text", "text/html", "page-no-text", "<html><head><script>x()</script></head><body> </body></html>", false, "HTML body with no visible text"},
		{"page-not-utf8", "text/html", "page-not-utf8", "<p>caf\xe9</p>", false, "HTML body is not valid UTF-8: byte 0xe9 at offset 6"},
		{"tags-as-text", "text/plain", "tags-as-text", "<p>Kept as written.</p>", true, "<p>Kept as written.</p>"},
		// A JSON document may carry the page in place of its text.
		{"json-page", "application/json", "json-page", `{"id":"json-page","html":"<p>From <b>the</b> page</p><script>x()</script>"}`, true, "From the page"},
	}
	got := publishBodies(t, js, cfg, cases)
	checkBodies(t, cases, got)
	// The page's record says what went, and why: the caption's copy the
	// paragraph printed again with &nbsp;, as the seed article's was.
	rec := decodeRecord(t, got["page"].data)
	if len(rec.Removed) != 1 || rec.Removed[0].Reason != "exact_repeat" || rec.Removed[0].Text != "Harbour at\u00a0dawn" {
		t.Errorf("page: removals %+v, want the caption's repeat", rec.Removed)
	}
}

// outcomesByCase waits for n outputs, each of an input published on
// docs.raw.<case>, and returns them by case.
func outcomesByCase(t *testing.T, js jetstream.JetStream, cfg Config, n int) map[string]output {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d outcomes", n), func() bool { return outputCount(t, js, cfg.OutputStream) == uint64(n) })
	got := map[string]output{}
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		got[strings.SplitN(o.subject, ".", 3)[2]] = o // docs.<outcome>.<case>
	}
	return got
}

// TestDecodedBodyWithinTheLimit: max_doc_bytes bounds the UTF-8 a charset's
// body decodes to, not only the bytes that came.
func TestDecodedBodyWithinTheLimit(t *testing.T) {
	h := nats.Header{}
	h.Set(HeaderID, "big")
	h.Set("Content-Type", "text/plain; charset=windows-1252")
	body := bytes.Repeat([]byte{0xe9}, 8) // é, two bytes of UTF-8 each
	if doc, err := decodeInput(body, h, 16); err != nil || doc.Text != strings.Repeat("é", 8) {
		t.Fatalf("16-byte limit: %q, %v", doc.Text, err)
	}
	_, err := decodeInput(body, h, 15)
	var ie *schemas.InputError
	if !errors.As(err, &ie) || ie.Reason != schemas.ReasonTooLarge || !strings.Contains(ie.Detail, "8 bytes decode to 16 bytes") {
		t.Fatalf("15-byte limit: %v, want too_large for the decoded 16 bytes", err)
	}
}

// TestSniffedPages: a body with no Content-Type is read as a page when it
// opens as browsers take for one (WHATWG's sniffing: a doctype, <html>, a
// common tag, a comment), or as an XHTML page's XML declaration followed by
// an HTML doctype or element; any other body, an RSS feed's XML or text
// that merely starts with '<', is plain text.
func TestSniffedPages(t *testing.T) {
	for body, page := range map[string]bool{
		"<!DOCTYPE html><p>Text</p>": true,
		"<html\n><p>Text</p>":        true,
		"<!-- generated 2026-12-07 -->\n<!DOCTYPE html>\n<p>Text</p>": true,
		"<div class=\"story\"><p>Text</p></div>":                      true,
		"<P>Text":                                                     true,
		"<a href=\"/\">Text</a>":                                      true,
		`<?xml version="1.0" encoding="utf-8"?>` + "\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\">\n<html><p>Text</p></html>": true,
		`<?xml version="1.0"?><!-- x --> <html xmlns="http://www.w3.org/1999/xhtml"><p>Text</p></html>`:                                      true,
		`<?xml version="1.0"?><rss version="2.0"><p>Text</p></rss>`:                                                                          false,
		"<3 this <p> tag":         false,
		"<abbr>Text</abbr>":       false,
		"Text <p>Text</p>":        false,
		"<!-- a comment --> Text": true,
	} {
		h := nats.Header{}
		h.Set(HeaderID, "sniffed")
		doc, err := decodeInput([]byte(body), h, 1<<20)
		if err != nil {
			if page {
				t.Errorf("%q: %v, want a page", body, err)
			}
			continue
		}
		if got := doc.Text == "Text" || doc.Text == "Text\nText"; got != page {
			t.Errorf("%q: read as %q, want a page %v", body, doc.Text, page)
		}
	}
	// An XHTML page in windows-1252 that says so in its XML declaration
	// alone (no header, no meta) is read in it, not refused as bad UTF-8.
	h := nats.Header{}
	h.Set(HeaderID, "xhtml-1252")
	body := "<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<!DOCTYPE html>\n<html><body><p>Caf\xe9 cr\xe8me</p></body></html>"
	if doc, err := decodeInput([]byte(body), h, 1<<20); err != nil || doc.Text != "Café crème" {
		t.Errorf("XHTML page in windows-1252: %q, %v", doc.Text, err)
	}
}
