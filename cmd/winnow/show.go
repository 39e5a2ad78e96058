package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/winnow-dev/winnow/schemas"
	"github.com/winnow-dev/winnow/worker"
)

// shown is one output message, from the output stream or a file, as
// `winnow show` prints it.
type shown struct {
	Seq     uint64          `json:"seq,omitempty"`
	Subject string          `json:"subject,omitempty"`
	Time    *time.Time      `json:"time,omitempty"`
	Headers nats.Header     `json:"headers,omitempty"`
	Body    json.RawMessage `json:"body"`
	id      string          // the document id its body names
}

func newShown(subject string, h nats.Header, body []byte) shown {
	var b struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &b)
	return shown{Subject: subject, Headers: h, Body: body, id: b.ID}
}

// runShow finds the outcomes of documents, on the output stream or in a
// file of records, and says what winnow did with each: an operator's
// answer to "where did this line go?".
func runShow(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath, apply := remoteFlags(fs)
	var since sinceFlag
	fs.Var(&since, "since", "read only the outputs stored since `WHEN`: a duration back from now (6h, 2d) or a time (2026-12-06T15:04:05Z, 2026-12-06; UTC where no zone is given); default: the whole stream")
	subject := fs.String("subject", "", "read only the outputs on `SUBJECT` (wildcards allowed: docs.*.site-1)")
	asJSON := fs.Bool("json", false, "print each outcome as a JSON line (seq, subject, time, headers, body) instead of explaining it")
	records := fs.String("records", "", "explain the records and dead letters of JSON-lines `FILE` (- for stdin), as winnow clean writes them, instead of reading the stream; every one when no ID is given")
	follow := fs.Bool("follow", false, "then wait for new outputs and show each as it is stored, until interrupted (Ctrl-C); without IDs, only outputs stored from now on unless --since says otherwise")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow show [flags] ID…\n       winnow show --subject SUBJECT [flags]\n       winnow show --follow [--subject SUBJECT] [flags]\n\nFinds each ID's outcomes on the output stream (or, without IDs, every output\non SUBJECT, e.g. 'docs.dlq.>') and says what winnow did: the outcome, and for a\nrecord every removed block with its reason and evidence (what it repeats, how\nsimilar), its flags, a duplicate's original, a rejection's rule, a dead\nletter's reason. It reads the stream from the start (or --since) and changes\nnothing; --follow goes on with the outputs stored later, as they come. Exit 1\nwhen an ID has no outcome.\n\n")
		fs.PrintDefaults()
	}
	ids, code, done := parseArgs(fs, args, -1) // flags may follow the ids
	if done {
		return code
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // the body as stored: a '<' stays one byte
	seen := make([]bool, len(ids))
	emit := func(s shown) error {
		for i, id := range ids {
			seen[i] = seen[i] || s.matches(id)
		}
		if *asJSON {
			if !json.Valid(s.Body) { // not winnow's: an operator's message on its subjects
				s.Body, _ = json.Marshal(string(s.Body))
			}
			return enc.Encode(s)
		}
		explain(w, s)
		return nil
	}
	var err error
	switch {
	case *records != "" && (since.given() || *subject != "" || *follow):
		return fail(stderr, "winnow show", errors.New("--since, --subject and --follow choose what to read of the stream, not of --records"))
	case *records != "":
		var found []shown
		if found, err = recordsOf(*records, stdin, ids); err == nil {
			for _, s := range found {
				if err = emit(s); err != nil {
					break
				}
			}
		}
	case len(ids) == 0 && *subject == "" && !*follow:
		fs.Usage()
		return exitFatal
	default:
		var cfg Config
		if cfg, err = remoteConfig(*cfgPath, apply); err != nil {
			return fail(stderr, "winnow show", err)
		}
		var nc *nats.Conn
		if nc, err = connect(cfg.NATS.URL, cfg.NATS, zap.NewNop()); err != nil {
			return fail(stderr, "winnow show", err)
		}
		defer nc.Close()
		var out outputStream
		if out, err = openOutputStream(ctx, nc, cfg.Worker); err != nil {
			return fail(stderr, "winnow show", err)
		}
		// --follow without ids starts now, unless --since says otherwise:
		// every output on a subject, or all of them, is too many to read
		// first.
		if !*follow || len(ids) > 0 || since.given() {
			err = out.read(ctx, ids, *subject, since.from(time.Now()), stderr, emit)
		}
		if err == nil && *follow {
			if err = w.Flush(); err == nil {
				err = out.follow(ctx, ids, *subject, stderr, func(s shown) error {
					if err := emit(s); err != nil {
						return err
					}
					return w.Flush()
				})
			}
		}
	}
	if err != nil {
		return fail(stderr, "winnow show", err)
	}
	code = exitOK
	for i, id := range ids {
		if !seen[i] {
			where := "on the output stream"
			if *records != "" {
				where = "in " + *records
			}
			fmt.Fprintf(stderr, "winnow show: %q: no outcome %s\n", id, where)
			code = exitFatal
		}
	}
	return code
}

