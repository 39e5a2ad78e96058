package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/winnow-dev/winnow/internal/natstest"
	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/schemas"
)

// downStage is a real pipeline stage that fails every document while down is
// set, and always the one with id "poison".
type downStage struct{ down atomic.Bool }

func (o *downStage) Process(d *pipeline.Doc) {
	if o.down.Load() || d.In.ID == "poison" {
		panic("stage fault on " + d.In.ID)
	}
}

// TestDeadLetterInPartsWhenServerRefusesWhole: an input within
// max_doc_bytes whose whole dead letter is over the server's max_payload
// (each backslash of the JSON input is two bytes there) is kept in two
// parts, each within it, that join to the input. It was cut to its first
// schemas.KeepBytes, which a redrive skips.
func TestDeadLetterInPartsWhenServerRefusesWhole(t *testing.T) {
	const maxPayload = 256 << 10
	s := natstest.Start(t, func(o *server.Options) { o.MaxPayload = maxPayload })
	cfg := testConfig()
	cfg.MaxDocBytes = 200 << 10
	stage := &downStage{}
	stage.down.Store(true)
	startWorker(t, s, cfg, stage)
	_, js := connect(t, s)
	doc := []byte(`{"id":"bs","text":"` + strings.Repeat(`\\`, 75<<10) + `"}`)
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: doc})
	waitFor(t, "the dead letter", func() bool { return len(outcomes(t, js, cfg)) == 1 })
	k := keptInputs(t, readOutputs(t, js, cfg.OutputStream), maxPayload)
	if len(k) != 1 || k[0].dl.Reason != schemas.ReasonProcessingFailed || k[0].parts != 2 || !bytes.Equal(k[0].data, doc) {
		t.Fatalf("dead letters: %v", k)
	}
}

// TestRecordOverStreamMaxMsgSize: the output stream's max_msg_size refuses
// a record (a PubAck error, unlike the server's max_payload, which the
// client checks) with no removal to leave out. The input is dead-lettered
// as too_large, once, instead of being retried and then nak'ed for ever,
// and kept whole, in parts each within max_msg_size (it was cut to its
// first bytes). A small document beside it is clean.
func TestRecordOverStreamMaxMsgSize(t *testing.T) {
	const maxMsgSize = 4 << 10
	cfg, r, js := msgSizeWorker(t, maxMsgSize)
	doc := []byte(`{"id":"big","text":"` + strings.Repeat("word ", 2000) + `"}`)
	k := bigBesideSmall(t, js, cfg, doc, maxMsgSize)
	if k.dl.Reason != schemas.ReasonTooLarge || k.dl.ID != "big" || k.parts < 3 || !bytes.Equal(k.data, doc) {
		t.Fatalf("dead letter: reason %s, id %q, %d parts, %d of %d bytes", k.dl.Reason, k.dl.ID, k.parts, len(k.data), len(doc))
	}
	if n := testutil.ToFloat64(r.w.metrics.redeliveries); n != 0 {
		t.Errorf("%v redeliveries, want 0", n)
	}
}

