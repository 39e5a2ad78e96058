package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
	gojson "github.com/goccy/go-json"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
	"go.uber.org/zap"

	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/schemas"
)

// message is what the handler needs of an input, from JetStream or core
// NATS alike.
type message struct {
	subject   string
	data      []byte
	header    nats.Header
	delivered int       // 1 on first delivery
	seq       uint64    // the input's stream sequence, 0 when unknown (core NATS)
	settled   bool      // set once its outcome is durable (see copies)
	published time.Time // zero when unknown
	dlqID     string    // its dead letter's Nats-Msg-Id (deadLetterID); empty in core NATS

	ack  func() error
	nak  func(delay time.Duration) error
	term func(reason string) error
}

// errPermanent marks a publish failure that retrying cannot fix.
var errPermanent = errors.New("permanent")

// errPanic marks a pipeline panic, recovered and retried as transient.
var errPanic = errors.New("worker: pipeline panic")

// handle decides and carries out the one outcome of a message: publish the
// record then ack; dead-letter then term for poison; nak with backoff for
// transient faults (dead-letter once MaxDeliver is reached).
func (w *Worker) handle(ctx context.Context, pipes chan *pipeline.Pipeline, pend *pipeline.Pending, m *message) {
	start := time.Now()
	w.metrics.inFlightAdd(1)
	defer w.metrics.inFlightAdd(-1)
	w.metrics.received(len(m.data), m.delivered)

	if m.delivered > w.cfg.MaxDeliver {
		id := headerID(m.header)
		if id == "" { // the dead letter names its document when it can
			if doc, err := decodeInput(m.data, m.header, int(w.cfg.MaxDocBytes)); err == nil {
				id = doc.ID
			}
		}
		w.deadLetter(ctx, m, schemas.ReasonMaxDeliveries, fmt.Sprintf("delivered %d times without an outcome (max_deliver %d)", m.delivered, w.cfg.MaxDeliver), id)
		return
	}
	doc, err := decodeInput(m.data, m.header, int(w.cfg.MaxDocBytes))
	if err != nil {
		var ie *schemas.InputError
		if errors.As(err, &ie) {
			w.deadLetter(ctx, m, ie.Reason, ie.Detail, ie.ID)
			return
		}
		w.transient(ctx, m, "decode", err, "")
		return
	}
	outcome, rec, err := pipeline.Clean, schemas.Record{}, error(nil)
	if w.cfg.PassThrough {
		rec = schemas.Record{Schema: schemas.RecordV1, ID: doc.ID, Text: doc.Text, Removed: []schemas.Removal{}, Flags: []schemas.Flag{}}
	} else {
		handed, perr := w.untilAnswered(m, func() error {
			p := <-pipes
			outcome, rec, err = process(p, doc)
			p.Detach(pend) // nothing to commit after an error
			pipes <- p
			return err
		})
		if handed {
			return
		}
		err = perr
	}
	if err != nil {
		cause := "state" // the shared dedupe state could not be reached
		if errors.Is(err, errPanic) {
			cause = "panic"
		}
		w.transient(ctx, m, cause, err, doc.ID)
		return
	}
	h := nats.Header{}
	h.Set(HeaderOutcome, outcome.String())
	h.Set(HeaderSubject, m.subject)
	w.carrier.carry(h, m.header)
	markRedriven(h, m)
	msgID := schemas.MsgID(doc.ID)
	h.Set(nats.MsgIdHdr, msgID) // as the publishers set it, so recordRoom counts it
	capped := rec.RemovedOmitted
	body, err := encodeWithin(&rec, w.recordRoom(h))
	var big *recordTooLarge
	switch {
	case errors.As(err, &big):
		_, big.limit = w.sizeLimit()
		w.deadLetter(ctx, m, schemas.ReasonTooLarge, big.Error(), doc.ID)
		return
	case err != nil:
		w.transient(ctx, m, "encode", err, doc.ID)
		return
	}
	tries, dup := 0, false // an outage's probe may send the record again (see untilAnswered)
	send := func() (err error) {
		tries++
		dup, err = w.pub.publish(ctx, w.outputSubject(outcome, m.subject), msgID, body, h)
		return err
	}
	handed, err := w.untilAnswered(m, send)
	if errors.Is(err, errOverMaxMsgSize) && w.fitToStream(ctx, &rec, &body, h) {
		handed, err = w.untilAnswered(m, send)
	}
	switch {
	case handed:
		return
	case errors.Is(err, errPermanent):
		w.deadLetter(ctx, m, schemas.ReasonTooLarge, "record not accepted by the server: "+err.Error(), doc.ID)
		return
	case err != nil:
		w.transient(ctx, m, "publish", err, doc.ID)
		return
	}
	// The record is durable: only now may the document's blocks and sketch
	// enter the cross-document memory, so a redelivery after a crash before
	// this point is judged as the first time, and one after it finds its own
	// commit and is not taken for a duplicate of itself.
	pend.Commit()
	if dup {
		w.duplicateRecord(m, doc.ID, tries)
	}
	m.settled = true
	if err := m.ack(); err != nil {
		// The record is durable; a redelivery will find it a duplicate.
		w.log.Warn("ack failed", zap.String("id", doc.ID), zap.Error(err))
	}
	w.metrics.done(outcome.String(), rec, start, m.published)
	bySize := rec.RemovedOmitted - capped
	_, limit := w.sizeLimit()
	w.metrics.omittedRemovals(capped, bySize, limit)
	if bySize > 0 && w.outMaxMsg.Load() > 0 {
		w.rereadOutputLimit() // one raised lets records list more
	}
	if m.header.Get(HeaderRedriveOf) != "" {
		w.metrics.redrivenDone(outcome.String())
	}
	if w.log.Core().Enabled(zap.DebugLevel) {
		w.log.Debug("document", zap.String("id", doc.ID), zap.String("outcome", outcome.String()),
			zap.Int("removed", len(rec.Removed)), zap.String("text", rec.Text))
	}
}