// outputStream is the output stream as `winnow show` found it: its last
// sequence then is where the read of what is stored ends and --follow
// begins.
type outputStream struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	st   jetstream.Stream
	name string
	last uint64
}

func openOutputStream(ctx context.Context, nc *nats.Conn, wc worker.Config) (outputStream, error) {
	o := outputStream{nc: nc, name: wc.OutputStream}
	var err error
	if o.js, err = worker.NewJetStream(nc, wc.JetStreamDomain); err != nil {
		return o, err
	}
	if o.st, err = o.js.Stream(ctx, wc.OutputStream); err != nil {
		return o, fmt.Errorf("output stream %s: %w", wc.OutputStream, err)
	}
	info, err := o.st.Info(ctx)
	if err != nil {
		return o, fmt.Errorf("output stream %s: %w", wc.OutputStream, err)
	}
	o.last = info.State.LastSeq
	return o, nil
}

// shownOf is an output message as shown, and whether it is one: a part of
// a dead letter's input is not (its dead letter says how many parts).
func shownOf(m jetstream.Msg, ids []string) (shown, bool) {
	if m.Headers().Get(worker.HeaderPartOf) != "" {
		return shown{}, false
	}
	s := newShown(m.Subject(), m.Headers(), m.Data())
	if md, err := m.Metadata(); err == nil {
		s.Seq, s.Time = md.Sequence.Stream, &md.Timestamp
	}
	return s, len(ids) == 0 || slices.ContainsFunc(ids, s.matches)
}

// read reads the output stream up to its last sequence (from from, on
// subject when set) and passes on the outputs of the documents ids name,
// or every output read when ids is empty.
func (o outputStream) read(ctx context.Context, ids []string, subject string, from time.Time, stderr io.Writer, emit func(shown) error) error {
	cfg := jetstream.OrderedConsumerConfig{}
	if subject != "" {
		cfg.FilterSubjects = []string{subject}
	}
	if !from.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &from
	}
	progress := newReadProgress(stderr, "winnow show", o.last)
	err := worker.ReadStream(ctx, o.js, o.st, cfg, o.last, 30*time.Second, func(m jetstream.Msg) error {
		progress.at(m)
		if s, ok := shownOf(m, ids); ok {
			return emit(s) // printed at once: nothing holds on to the message
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("output stream %s: %w", o.name, err)
	}
	return nil
}

// follow passes on each output stored after the read's last sequence (on
// subject when set; of ids when any) as it comes, until ctx ends. Its
// ordered consumer is made again after a gap (a server restarting, the
// connection lost and back, the consumer deleted), from the message after
// the last it gave; what goes wrong meanwhile is said on stderr, once.
func (o outputStream) follow(ctx context.Context, ids []string, subject string, stderr io.Writer, emit func(shown) error) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: o.last + 1}
	if subject != "" {
		cfg.FilterSubjects = []string{subject}
	}
	var c jetstream.Consumer
	for deadline := time.Now().Add(30 * time.Second); ; {
		var err error
		if c, err = o.st.OrderedConsumer(ctx, cfg); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("output stream %s: following it: %w", o.name, err)
		}
		time.Sleep(time.Second)
	}
	// nats.go calls both handlers on its own goroutines; what they pass
	// is printed here, one at a time.
	msgs, problems := make(chan jetstream.Msg), make(chan error, 1)
	cc, err := c.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		select {
		case problems <- err:
		default: // one unsaid already: enough
		}
	}))
	if err != nil {
		return fmt.Errorf("output stream %s: following it: %w", o.name, err)
	}
	// Not waited for: nats.go's ordered consumer holds its lock while it
	// tries to make itself again (for ever, by default, backing off to
	// 10 s between tries), and Stop takes that lock, so with the stream
	// gone a Ctrl-C waited for the next try, up to 10 s.
	defer func() { go cc.Stop() }()
	on := ""
	if subject != "" {
		on = " on " + plain(subject)
	}
	fmt.Fprintf(stderr, "winnow show: following %s%s after sequence %d; Ctrl-C ends\n", o.name, on, o.last)
	said := ""
	for {
		select {
		case <-ctx.Done():
			return nil // interrupted: how --follow ends
		case err := <-problems:
			if errors.Is(err, jetstream.ErrConnectionClosed) { // for good: the consumer has stopped
				return fmt.Errorf("output stream %s: following it: %w", o.name, cmp.Or(o.nc.LastError(), err))
			}
			if err.Error() != said {
				said = err.Error()
				fmt.Fprintf(stderr, "winnow show: following %s: %v; trying again\n", o.name, err)
			}
		case m := <-msgs:
			said = ""
			if s, ok := shownOf(m, ids); ok {
				if err := emit(s); err != nil {
					return err
				}
			}
		}
	}
}