// TestDeadLetterKeptInParts: inputs over max_doc_bytes whose dead letters
// are over max_payload, a JSON document of text that escaping doubles (with
// characters JSON writes in six bytes, and others of several bytes, which
// a part must not split) and a binary body (base64), are kept whole in
// parts, each message within max_payload. Once max_doc_bytes is raised, a
// redrive of too_large joins the parts and sends each input round again
// byte for byte: the document is cleaned. They were cut to their first 64
// KiB, and a redrive skipped them.
func TestDeadLetterKeptInParts(t *testing.T) {
	const maxPayload = 64 << 10
	s, cfg, r, js := limitedWorker(t, maxPayload, 16<<10)
	var text strings.Builder
	for i := 0; text.Len() < 45<<10; i++ {
		fmt.Fprintf(&text, "Line %d \"quoted\" \\ path\u0001\u2028 – café 🙂\n", i)
	}
	textDoc, err := json.Marshal(map[string]string{"id": "escapes", "text": text.String()})
	if err != nil {
		t.Fatal(err)
	}
	binary := make([]byte, 60<<10)
	for i := range binary {
		binary[i] = byte(i*7 + i/251)
	}
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: textDoc})
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.b", Data: binary, Header: nats.Header{HeaderID: {"binary"}}})
	waitFor(t, "two dead letters", func() bool { return len(outcomes(t, js, cfg)) == 2 })
	kept := keptInputs(t, readOutputs(t, js, cfg.OutputStream), maxPayload)
	continuations := 0
	for _, k := range kept {
		want, enc := textDoc, "utf-8"
		if k.dl.Subject == "docs.raw.b" {
			want, enc = binary, "base64"
		}
		if k.dl.Reason != schemas.ReasonTooLarge || k.parts < 2 || k.dl.Encoding != enc || !bytes.Equal(k.data, want) ||
			k.dl.Error != fmt.Sprintf("%d bytes is over the 16384-byte limit (worker.max_doc_bytes)", len(want)) {
			t.Errorf("%s: reason %s (%q), %d parts in %s, %d of %d bytes", k.dl.Subject, k.dl.Reason, k.dl.Error, k.parts, k.dl.Encoding, len(k.data), len(want))
		}
		continuations += k.parts - 1
	}
	if len(kept) != 2 || t.Failed() {
		t.Fatalf("%d dead letters", len(kept))
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	cfg.MaxDocBytes = 1 << 20
	startWorker(t, s, cfg)
	rep, err := Redrive(context.Background(), js, cfg, RedriveOptions{Reasons: []schemas.Reason{schemas.ReasonTooLarge}})
	if err != nil || rep.Redriven[schemas.ReasonTooLarge] != 2 || rep.Parts != continuations || len(rep.Skipped) > 0 {
		t.Fatalf("redrive: %+v (%v), want 2 redriven from %d parts", rep, err, continuations)
	}
	waitFor(t, "the redriven inputs' outcomes", func() bool { return len(outcomes(t, js, cfg)) == 4 })
	for _, o := range outcomes(t, js, cfg)[2:] {
		if o.header.Get(HeaderRedriveOf) == "" {
			t.Errorf("%s: answers no dead letter", o.subject)
		}
		if o.subject == "docs.clean.a" {
			var rec schemas.Record
			if err := json.Unmarshal(o.data, &rec); err != nil || rec.ID != "escapes" || rec.Stats.BytesIn != len(decodeText(t, textDoc)) {
				t.Errorf("the document's record: id %q, %d bytes in, want %d (%v)", rec.ID, rec.Stats.BytesIn, len(decodeText(t, textDoc)), err)
			}
		}
	}
	if again, err := Redrive(context.Background(), js, cfg, RedriveOptions{Reasons: []schemas.Reason{schemas.ReasonTooLarge}}); err != nil || again.Answered != 2 {
		t.Fatalf("redrive again: %+v (%v), want both answered", again, err)
	}
}

// TestDeadLetterCutWhenPartsCannotHoldIt: a size limit that would take
// more than maxDeadLetterParts parts has the dead letter keep the input's
// first bytes, as much as the limit takes, rather than nak it for ever.
func TestDeadLetterCutWhenPartsCannotHoldIt(t *testing.T) {
	_, cfg, _, js := limitedWorker(t, 4<<20, 1<<20)
	editStream(t, js, cfg.OutputStream, func(_ *jetstream.StreamInfo, sc *jetstream.StreamConfig) { sc.MaxMsgSize = 2 << 10 })
	doc := bytes.Repeat([]byte("a"), 3<<20) // about 2,000 parts of 1.5 KiB
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: doc, Header: nats.Header{HeaderID: {"huge"}}})
	waitFor(t, "the dead letter", func() bool { return outputCount(t, js, cfg.OutputStream) == 1 })
	dl := decodeDeadLetter(t, readOutputs(t, js, cfg.OutputStream)[0].data)
	back, err := dl.Bytes()
	if err != nil || dl.Reason != schemas.ReasonTooLarge || !dl.Truncated || dl.Parts != 0 || dl.Size != len(doc) || len(back) != minKeepBytes {
		t.Fatalf("dead letter: reason %s, truncated %v, %d parts, size %d, kept %d (%v)", dl.Reason, dl.Truncated, dl.Parts, dl.Size, len(back), err)
	}
}