// recordRoom is the most bytes a record published with headers h (its
// Nats-Msg-Id among them) may take: sizeLimit's less the headers, which
// both limits count with the body. 0 is no limit.
func (w *Worker) recordRoom(h nats.Header) int64 {
	limit, _ := w.sizeLimit()
	if limit <= 0 {
		return 0
	}
	return max(limit-int64(headerBytes(h)), 1)
}

// sizeLimit is the most bytes a message to the output stream may take and
// the name of the limit that says so: the server's max_payload, or the
// output stream's max_msg_size when smaller (as last read, see
// fitToStream).
func (w *Worker) sizeLimit() (int64, string) {
	mp := w.nc.MaxPayload()
	if ms := w.outMaxMsg.Load(); ms > 0 && (mp <= 0 || ms < mp) {
		return ms, omittedMaxMsgSize
	}
	return mp, omittedMaxPayload
}

// readOutputLimit notes the output stream's max_msg_size (0 for none) for
// recordRoom; it warns when the stream does not answer.
func (w *Worker) readOutputLimit(ctx context.Context) error {
	w.outLimitAt.Store(time.Now().UnixNano())
	st, err := w.js.Stream(ctx, w.cfg.OutputStream)
	if err != nil {
		w.log.Warn("output stream's max_msg_size not read", zap.String("stream", w.cfg.OutputStream), zap.Error(err))
		return err
	}
	w.outMaxMsg.Store(int64(max(st.CachedInfo().Config.MaxMsgSize, 0)))
	return nil
}

// outputLimitEvery is how often a record cut short by the output stream's
// max_msg_size has the limit read again, in the background, so one an
// operator raised or removed lets records list more.
const outputLimitEvery = time.Minute

// rereadOutputLimit reads the output stream's max_msg_size again in the
// background when the last read is outputLimitEvery old.
func (w *Worker) rereadOutputLimit() {
	last := w.outLimitAt.Load()
	if time.Since(time.Unix(0, last)) < outputLimitEvery || !w.outLimitAt.CompareAndSwap(last, time.Now().UnixNano()) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.PublishTimeout)
		defer cancel()
		_ = w.readOutputLimit(ctx) // it warns
	}()
}

