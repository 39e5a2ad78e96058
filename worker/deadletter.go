package worker

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/winnow-dev/winnow/schemas"
)

// HeaderPartOf marks a continuation of a dead letter kept in parts with
// the dead letter's Nats-Msg-Id (see publishDeadLetter).
const HeaderPartOf = "Winnow-Part-Of"

// OutcomeDeadLetterPart is the Winnow-Outcome of a continuation: not an
// outcome of its own, but more of its dead letter's input.
const OutcomeDeadLetterPart = "dead_letter_part"

// A dead letter is kept in at most maxDeadLetterParts parts of at least
// minPartBytes of the input each; a size limit that leaves less has the
// input cut instead (see deadLetter).
const (
	minPartBytes       = 1 << 10
	maxDeadLetterParts = 1024
)

// deadLetterOf is m's dead letter holding data, or its first keep bytes
// (truncated).
func deadLetterOf(m *message, reason schemas.Reason, detail, id string, data []byte, keep int) schemas.DeadLetter {
	dl := schemas.NewDeadLetterKeeping(reason, detail, id, data, keep)
	dl.Subject, dl.Size = m.subject, len(m.data)
	// How data reads (charset, compression); a redrive sends them back.
	dl.ContentType, dl.ContentEncoding = m.header.Get("Content-Type"), m.header.Get("Content-Encoding")
	return dl
}

// encodeDeadLetter writes a dead letter as records are written, without
// HTML escaping: a '<' stays one byte instead of six.
func encodeDeadLetter(dl schemas.DeadLetter) ([]byte, error) {
	body, err := encodeRecord(dl)
	if err != nil {
		return nil, fmt.Errorf("encode dead letter: %w", err)
	}
	return body, nil
}

// deadLetterHeader is the header of m's dead letter, with the input's
// headers carry_headers names when carry is set.
func (w *Worker) deadLetterHeader(m *message, reason schemas.Reason, detail string, carry bool) nats.Header {
	h := nats.Header{}
	h.Set(HeaderReason, string(reason))
	h.Set(HeaderError, truncate(detail, 512))
	h.Set(HeaderSubject, m.subject)
	h.Set(HeaderOutcome, "dead_letter")
	if carry {
		w.carrier.carry(h, m.header)
	}
	markRedriven(h, m)
	// A dead letter is about an input message, not a document id (two bad
	// messages may claim one id): its Nats-Msg-Id names the stored message
	// (deadLetterID), the same on every redelivery. Set here, as the
	// publishers set it, so that its size counts.
	h.Set(nats.MsgIdHdr, m.dlqID)
	return h
}

// publishDeadLetter publishes m's dead letter with every byte of its
// input, and reports in how many messages. One message holds it when its
// body and headers fit the output's size limit (sizeLimit), the input's
// carried headers among them if they can be; else it is kept in parts,
// each within the limit: the continuations, parts 2 and on, each holding
// the input's bytes from its offset, then the dead letter itself, part 1,
// with the first bytes. Published last, the dead letter is there only
// when all of its input is, and a redelivery publishes each part again
// under the same Nats-Msg-Id (the input's and the part's bytes), which the
// stream drops. The error wraps errPermanent when the limit leaves no room
// for parts (or the server refuses one: errOverMaxMsgSize when the
// stream's limit is lower than the one read).
func (w *Worker) publishDeadLetter(ctx context.Context, m *message, reason schemas.Reason, detail, id string) (int, error) {
	limit, name := w.sizeLimit()
	var whole []byte // the one-message body, encoded once
	carries := []bool{true}
	if w.carrier.carries(m.header) {
		carries = append(carries, false) // the carried headers may be what leaves no room
	}
	var err error
	for _, carry := range carries {
		h := w.deadLetterHeader(m, reason, detail, carry)
		if limit <= 0 || int64(len(m.data)+headerBytes(h)) <= limit { // a body is at least the bytes it holds
			if whole == nil {
				if whole, err = encodeDeadLetter(deadLetterOf(m, reason, detail, id, m.data, len(m.data))); err != nil {
					return 0, err
				}
			}
			if limit <= 0 || int64(len(whole)+headerBytes(h)) <= limit {
				return 1, w.publishDead(ctx, m, whole, h)
			}
		}
		// Too large for one message: in parts, if the limit leaves room.
		switch ends, room, text := w.planParts(m, reason, detail, id, h, limit); {
		case room < minPartBytes:
			err = fmt.Errorf("%w: a %d-byte input's dead letter: the %s (%d bytes) leaves %d bytes of a part for the input, under %d",
				errPermanent, len(m.data), name, limit, room, minPartBytes)
		case len(ends) > maxDeadLetterParts:
			err = fmt.Errorf("%w: a %d-byte input's dead letter: under the %s (%d bytes) it takes %d parts, over %d",
				errPermanent, len(m.data), name, limit, len(ends), maxDeadLetterParts)
		default:
			return len(ends), w.publishParts(ctx, m, reason, detail, id, h, ends, text)
		}
	}
	return 0, err
}