// kept is a dead letter read from the output stream with the input its
// parts hold.
type kept struct {
	dl    schemas.DeadLetter
	data  []byte
	parts int // messages: 1 for a dead letter in one
}

func (k kept) String() string {
	return fmt.Sprintf("%s %s: %d parts, %d of %d bytes", k.dl.Subject, k.dl.Reason, k.parts, len(k.data), k.dl.Size)
}

// keptInputs returns the dead letters of outs with their inputs joined
// from their parts, checking what each part says of itself against its
// place, that each is a winnow.v1.dead_letter and that each message is
// within limit bytes.
func keptInputs(t *testing.T, outs []output, limit int) []kept {
	t.Helper()
	type piece struct {
		from int
		data []byte
		dl   schemas.DeadLetter
		id   string
	}
	pieces := map[string][]piece{}
	var deadLetters []output
	for _, o := range outs {
		if size := len(o.data) + headerBytes(o.header); size > limit {
			t.Errorf("a %d-byte message on %s: over %d", size, o.subject, limit)
		}
		if !strings.HasPrefix(o.subject, "docs.dlq.") {
			continue
		}
		mustMatchSchema(t, schemas.DeadLetterV1, o.data)
		of := o.header.Get(HeaderPartOf)
		if of == "" {
			deadLetters = append(deadLetters, o)
			continue
		}
		dl := decodeDeadLetter(t, o.data)
		b, err := dl.Bytes()
		if err != nil || o.header.Get(HeaderOutcome) != OutcomeDeadLetterPart || !dl.Truncated {
			t.Fatalf("a part of %s: outcome %q, truncated %v (%v)", of, o.header.Get(HeaderOutcome), dl.Truncated, err)
		}
		pieces[of] = append(pieces[of], piece{dl.Offset, b, dl, o.header.Get(nats.MsgIdHdr)})
	}
	var out []kept
	for _, o := range deadLetters {
		id := o.header.Get(nats.MsgIdHdr)
		dl := decodeDeadLetter(t, o.data)
		data, err := dl.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		k := kept{dl: dl, data: data, parts: 1}
		if dl.Parts > 1 {
			rest := pieces[id]
			slices.SortFunc(rest, func(a, b piece) int { return a.from - b.from })
			if !dl.Truncated || dl.Part != 1 || len(rest) != dl.Parts-1 {
				t.Fatalf("dead letter %s: truncated %v, part %d of %d, %d continuations", id, dl.Truncated, dl.Part, dl.Parts, len(rest))
			}
			for i, p := range rest {
				wantID := fmt.Sprintf("%s:%d-%d", id, len(k.data), len(k.data)+len(p.data))
				if p.from != len(k.data) || p.dl.Part != i+2 || p.dl.Parts != dl.Parts || p.id != wantID || p.dl.Reason != dl.Reason || p.dl.Size != dl.Size {
					t.Fatalf("dead letter %s: part %d of %d at %d, id %q (want %d, %q)", id, p.dl.Part, p.dl.Parts, p.from, p.id, len(k.data), wantID)
				}
				k.data = append(k.data, p.data...)
			}
			k.parts = dl.Parts
		}
		out = append(out, k)
	}
	return out
}