// fitToStream lists fewer of rec's removals, re-encoding *body, after the
// output stream refused the record as over its max_msg_size: an operator
// may set or lower it while the worker runs, and the record is fitted to
// the limit read now. It reports whether there is a new body to send: not
// when the body fits the limit read (the refusal is not the record's
// size), nor when the record is too large with no removal listed (the
// caller dead-letters it).
func (w *Worker) fitToStream(ctx context.Context, rec *schemas.Record, body *[]byte, h nats.Header) bool {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout)
	defer cancel()
	if w.readOutputLimit(ctx) != nil {
		return false
	}
	room := w.recordRoom(h)
	if room <= 0 || int64(len(*body)) <= room {
		return false
	}
	b, err := encodeWithin(rec, room)
	if err != nil {
		return false
	}
	*body = b
	return true
}

// recordTooLarge is a record over its message's room with no removal
// listed: its text and fields alone (a compressed input's text, or one
// that fills max_payload and gains the record's fields).
type recordTooLarge struct {
	size, room int64
	removals   int
	limit      string // the limit that set room, "max_payload" (the default) or "max_msg_size"
}

func (e *recordTooLarge) Error() string {
	listed, limit := "", "the server's max_payload"
	if e.removals > 0 {
		listed = fmt.Sprintf(" with none of its %d removals listed", e.removals)
	}
	if e.limit == omittedMaxMsgSize {
		limit = "the output stream's max_msg_size"
	}
	return fmt.Sprintf("its record would be %d bytes%s, over the %d its message may take (%s less its headers)",
		e.size, listed, e.room, limit)
}

// encodeWithin encodes rec as `winnow clean` writes records. With room > 0
// it lists no more of its removals than a body of room bytes holds (an
// example of every reason and repeated block first, see
// schemas.ListingOrder), and counts the rest in rec.RemovedOmitted; a record
// over room with none listed is a *recordTooLarge. Such a record is not
// encoded whole first: a page of many tiny repeats listed in full made a
// 30 MB record, whose encoding alone allocated 184 MB.
func encodeWithin(rec *schemas.Record, room int64) ([]byte, error) {
	if room <= 0 || recordAtLeast(*rec) <= room {
		body, err := encodeRecord(rec)
		if err != nil || room <= 0 || int64(len(body)) <= room {
			return body, err
		}
	}
	all, omitted := rec.Removed, rec.RemovedOmitted
	rec.Removed, rec.RemovedOmitted = []schemas.Removal{}, 0
	base, err := encodeRecord(rec)
	if err != nil {
		return nil, err
	}
	// size is the record's with listed removals taking elems bytes: each
	// adds its encoding and, after the first, a comma; those omitted add
	// the removed_omitted field.
	size := func(listed int, elems int64) int64 {
		n := int64(len(base)) + elems
		if o := omitted + len(all) - listed; o > 0 {
			n += int64(len(`,"removed_omitted":`) + len(strconv.Itoa(o)))
		}
		return n
	}
	if least := size(0, 0); least > room {
		return nil, &recordTooLarge{size: least, room: room, removals: omitted + len(all)}
	}
	// The removals listed are the most of schemas.ListingOrder's first that
	// fit, in input order.
	order := schemas.ListingOrder(len(all), func(i int) schemas.RemovalGroup { return schemas.GroupOf(all[i]) })
	n, elems := 0, int64(0)
	for i, j := range order {
		b, err := encodeRecord(&all[j])
		if err != nil {
			return nil, err
		}
		e := elems + int64(len(b)+min(i, 1))
		if size(i+1, e) > room {
			break
		}
		n, elems = i+1, e
	}
	keep := order[:n]
	slices.Sort(keep)
	rec.Removed = make([]schemas.Removal, 0, n)
	for _, j := range keep {
		rec.Removed = append(rec.Removed, all[j])
	}
	rec.RemovedOmitted = omitted + len(all) - n
	body, err := encodeRecord(rec)
	if err == nil && int64(len(body)) != size(n, elems) {
		err = fmt.Errorf("worker: record of %d bytes, where %d were measured", len(body), size(n, elems))
	}
	return body, err
}

// encodeRecord encodes v as `winnow clean` writes records (and dead
// letters, see encodeDeadLetter).
func encodeRecord(v any) ([]byte, error) {
	return gojson.MarshalWithOption(v, gojson.DisableHTMLEscape())
}