// recordsOf reads the records and dead letters of a JSON-lines file (-:
// in) and returns those of ids, or all of them when ids is empty.
func recordsOf(path string, in io.Reader, ids []string) ([]shown, error) {
	in, done, err := openInput(path, in) // gzipped or not
	if err != nil {
		return nil, err
	}
	defer done()
	var found []shown
	br := bufio.NewReaderSize(in, 1<<20)
	for n := 1; ; n++ {
		l, err := readLine(br, nil)
		if l = trimEOL(l); len(l) > 0 {
			if !json.Valid(l) {
				return nil, fmt.Errorf("%s:%d: not a JSON record", path, n)
			}
			s := newShown("", nil, slices.Clone(l))
			if len(ids) == 0 || slices.ContainsFunc(ids, s.matches) {
				found = append(found, s)
			}
		}
		if err == io.EOF {
			return found, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// outputBody is what a record or a dead letter says of itself: the fields
// of both winnow.v1.record and winnow.v1.dead_letter.
type outputBody struct {
	schemas.Record
	Reason    schemas.Reason `json:"reason"`
	Error     string         `json:"error"`
	Subject   string         `json:"subject"`
	Line      int            `json:"line"`
	Size      int            `json:"size"`
	Truncated bool           `json:"truncated"`
	Parts     int            `json:"parts"`
	Encoding  string         `json:"encoding"`
	Data      string         `json:"data"`
	// ContentType (the embedded record's) and ContentEncoding: how the
	// dead letter's input said its bytes read.
	ContentEncoding string `json:"content_encoding"`
}

func (s shown) body() outputBody {
	var b outputBody
	_ = json.Unmarshal(s.Body, &b)
	return b
}

// matches reports whether s is an outcome of the document id: its record
// or dead letter names id, or its Nats-Msg-Id is id's (a dead letter of
// an input without a readable id is found by its dlq: id).
func (s shown) matches(id string) bool {
	msgID := s.Headers.Get(nats.MsgIdHdr)
	return s.id == id || (msgID != "" && (msgID == id || msgID == schemas.MsgID(id)))
}

// explain writes what winnow did with one document, for a reader.
func explain(w io.Writer, s shown) {
	b := s.body()
	outcome := s.Headers.Get(worker.HeaderOutcome)
	switch {
	case outcome != "":
	case b.Schema == schemas.DeadLetterV1:
		outcome = "dead_letter"
	case b.Rejected != nil:
		outcome = "rejected"
	case b.DuplicateOf != "":
		outcome = "duplicate"
	default:
		outcome = "clean"
	}
	id := b.ID
	if id == "" {
		id = s.Headers.Get(nats.MsgIdHdr)
	}
	if id == "" {
		id = "(no id)"
	}
	fmt.Fprintf(w, "%s: %s", plain(id), outcome)
	if s.Subject != "" {
		fmt.Fprintf(w, " on %s", plain(s.Subject))
	}
	if s.Time != nil {
		fmt.Fprintf(w, " (seq %d, stored %s)", s.Seq, s.Time.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if of := s.Headers.Get(worker.HeaderRedriveOf); of != "" {
		fmt.Fprintf(w, "  redriven: answers dead letter %s\n", plain(of))
	}
	if outcome == "dead_letter" {
		fmt.Fprintf(w, "  reason %s: %s\n", plain(b.Reason), plain(b.Error))
		from := b.Subject
		if b.Line > 0 {
			from = fmt.Sprintf("line %d", b.Line)
		}
		cut := ""
		switch {
		case b.Parts > 1:
			cut = fmt.Sprintf(", the first of %d parts, the others stored before it", b.Parts)
		case b.Truncated:
			cut = ", cut"
		}
		fmt.Fprintf(w, "  input: %d bytes from %s (%s%s): %s\n", b.Size, plain(from), plain(b.Encoding), cut, quote(b.Data, 160))
		if b.ContentType != "" {
			fmt.Fprintf(w, "  sent as Content-Type: %s\n", plain(b.ContentType))
		}
		if b.ContentEncoding != "" {
			fmt.Fprintf(w, "  sent as Content-Encoding: %s\n", plain(b.ContentEncoding))
		}
		if text, ok := readsAs(b); ok {
			fmt.Fprintf(w, "  reads as: %s\n", quote(text, 160))
		}
		return
	}
	st := b.Stats
	fmt.Fprintf(w, "  %d lines in, %d kept; %d bytes in, %d out\n", st.LinesIn, st.LinesOut, st.BytesIn, st.BytesOut)
	if b.DuplicateOf != "" {
		fmt.Fprintf(w, "  duplicate of %s (rule %s, similarity %.2f)\n", plain(b.DuplicateOf), plain(b.DuplicateRule), b.DuplicateSimilarity)
	}
	if r := b.Rejected; r != nil {
		fmt.Fprintf(w, "  rejected by %s (score %.2f): %s\n", plain(r.Rule), r.Score, plain(r.Evidence))
	}
	for _, f := range b.Flags {
		fmt.Fprintf(w, "  flagged %s (score %.2f)", plain(f.Rule), f.Score)
		if f.Evidence != "" {
			fmt.Fprintf(w, ": %s", plain(f.Evidence))
		}
		fmt.Fprintln(w)
	}
	switch {
	case len(b.Removed)+b.RemovedOmitted == 0:
		fmt.Fprintln(w, "  nothing removed")
		return
	case b.RemovedOmitted > 0:
		fmt.Fprintf(w, "  removed %d (%s), %d listed:\n", len(b.Removed)+b.RemovedOmitted, byReason(st.RemovedByReason), len(b.Removed))
		defer fmt.Fprintf(w, "    … %d more, not listed (past pipeline.max_removals, or what max_payload or max_msg_size holds)\n", b.RemovedOmitted)
	default:
		fmt.Fprintf(w, "  removed %d:\n", len(b.Removed))
	}
	for _, r := range b.Removed {
		fmt.Fprintf(w, "    @%d+%d %s", r.Offset, r.Length, plain(r.Reason))
		if r.Kind != "" {
			fmt.Fprintf(w, " (%s)", plain(r.Kind))
		}
		switch {
		case r.RefDoc != "" && r.RefOffset != nil:
			fmt.Fprintf(w, ": repeats @%d+%d of %s", *r.RefOffset, deref(r.RefLength), plain(r.RefDoc))
		case r.RefDoc != "":
			fmt.Fprintf(w, ": repeats %s", plain(r.RefDoc))
		case r.RefOffset != nil:
			fmt.Fprintf(w, ": repeats @%d+%d", *r.RefOffset, deref(r.RefLength))
		}
		if r.Similarity > 0 {
			fmt.Fprintf(w, ", similarity %.2f", r.Similarity)
		}
		if r.Action != "" {
			fmt.Fprintf(w, ", %s", plain(r.Action))
		}
		if r.Score > 0 {
			fmt.Fprintf(w, ", score %.2f", r.Score)
		}
		if r.Evidence != "" {
			fmt.Fprintf(w, ": %s", plain(r.Evidence))
		}
		fmt.Fprintf(w, "\n      %s\n", quote(r.Text, 160))
	}
}

// byReason lists removal counts by reason, the most first:
// "exact_repeat 249999, pii.email 1".
func byReason(m map[string]int) string {
	reasons := slices.Collect(maps.Keys(m))
	slices.SortFunc(reasons, func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) })
	var parts []string
	for _, r := range reasons {
		parts = append(parts, fmt.Sprintf("%s %d", plain(r), m[r]))
	}
	return strings.Join(parts, ", ")
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// plain returns s as it is when every character of it prints, else quoted
// with Go's escapes: ids, subjects, headers and evidence come from inputs,
// and printed as they are a control character in one would reach the
// operator's terminal (an escape sequence; a line break that starts what
// reads as another outcome).
func plain[S ~string](s S) string {
	for _, r := range string(s) {
		if !strconv.IsPrint(r) {
			return strconv.Quote(string(s))
		}
	}
	if !utf8.ValidString(string(s)) {
		return strconv.Quote(string(s))
	}
	return string(s)
}

// quote returns s quoted, cut to about n bytes at a rune boundary.
func quote(s string, n int) string {
	if len(s) <= n {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", schemas.CutUTF8(s, n), len(s))
}

// readsAs returns the text a dead letter's bytes say once decompressed and
// decoded as its input's headers said (or a page's <meta charset>), when
// that differs from its data and reads as UTF-8; a body that does not (the
// reason it was dead-lettered, or cut short) has none.
func readsAs(b outputBody) (string, bool) {
	dl := schemas.DeadLetter{Encoding: b.Encoding, Data: b.Data}
	data, err := dl.Bytes()
	if err != nil {
		return "", false
	}
	h := nats.Header{}
	h.Set("Content-Type", b.ContentType)
	h.Set("Content-Encoding", b.ContentEncoding)
	text, err := worker.ReadBody(data, h, 1<<20)
	if err != nil || !utf8.Valid(text) || string(text) == b.Data {
		return "", false
	}
	return string(text), true
}
