package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/winnow-dev/winnow/internal/corpus"
	"github.com/winnow-dev/winnow/schemas"
	"github.com/winnow-dev/winnow/worker"
)

// runPublish publishes JSON-lines documents to the input subject with
// JetStream acks and Nats-Msg-Id = the document id (schemas.MsgID),
// retrying each until the stream has it: a load generator and the crash
// test's publisher, which must lose nothing while servers restart.
func runPublish(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath, apply := remoteFlags(fs)
	subject := fs.String("subject", "docs.raw.bench", "input `SUBJECT` to publish to")
	cycles := fs.Int("cycles", 1, "publish the input this many `N` times, ids rewritten per cycle (\"c2/<id>\") so every document is new")
	limit := fs.Int("limit", 0, "stop after `N` documents (0: all)")
	rate := fs.Float64("rate", 0, "documents per second (0: as fast as acks allow)")
	pending := fs.Int("max-pending", 256, "unacknowledged publishes in flight")
	noMsgID := fs.Bool("no-msg-id", false, "do not set Nats-Msg-Id (to send several messages that claim one id)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow publish [flags] [FILE]\n\nPublishes the JSON-lines documents of FILE (or stdin; gzipped or not) to the\ninput subject, each with Nats-Msg-Id set to its id, and publishes again those\nthe stream has not acknowledged, through server restarts and outages, for up to\n100 rounds. Exit 1 on an error, or with documents still unacknowledged.\n\n")
		fs.PrintDefaults()
	}
	pos, code, done := parseArgs(fs, args, 1)
	if done {
		return code
	}
	cfg, err := remoteConfig(*cfgPath, apply)
	if err != nil {
		return fail(stderr, "winnow publish", err)
	}
	// A wildcard subject is stored as it is by a server that is not
	// pedantic; an empty token makes every publish fail.
	if !worker.LiteralSubject(*subject) {
		return fail(stderr, "winnow publish", fmt.Errorf("--subject %q: want a literal subject, without wildcards (e.g. docs.raw.site)", *subject))
	}
	name, r := "standard input", stdin
	if len(pos) > 0 {
		f, err := os.Open(pos[0])
		if err != nil {
			return fail(stderr, "winnow publish", err)
		}
		defer f.Close()
		name, r = pos[0], f
	}
	lines, err := readLines(r)
	if err != nil { // a gzip file cut short: publish none of it rather than a prefix
		return fail(stderr, "winnow publish", fmt.Errorf("%s: %w", name, err))
	}
	nc, err := connect(cfg.NATS.URL, cfg.NATS, zap.NewNop())
	if err != nil {
		return fail(stderr, "winnow publish", err)
	}
	defer nc.Close()
	// A publish whose ack never comes (a stream leader moving) times out and
	// is retried, instead of holding a pending slot for ever.
	js, err := worker.NewJetStream(nc, cfg.NATS.JetStreamDomain, jetstream.WithPublishAsyncMaxPending(*pending), jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		return fail(stderr, "winnow publish", err)
	}
	start := time.Now()
	// A round answered "no responders" is an outage (a server restarting
	// answers the same) or a subject no stream takes. The JetStream API
	// tells them apart when the user may ask it: no stream takes the
	// subject ends the run at once (it retried for 100 rounds, about 100
	// s). A crawler's user that may not ask, or no answer, is retried, said
	// at once.
	noStream := func(err error) error {
		ask, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, lerr := js.StreamNameBySubject(ask, *subject); errors.Is(lerr, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("no stream takes %s, the server says: winnow reads %s (worker.subjects.input)", *subject, cfg.Worker.Subjects.Input)
		}
		fmt.Fprintf(stderr, "winnow publish: no stream answered on %s (%v): does a stream take it? winnow reads %s; retrying\n", *subject, err, cfg.Worker.Subjects.Input)
		return nil
	}
	n, bytes, held, err := publishAll(ctx, js, *subject, lines, *cycles, *limit, *rate, !*noMsgID, noStream)
	secs := time.Since(start).Seconds()
	fmt.Fprintf(stdout, "published %d documents (%.1f MB) in %.1fs: %.0f docs/s\n", n, float64(bytes)/1e6, secs, float64(n)/secs)
	if held > 0 {
		fmt.Fprintf(stdout, "%d of them not stored: the stream already held a message of their id (Nats-Msg-Id) within its duplicate window; --no-msg-id sends them anyway\n", held)
	}
	if err != nil {
		return fail(stderr, "winnow publish", err)
	}
	return exitOK
}