// recordAtLeast is a lower bound on the size of rec's JSON: its text and
// each removal's text and reason with the fewest bytes their keys and
// offsets take.
func recordAtLeast(rec schemas.Record) int64 {
	const perRemoval = len(`{"text":"","reason":"","offset":0,"length":0},`)
	n := int64(len(rec.Text))
	for _, r := range rec.Removed {
		n += int64(perRemoval + len(r.Text) + len(r.Reason))
	}
	return n
}

// duplicateRecord counts a record the output stream did not store because
// it held one of the same Nats-Msg-Id, the document id, within its
// duplicate window. On an input's first delivery and first attempt that
// record is not this input's own: another input of the document id wrote
// it, and this one's record (another version of the document, maybe) is
// not in the stream.
func (w *Worker) duplicateRecord(m *message, id string, tries int) {
	if tries > 1 || m.delivered > 1 {
		w.metrics.duplicateAck(dupRetry)
		return
	}
	w.metrics.duplicateAck(dupSameID)
	w.log.Info("record not stored: the output stream holds a record of this document id from another input",
		zap.String("id", id), zap.String("subject", m.subject), zap.Duration("duplicate_window", w.cfg.DuplicateWindow))
}

// process runs the pipeline, turning a panic into an error.
func process(p *pipeline.Pipeline, doc schemas.Document) (o pipeline.Outcome, rec schemas.Record, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	return p.Process(doc)
}

// transient naks with backoff, or dead-letters once MaxDeliver is reached.
func (w *Worker) transient(ctx context.Context, m *message, cause string, err error, id string) {
	if m.delivered >= w.cfg.MaxDeliver {
		w.deadLetter(ctx, m, schemas.ReasonProcessingFailed,
			fmt.Sprintf("%s failed on delivery %d of %d: %v", cause, m.delivered, w.cfg.MaxDeliver, err), id)
		return
	}
	delay := w.cfg.backoff(m.delivered)
	w.log.Warn("transient failure, will retry", zap.String("cause", cause), zap.String("id", id),
		zap.Int("delivery", m.delivered), zap.Duration("delay", delay), zap.Error(err))
	w.metrics.nak(cause)
	if nerr := m.nak(delay); nerr != nil {
		w.log.Warn("nak failed; the message will be redelivered after ack_wait", zap.Error(nerr))
	}
}

// deadLetter publishes the input with its reason to the dead-letter subject,
// then terminates it. The dead letter holds every byte of the input, one
// over max_doc_bytes too (so `winnow redrive` can send it round again once
// the limit is raised): in one message when it fits the output's size
// limit, else in parts (see publishDeadLetter). Only a limit too small for
// parts of minPartBytes has it keep the input's first schemas.KeepBytes
// (less, down to minKeepBytes, while the server still refuses). If the
// dead letter cannot be published the input is nak'ed instead: it is
// never dropped.
func (w *Worker) deadLetter(ctx context.Context, m *message, reason schemas.Reason, detail, id string) {
	if m.dlqID == "" { // core NATS: no stream position
		m.dlqID = "dlq:" + nuid.Next()
	}
	parts := 0
	publish := func() (err error) {
		parts, err = w.publishDeadLetter(ctx, m, reason, detail, id)
		return err
	}
	handed, err := w.untilAnswered(m, publish)
	if !handed && errors.Is(err, errOverMaxMsgSize) {
		// The stream's max_msg_size was set or lowered while the worker
		// ran: parts sized to the limit read now.
		rctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout)
		if w.readOutputLimit(rctx) == nil {
			handed, err = w.untilAnswered(m, publish)
		}
		cancel()
	}
	if handed {
		return
	}
	for keep := schemas.KeepBytes; errors.Is(err, errPermanent) && keep >= minKeepBytes; keep /= 4 {
		if keep >= len(m.data) {
			continue
		}
		w.log.Warn("dead letter too large for the server even in parts; keeping none of the input's headers and its first bytes", zap.String("id", id),
			zap.Int("bytes", len(m.data)), zap.Int("kept", keep), zap.Error(err))
		parts, err = 1, w.publishCut(ctx, m, reason, detail, id, keep)
	}
	if err != nil {
		w.log.Error("dead letter not published; will retry", zap.String("reason", string(reason)), zap.Error(err))
		w.metrics.nak("dead_letter_publish")
		_ = m.nak(w.cfg.backoff(m.delivered))
		return
	}
	m.settled = true
	if err := m.term(string(reason)); err != nil {
		w.log.Warn("term failed", zap.Error(err))
	}
	// dead_letter_id is the dead letter's Nats-Msg-Id, by which `winnow
	// show` finds one whose input had no readable id.
	fields := []zap.Field{zap.String("reason", string(reason)), zap.String("id", id),
		zap.String("dead_letter_id", m.dlqID), zap.String("subject", m.subject), zap.Int("bytes", len(m.data)),
		zap.String("error", truncate(detail, 200))}
	if parts > 1 {
		fields = append(fields, zap.Int("parts", parts))
	}
	w.log.Info("dead letter", fields...)
	w.metrics.deadLetter(string(reason))
	if m.header.Get(HeaderRedriveOf) != "" {
		w.metrics.redrivenDone("dead_letter")
	}
}