// outcomes returns the outputs on the output stream but the continuations
// of dead letters in parts.
func outcomes(t *testing.T, js jetstream.JetStream, cfg Config) []output {
	t.Helper()
	var out []output
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		if o.header.Get(HeaderPartOf) == "" {
			out = append(out, o)
		}
	}
	return out
}

// decodeText returns the text of a JSON document.
func decodeText(t *testing.T, doc []byte) string {
	t.Helper()
	var d struct{ Text string }
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	return d.Text
}

// TestRecordFitsMaxPayload: a document of many tiny repeats, well within
// max_doc_bytes, makes a record many times its size. Its record lists the
// first max_removals of them (1000) and, as the server's max_payload cannot
// take those, fewer: as many as the message holds (the first, as they all
// repeat one line), the rest counted in removed_omitted and all in
// stats.removed_by_reason. It was dead-lettered too_large, and redriven, it
// met the same refusal.
func TestRecordFitsMaxPayload(t *testing.T) {
	const maxPayload = 64 << 10
	_, cfg, r, js := limitedWorker(t, maxPayload, 60<<10)
	const lines = 15000
	listed, size := repeatsRecord(t, js, cfg, lines)
	// As many as fit: one more (about 100 bytes) would not have.
	if size > maxPayload || size < maxPayload-1024 {
		t.Errorf("message of %d bytes: want one that fills most of the %d max_payload", size, maxPayload)
	}
	checkOmitted(t, r, omittedMaxPayload, lines-1-pipeline.DefaultMaxRemovals, pipeline.DefaultMaxRemovals-listed)
}

// TestRecordFitsStreamMaxMsgSize: a record the output stream refuses as
// over a max_msg_size an operator set while the worker ran is fitted to it
// (the limit read again) and sent once more, where it was dead-lettered
// too_large. A record too large with no removal listed names the limit.
func TestRecordFitsStreamMaxMsgSize(t *testing.T) {
	const maxMsgSize = 16 << 10
	cfg, r, js := msgSizeWorker(t, maxMsgSize)
	const lines = 4000
	listed, size := repeatsRecord(t, js, cfg, lines)
	if size > maxMsgSize || size < maxMsgSize-1024 {
		t.Errorf("message of %d bytes: want one that fills most of the %d max_msg_size", size, maxMsgSize)
	}
	checkOmitted(t, r, omittedMaxMsgSize, lines-1-pipeline.DefaultMaxRemovals, pipeline.DefaultMaxRemovals-listed)
	if n := testutil.ToFloat64(r.w.metrics.deadLetters.WithLabelValues(string(schemas.ReasonTooLarge))); n != 0 {
		t.Errorf("%v dead letters too_large, want none", n)
	}
	// A page with nothing to remove and over the limit, which the worker
	// now knows, is dead-lettered saying which limit.
	var text strings.Builder
	for i := 0; text.Len() < maxMsgSize; i++ {
		fmt.Fprintf(&text, "Line %d of a long page that says nothing twice.\n", i)
	}
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": "long", "text": text.String()})
	waitFor(t, "three outcomes", func() bool { return len(outcomes(t, js, cfg)) == 3 })
	k := keptInputs(t, readOutputs(t, js, cfg.OutputStream), maxMsgSize)
	if len(k) != 1 || k[0].dl.ID != "long" || k[0].dl.Reason != schemas.ReasonTooLarge || len(k[0].data) != k[0].dl.Size ||
		!strings.HasSuffix(k[0].dl.Error, "its message may take (the output stream's max_msg_size less its headers)") {
		t.Errorf("dead letters: %v", k)
	}
}