// publishAll publishes every line (rewriting ids per cycle) and waits for
// every ack, republishing what failed; the msg id makes a retry of a
// publish that did land a no-op. held counts the documents the stream
// answered on their first attempt as duplicates: it held their id already,
// from another message, and did not store them.
//
// noStream is called once, the first time a whole round is answered "no
// responders" (no stream takes the subject, or none is up yet); an error
// it returns ends the run.
func publishAll(ctx context.Context, js jetstream.JetStream, subject string, lines [][]byte, cycles, limit int, rate float64, msgIDs bool, noStream func(error) error) (n int, total int64, held int, err error) {
	type item struct {
		data []byte
		id   string
	}
	var todo []item
	for c := 1; c <= cycles; c++ {
		for _, l := range lines {
			var d map[string]any
			if json.Unmarshal(schemas.TrimBOM(l), &d) != nil {
				todo = append(todo, item{data: l}) // sent as is: a malformed input
				continue
			}
			id, _ := d["id"].(string)
			if c > 1 {
				id = fmt.Sprintf("c%d/%s", c, id)
				d["id"] = id
				l, _ = json.Marshal(d)
			}
			todo = append(todo, item{data: l, id: id})
			if limit > 0 && len(todo) >= limit {
				break
			}
		}
		if limit > 0 && len(todo) >= limit {
			break
		}
	}
	for _, it := range todo {
		total += int64(len(it.data))
	}
	var lastErr error
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, 0, 0, ctx.Err()
			case <-time.After(time.Second):
			}
		}
		futures := make([]jetstream.PubAckFuture, len(todo))
		start := time.Now()
		for i, it := range todo {
			pace(start, i, rate)
			m := &nats.Msg{Subject: subject, Data: it.data, Header: nats.Header{}}
			var opts []jetstream.PublishOpt
			if it.id != "" && msgIDs {
				opts = append(opts, jetstream.WithMsgID(schemas.MsgID(it.id)))
			}
			f, err := js.PublishMsgAsync(m, opts...)
			for err != nil && ctx.Err() == nil { // too many pending, or disconnected: wait, retry
				time.Sleep(50 * time.Millisecond)
				f, err = js.PublishMsgAsync(m, opts...)
			}
			futures[i] = f
		}
		// One deadline for the whole round, not one per future: thousands of
		// unanswered publishes must not wait in turn.
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
		case <-ctx.Done():
			return 0, 0, 0, ctx.Err()
		}
		var failed []item
		noResponders := 0
		for i, f := range futures {
			select {
			case ack := <-f.Ok():
				if ack.Duplicate && attempt == 0 { // later, it may be this document's own earlier attempt
					held++
				}
			case lastErr = <-f.Err():
				failed = append(failed, todo[i])
				if errors.Is(lastErr, jetstream.ErrNoStreamResponse) {
					noResponders++
				}
			default: // still unanswered: publish again (the msg id makes it safe)
				failed = append(failed, todo[i])
			}
		}
		if noResponders == len(todo) && noStream != nil {
			if err := noStream(lastErr); err != nil {
				return 0, 0, 0, err
			}
			noStream = nil
		}
		todo = failed
		if attempt > 100 {
			why := "no acknowledgement came"
			if lastErr != nil {
				why = "last error: " + lastErr.Error()
			}
			return 0, 0, 0, fmt.Errorf("%d documents still unacknowledged after %d attempts (%s)", len(todo), attempt, why)
		}
	}
	n = len(lines) * cycles
	if limit > 0 {
		n = min(n, limit)
	}
	return n, total, held, nil
}

// readLines reads the non-empty lines of r (gzip-decompressed when it is
// gzip, see corpus.Reader), without their line ends.
func readLines(r io.Reader) ([][]byte, error) {
	r, err := corpus.Reader(r)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, 1<<20)
	var lines [][]byte
	for {
		l, err := readLine(br, nil)
		if l = trimEOL(l); len(l) > 0 {
			lines = append(lines, l)
		}
		switch {
		case err == io.EOF:
			return lines, nil
		case err != nil:
			return nil, err
		}
	}
}