// minKeepBytes is the least of an input a dead letter keeps when the server
// refuses larger ones.
const minKeepBytes = 1 << 10

// markRedriven marks an output made from a redriven input with the dead
// letter it answers (see Redrive).
func markRedriven(h nats.Header, m *message) {
	if of := m.header.Get(HeaderRedriveOf); of != "" {
		h.Set(HeaderRedriveOf, of)
	}
}

// suffix returns the part of an input subject after the input prefix,
// with "_" for a token that would make an output subject a wildcard or
// invalid (an empty one): a server that is not pedantic stores a publish
// to docs.raw.* as it is, and docs.clean.* is then no subject a consumer
// can ask for alone (Winnow-Subject keeps the input's). A suffix over
// maxSuffixBytes is shortened (see boundSuffix).
func (w *Worker) suffix(subject string) string {
	s := strings.TrimPrefix(subject, w.cfg.Subjects.InputPrefix()+".")
	if s == subject || s == "" {
		return "_"
	}
	if LiteralSubject(s) {
		return boundSuffix(s) // the common case
	}
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		if t == "" || t == "*" || t == ">" || strings.ContainsAny(t, " \t\r\n") {
			tokens[i] = "_"
		}
	}
	return boundSuffix(strings.Join(tokens, "."))
}

// maxSuffixBytes bounds the part of an outcome's subject taken from its
// input's. A server refuses a protocol line over its max_control_line (4
// KiB by default), and the client whose publish it refused has its
// connection closed for good (nats.go gives up on it): an input whose
// subject only just fitted, published again on the longer docs.clean.
// prefix, would take down every worker that pulled it.
const maxSuffixBytes = 1024

// boundSuffix returns s when it is at most maxSuffixBytes long, else its
// whole tokens that fit and a last token of 16 hex digits, the xxhash of
// s: the same input subject always gives the same outcome subject.
func boundSuffix(s string) string {
	if len(s) <= maxSuffixBytes {
		return s
	}
	sum := fmt.Sprintf("%016x", xxhash.Sum64String(s))
	keep := s[:maxSuffixBytes-len(sum)]
	i := strings.LastIndexByte(keep, '.')
	if i < 0 {
		return sum
	}
	return keep[:i+1] + sum
}

func (w *Worker) outputSubject(o pipeline.Outcome, in string) string {
	prefix := w.cfg.Subjects.Clean
	switch o {
	case pipeline.Duplicate:
		prefix = w.cfg.Subjects.Dup
	case pipeline.Rejected:
		prefix = w.cfg.Subjects.Rejected
	}
	return prefix + "." + w.suffix(in)
}

func (w *Worker) dlqSubject(in string) string { return w.cfg.Subjects.DLQ + "." + w.suffix(in) }

// truncate returns s, or its first n bytes and an ellipsis when it is
// longer, cut before a character n would split: a header value cut inside
// one would not be UTF-8.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return schemas.CutUTF8(s, n) + "…"
}

// deadLetterID is the Nats-Msg-Id of the dead letter of the input stored
// at seq in stream at time stored: the same on every redelivery, and not
// the same as a dead letter's of an input stored at that seq before the
// stream was deleted and made again (sequences start again at 1), which
// the output stream would otherwise drop within its duplicate window.
func deadLetterID(stream string, seq uint64, stored time.Time) string {
	return "dlq:" + stream + ":" + strconv.FormatUint(seq, 10) + ":" + strconv.FormatInt(stored.UnixNano(), 36)
}