// repeatsRecord publishes a page of lines "ab" lines and a small document
// on docs.raw.a, waits for their two records and returns how many removals
// the page's lists and the size of its message (body and headers). It
// fails the test unless both are clean and the page's record keeps one
// "ab", counts every repeat, listed or omitted, and lists the first.
func repeatsRecord(t *testing.T, js jetstream.JetStream, cfg Config, lines int) (listed, size int) {
	t.Helper()
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: []byte(`{"id":"repeats","text":"` + strings.Repeat(`ab\n`, lines) + `"}`)})
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": "small", "text": "Some small text."})
	waitFor(t, "two outcomes", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
	var got *output
	for _, o := range readOutputs(t, js, cfg.OutputStream) {
		if o.subject != "docs.clean.a" {
			t.Fatalf("%s on %s: %.300s", o.header.Get(HeaderOutcome), o.subject, o.data)
		}
		if strings.Contains(string(o.data), `"id":"repeats"`) {
			got = &o
		}
	}
	if got == nil {
		t.Fatal("no record of the document of repeats")
	}
	var rec schemas.Record
	if err := json.Unmarshal(got.data, &rec); err != nil {
		t.Fatal(err)
	}
	listed, size = len(rec.Removed), len(got.data)+headerBytes(got.header)
	t.Logf("message %d bytes: %d removals listed, %d omitted", size, listed, rec.RemovedOmitted)
	if rec.Text != "ab" || listed == 0 || listed+rec.RemovedOmitted != lines-1 || rec.Stats.RemovedByReason["exact_repeat"] != lines-1 {
		t.Fatalf("text %q, %d removals listed and %d omitted, by reason %v: want \"ab\" and %d removals in all",
			rec.Text, listed, rec.RemovedOmitted, rec.Stats.RemovedByReason, lines-1)
	}
	for i, rm := range rec.Removed {
		if rm.Offset != 3*(i+1) || rm.Text != "ab" {
			t.Fatalf("removal %d: offset %d, text %q: want the first in input order (offset %d)", i, rm.Offset, rm.Text, 3*(i+1))
		}
	}
	return listed, size
}

// checkOmitted checks winnow_removals_omitted_total: byCap for
// max_removals, bySize for the limit named.
func checkOmitted(t *testing.T, r *running, limit string, byCap, bySize int) {
	t.Helper()
	gotCap := testutil.ToFloat64(r.w.metrics.omitted.WithLabelValues(omittedMaxRemovals))
	gotSize := testutil.ToFloat64(r.w.metrics.omitted.WithLabelValues(limit))
	if gotCap != float64(byCap) || gotSize != float64(bySize) {
		t.Errorf("removals omitted: %v for max_removals, %v for %s: want %d and %d", gotCap, gotSize, limit, byCap, bySize)
	}
}

// TestRecordOverMaxPayloadWithNoRemovals: a compressed document's record
// the server's max_payload cannot take with no removal listed is not
// published; the input is dead-lettered too_large, whole (redrivable once
// max_payload is raised), saying how large the record would be.
func TestRecordOverMaxPayloadWithNoRemovals(t *testing.T) {
	const maxPayload = 64 << 10
	_, cfg, _, js := limitedWorker(t, maxPayload, 1<<20)
	var text strings.Builder
	for i := 0; text.Len() < 2*maxPayload; i++ {
		fmt.Fprintf(&text, "Line %d of a long page that says nothing twice.\n", i)
	}
	b, err := json.Marshal(map[string]string{"id": "long", "text": text.String()})
	if err != nil {
		t.Fatal(err)
	}
	doc := gzipped(t, b)
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: doc, Header: nats.Header{"Content-Encoding": {"gzip"}}})
	k := bigBesideSmall(t, js, cfg, nil, maxPayload)
	dl, back := k.dl, k.data
	if k.parts != 1 || dl.Reason != schemas.ReasonTooLarge || dl.ID != "long" || dl.Truncated || !bytes.Equal(back, doc) ||
		!regexp.MustCompile(`^its record would be \d+ bytes, over the \d+ its message may take \(the server's max_payload less its headers\)$`).MatchString(dl.Error) {
		t.Fatalf("dead letter: reason %s, id %q, truncated %v, %d parts, kept %d of %d, error %q", dl.Reason, dl.ID, dl.Truncated, k.parts, len(back), len(doc), dl.Error)
	}
}