// planParts returns where the parts of m's dead letter end in its input,
// each part's message (its body and the header h, or a continuation's)
// within limit bytes, the room that leaves for each part's data (written
// as JSON), and whether the parts hold the input as text (valid UTF-8)
// rather than base64; no parts when that room is under minPartBytes.
func (w *Worker) planParts(m *message, reason schemas.Reason, detail, id string, h nats.Header, limit int64) (ends []int, room int, text bool) {
	// The most a part's body and headers take besides its data: every
	// number at its widest.
	n := len(m.data)
	env := deadLetterOf(m, reason, detail, id, nil, 0)
	env.Truncated, env.Part, env.Parts, env.Offset = true, n, n, n
	text = utf8.Valid(m.data)
	if !text {
		env.Encoding = "base64"
	}
	fixed, err := encodeDeadLetter(env)
	if err != nil {
		return nil, 0, text
	}
	widest := partID(m.dlqID, n, n)
	heads := max(headerBytes(h), headerBytes(w.partHeader(m, reason, widest)))
	room = int(limit) - heads - len(fixed)
	switch {
	case room < minPartBytes:
		return nil, room, text
	case text:
		return splitJSONText(m.data, room), room, text
	}
	return splitBase64(n, room), room, text
}

// publishParts publishes m's dead letter in the parts ends gives, as text
// or base64 as planParts cut them (a part of invalid UTF-8 may be valid
// alone; see publishDeadLetter): the continuations in order, then the dead
// letter itself with header h.
func (w *Worker) publishParts(ctx context.Context, m *message, reason schemas.Reason, detail, id string, h nats.Header, ends []int, text bool) error {
	subject := w.dlqSubject(m.subject)
	part := func(k int) ([]byte, error) {
		from := 0
		if k > 0 {
			from = ends[k-1]
		}
		dl := deadLetterOf(m, reason, detail, id, m.data[from:ends[k]], ends[k]-from)
		if !text {
			dl.Encoding, dl.Data = "base64", base64.StdEncoding.EncodeToString(m.data[from:ends[k]])
		}
		dl.Truncated, dl.Part, dl.Parts, dl.Offset = true, k+1, len(ends), from
		return encodeDeadLetter(dl)
	}
	for k := 1; k < len(ends); k++ {
		body, err := part(k)
		if err != nil {
			return err
		}
		pid := partID(m.dlqID, ends[k-1], ends[k])
		if _, err := w.pub.publish(ctx, subject, pid, body, w.partHeader(m, reason, pid)); err != nil {
			return fmt.Errorf("dead letter part %d of %d: %w", k+1, len(ends), err)
		}
	}
	body, err := part(0)
	if err != nil {
		return err
	}
	return w.publishDead(ctx, m, body, h)
}

// publishDead publishes the dead letter of m (whole, its part 1 or its
// cut) under m's dead-letter id; a duplicate is this input's own, from an
// earlier delivery or attempt.
func (w *Worker) publishDead(ctx context.Context, m *message, body []byte, h nats.Header) error {
	dup, err := w.pub.publish(ctx, w.dlqSubject(m.subject), m.dlqID, body, h)
	if dup {
		w.metrics.duplicateAck(dupRetry)
	}
	return err
}

// partHeader is the header of a continuation of m's dead letter whose
// Nats-Msg-Id is pid.
func (w *Worker) partHeader(m *message, reason schemas.Reason, pid string) nats.Header {
	h := nats.Header{}
	h.Set(HeaderReason, string(reason))
	h.Set(HeaderSubject, m.subject)
	h.Set(HeaderOutcome, OutcomeDeadLetterPart)
	h.Set(HeaderPartOf, m.dlqID)
	h.Set(nats.MsgIdHdr, pid)
	return h
}

// partID is the Nats-Msg-Id of the continuation of the dead letter dlqID
// that holds its input's bytes from to end: the same bytes under the same
// id, whatever size limit the parts were cut to.
func partID(dlqID string, from, end int) string {
	return dlqID + ":" + strconv.Itoa(from) + "-" + strconv.Itoa(end)
}

// publishCut publishes m's dead letter keeping only its input's first
// keep bytes, without its carried headers: the last resort, for a size
// limit too small for parts.
func (w *Worker) publishCut(ctx context.Context, m *message, reason schemas.Reason, detail, id string, keep int) error {
	body, err := encodeDeadLetter(deadLetterOf(m, reason, detail, id, m.data, keep))
	if err != nil {
		return err
	}
	return w.publishDead(ctx, m, body, w.deadLetterHeader(m, reason, detail, false))
}

// splitJSONText returns where to end the pieces of the valid UTF-8 text b
// so that each, written as a JSON string by encodeDeadLetter (quotes
// aside), takes at most room bytes: never inside a character.
func splitJSONText(b []byte, room int) []int {
	var ends []int
	used := 0
	for i := 0; i < len(b); {
		c, n := jsonCost(b[i:])
		if used+c > room && used > 0 {
			ends = append(ends, i)
			used = 0
		}
		used += c
		i += n
	}
	return append(ends, len(b))
}

// jsonCost returns how many bytes the character b begins with takes in a
// JSON string as goccy/go-json writes it without HTML escaping, and how
// many it takes in b.
func jsonCost(b []byte) (cost, n int) {
	c := b[0]
	if c < utf8.RuneSelf {
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			return 2, 1
		case c < 0x20:
			return 6, 1 // \u00XX
		}
		return 1, 1
	}
	r, n := utf8.DecodeRune(b)
	if r == '\u2028' || r == '\u2029' {
		return 6, n
	}
	return n, n
}

// splitBase64 returns where to end the pieces of n bytes so that each,
// in base64, takes at most room bytes.
func splitBase64(n, room int) []int {
	step := room / 4 * 3
	var ends []int
	for end := step; end < n; end += step {
		ends = append(ends, end)
	}
	return append(ends, n)
}
