package worker

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/winnow-dev/winnow/internal/natstest"
	"github.com/winnow-dev/winnow/schemas"
)

// TestCarryHeaders: the input headers carry_headers names (ignoring case, or
// by prefix) reach the record and the dead letter with every value, others do
// not, and a redriven dead letter gives them back to its input, so the record
// made from it has them too.
func TestCarryHeaders(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.CarryHeaders = []string{"TRACEPARENT", "X-Crawl-*"}
	stage := &downStage{}
	r := startWorker(t, s, cfg, stage)
	_, js := connect(t, s)
	in := func(trace string) nats.Header {
		return nats.Header{"traceparent": {trace}, "X-Crawl-Job": {"job-7", "job-8"}, "X-Other": {"not carried"}}
	}
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: []byte(`{"id":"good","text":"a story"}`), Header: in("00-aa-01")})
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: []byte(`{"id":"poison","text":"a story"}`), Header: in("00-bb-01")})
	waitFor(t, "a record and a dead letter", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	check := func(o output, trace string) {
		t.Helper()
		if got := o.header.Get("traceparent"); got != trace {
			t.Errorf("%s: traceparent %q, want %q (headers %v)", o.subject, got, trace, o.header)
		}
		if got := o.header.Values("X-Crawl-Job"); !slices.Equal(got, []string{"job-7", "job-8"}) {
			t.Errorf("%s: X-Crawl-Job %q", o.subject, got)
		}
		if got := o.header.Get("X-Other"); got != "" {
			t.Errorf("%s: X-Other %q carried; carry_headers does not name it", o.subject, got)
		}
	}
	outs := readOutputs(t, js, cfg.OutputStream)
	slices.SortFunc(outs, func(a, b output) int { return strings.Compare(a.subject, b.subject) })
	if outs[0].subject != "docs.clean.a" || outs[1].subject != "docs.dlq.a" {
		t.Fatalf("outputs on %s, %s", outs[0].subject, outs[1].subject)
	}
	check(outs[0], "00-aa-01")
	check(outs[1], "00-bb-01")

	// The dead letter (processing_failed: the stage panics on "poison"),
	// redriven, reaches a worker whose stages let it through with the
	// headers its input had.
	rep, err := Redrive(context.Background(), js, cfg, RedriveOptions{Reasons: DefaultRedriveReasons})
	if err != nil || rep.Redriven["processing_failed"] != 1 {
		t.Fatalf("redrive: %+v, %v", rep, err)
	}
	startWorker(t, s, cfg)
	waitFor(t, "the redriven record", func() bool { return outputCount(t, js, cfg.OutputStream) == 3 })
	redriven := readOutputs(t, js, cfg.OutputStream)[2]
	if redriven.subject != "docs.clean.a" || redriven.header.Get(HeaderRedriveOf) == "" {
		t.Fatalf("third output: %s %v", redriven.subject, redriven.header)
	}
	check(redriven, "00-bb-01")
}

// TestCarryEveryHeader: "*" carries every header but NATS's and winnow's
// own: the input's Nats-Expected-Stream (which names the input stream)
// would make the output stream refuse the record.
func TestCarryEveryHeader(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.CarryHeaders = []string{"*"}
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	h := nats.Header{"X-Any": {"yes"}, "Nats-Expected-Stream": {cfg.InputStream}, HeaderID: {"p1"}}
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: []byte("plain text"), Header: h})
	waitFor(t, "one output", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	o := readOutputs(t, js, cfg.OutputStream)[0]
	if o.subject != "docs.clean.a" || o.header.Get("X-Any") != "yes" || o.header.Get("Nats-Expected-Stream") != "" {
		t.Fatalf("%s: headers %v", o.subject, o.header)
	}
}

func TestCarryHeadersValidated(t *testing.T) {
	for _, n := range []string{"", "X-*-Job", "Nats-Msg-Id", "winnow-*", "Bad Name", "a:b", "X-\u00e9", "content-type", "Content-Encoding"} {
		cfg := DefaultConfig()
		cfg.CarryHeaders = []string{"traceparent", n}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "worker.carry_headers[1]") {
			t.Errorf("%q: %v", n, err)
		}
	}
	cfg := DefaultConfig()
	cfg.CarryHeaders = []string{"*", "traceparent", "X-Crawl-*", "N*"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestDeadLetterDropsCarriedHeadersWhenTooLarge: an input whose carried
// header leaves no room under max_payload for its record or its dead letter
// is dead-lettered without that header. Before, its small body left nothing
// to cut, and the dead letter, refused again and again, was nak'ed without
// end.
func TestDeadLetterDropsCarriedHeadersWhenTooLarge(t *testing.T) {
	const maxPayload = 64 << 10
	s := natstest.Start(t, func(o *server.Options) { o.MaxPayload = maxPayload })
	cfg := testConfig()
	cfg.CarryHeaders = []string{"X-Crawl-*"}
	startWorker(t, s, cfg)
	_, js := connect(t, s)
	big := strings.Repeat("h", maxPayload-300) // the input fits; its record, with this header, does not
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: []byte(`{"id":"big-header","text":"a story"}`),
		Header: nats.Header{"X-Crawl-Trace": {big}, "X-Crawl-Job": {"job-7"}}})
	waitFor(t, "one output", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	o := readOutputs(t, js, cfg.OutputStream)[0]
	if o.subject != "docs.dlq.a" || o.header.Get(HeaderReason) != string(schemas.ReasonTooLarge) {
		t.Fatalf("%s: %v", o.subject, o.header)
	}
	if o.header.Get("X-Crawl-Trace") != "" || o.header.Get("X-Crawl-Job") != "" {
		t.Fatal("the dead letter carries the input's headers")
	}
	var dl schemas.DeadLetter
	if err := json.Unmarshal(o.data, &dl); err != nil {
		t.Fatal(err)
	}
	if b, err := dl.Bytes(); err != nil || string(b) != `{"id":"big-header","text":"a story"}` || dl.ID != "big-header" {
		t.Fatalf("dead letter %+v does not hold the input whole", dl)
	}
}