// bigBesideSmall publishes doc (unless nil: the caller did) and a small
// document on docs.raw.a, waits for their two outcomes and returns doc's
// dead letter (the zero one when there is none), each of its messages
// within limit bytes.
func bigBesideSmall(t *testing.T, js jetstream.JetStream, cfg Config, doc []byte, limit int) kept {
	t.Helper()
	if doc != nil {
		publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: doc})
	}
	publishDoc(t, js, "docs.raw.a", map[string]string{"id": "small", "text": "Some small text."})
	waitFor(t, "two outcomes", func() bool { return len(outcomes(t, js, cfg)) == 2 })
	k := keptInputs(t, readOutputs(t, js, cfg.OutputStream), limit)
	if len(k) == 0 {
		return kept{}
	}
	return k[0]
}

// TestMaxPayloadWarnings: New warns when the server's max_payload is below
// max_doc_bytes (such documents cannot arrive) or below twice it (a record
// holds the removed text too, so records of the largest documents may list
// fewer of their removals), and is quiet when there is room.
func TestMaxPayloadWarnings(t *testing.T) {
	cfg := testConfig()
	cfg.MaxDocBytes = 1 << 20
	for _, c := range []struct {
		maxPayload int32
		want       string
	}{
		{512 << 10, "above the server's max_payload"},
		{1 << 20, "under twice max_doc_bytes"},
		{2 << 20, ""},
	} {
		s := natstest.Start(t, func(o *server.Options) { o.MaxPayload = c.maxPayload })
		nc, _ := connect(t, s)
		core, logs := observer.New(zap.WarnLevel)
		if _, err := New(nc, cfg, func() (*pipeline.Pipeline, error) { return pipeline.New(pipeline.DefaultConfig()) },
			zap.New(core), NewMetrics(prometheus.NewRegistry())); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range logs.All() {
			got = append(got, e.Message)
		}
		if c.want == "" && len(got) > 0 || c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)) {
			t.Errorf("max_payload %d: warnings %q, want %q", c.maxPayload, got, c.want)
		}
	}
}

// TestSplitJSONText: the input of a dead letter kept in parts is cut so
// that every piece, written as JSON as encodeDeadLetter writes it, takes at
// most room bytes; none splits a character; each but the last holds as
// much as room allows (jsonCost counts as the encoder writes); and the
// pieces join to the input.
func TestSplitJSONText(t *testing.T) {
	alphabet := []string{"a", " ", "\n", "\r", "\t", `"`, `\`, "\x01", "\x1f", "\x7f", "<", "&", "é", "–", "\u2028", "\u2029", "🙂"}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		var b strings.Builder
		for range rng.IntN(2000) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		text := []byte(b.String())
		room := 6 + rng.IntN(120)
		written := func(p []byte) int {
			enc, err := encodeDeadLetter(schemas.DeadLetter{Data: string(p)})
			if err != nil {
				t.Fatal(err)
			}
			empty, _ := encodeDeadLetter(schemas.DeadLetter{})
			return len(enc) - len(empty)
		}
		from := 0
		ends := splitJSONText(text, room)
		for i, end := range ends {
			piece := text[from:end]
			if n := written(piece); n > room || !utf8.Valid(piece) || (len(piece) == 0 && len(text) > 0) {
				t.Fatalf("trial %d, room %d: piece %d of %d is %d bytes written (%q)", trial, room, i, len(ends), n, piece)
			}
			if i < len(ends)-1 {
				_, n := utf8.DecodeRune(text[end:])
				if more := written(text[from : end+n]); more <= room {
					t.Fatalf("trial %d, room %d: piece %d ends at %d, where %d bytes written would hold one more character", trial, room, i, end, more)
				}
			}
			from = end
		}
		if from != len(text) {
			t.Fatalf("trial %d: the pieces end at %d of %d", trial, from, len(text))
		}
	}
}

// TestChainParts: a dead letter's continuations are joined from wherever
// its first bytes end, past a part cut to another size limit that leads
// nowhere; a gap leaves none.
func TestChainParts(t *testing.T) {
	refs := []partRef{{seq: 5, from: 10, end: 15}, {seq: 2, from: 10, end: 20}, {seq: 3, from: 20, end: 30}, {seq: 6, from: 15, end: 18}}
	got, ok := chainParts(refs, 10, 30)
	if !ok || !slices.Equal(got, []partRef{refs[1], refs[2]}) {
		t.Fatalf("chain: %v %v", got, ok)
	}
	if got, ok := chainParts(refs[:2], 10, 30); ok {
		t.Fatalf("a missing part joined: %v", got)
	}
	if got, ok := chainParts(nil, 30, 30); !ok || len(got) != 0 {
		t.Fatalf("nothing to join: %v %v", got, ok)
	}
}

// TestRedriveSinceJoinsEarlierParts: a redrive --since the moment a dead
// letter in parts was stored (its continuation was stored just before it)
// still joins it: dead letters are read from the duplicate window earlier
// for their continuations, and those stored before --since are not
// redriven. It was skipped as incomplete.
func TestRedriveSinceJoinsEarlierParts(t *testing.T) {
	_, cfg, _, js := limitedWorker(t, 64<<10, 16<<10)
	publishRaw(t, js, &nats.Msg{Subject: "docs.raw.a", Data: bytes.Repeat([]byte{0xff}, 60<<10), Header: nats.Header{HeaderID: {"binary"}}})
	waitFor(t, "the dead letter in parts", func() bool { return outputCount(t, js, cfg.OutputStream) == 2 })
	ctx := context.Background()
	st, info := streamInfo(ctx, t, js, cfg.OutputStream)
	main, err := st.GetMsg(ctx, info.State.LastSeq)
	if err != nil || main.Header.Get(HeaderPartOf) != "" {
		t.Fatalf("the last message is not the dead letter: %v, %v", main.Header, err)
	}
	redrive := func(since time.Time) *RedriveReport {
		t.Helper()
		rep, err := Redrive(ctx, js, cfg, RedriveOptions{Reasons: []schemas.Reason{schemas.ReasonTooLarge}, DryRun: true, Since: since})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := redrive(main.Time); rep.DeadLetters != 1 || rep.Redriven[schemas.ReasonTooLarge] != 1 || rep.Parts != 1 || len(rep.Skipped) > 0 {
		t.Fatalf("since the dead letter: %+v, want it redriven, its part joined", rep)
	}
	if rep := redrive(main.Time.Add(time.Nanosecond)); rep.DeadLetters != 0 || len(rep.Redriven) > 0 {
		t.Fatalf("since after the dead letter: %+v, want none", rep)
	}
}

// limitedWorker starts a server whose max_payload is maxPayload and a
// worker on it that takes inputs of up to maxDocBytes, and connects.
func limitedWorker(t *testing.T, maxPayload int32, maxDocBytes Bytes) (*server.Server, Config, *running, jetstream.JetStream) {
	t.Helper()
	s := natstest.Start(t, func(o *server.Options) { o.MaxPayload = maxPayload })
	cfg := testConfig()
	cfg.MaxDocBytes = maxDocBytes
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	return s, cfg, r, js
}

// msgSizeWorker starts a server and a worker on it, connects, and sets the
// output stream's max_msg_size to maxMsgSize while the worker runs.
func msgSizeWorker(t *testing.T, maxMsgSize int32) (Config, *running, jetstream.JetStream) {
	t.Helper()
	s := startServer(t)
	cfg := testConfig()
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	editStream(t, js, cfg.OutputStream, func(_ *jetstream.StreamInfo, sc *jetstream.StreamConfig) { sc.MaxMsgSize = maxMsgSize })
	return cfg, r, js
}
