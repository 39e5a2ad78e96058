package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/winnow-dev/winnow/schemas"
)

// HeaderRedriveOf marks an input republished from a dead letter, and every
// output made from it, with the dead letter's Nats-Msg-Id: a redrive skips a
// dead letter that already has an answer, and `winnow audit` counts the
// document once.
const HeaderRedriveOf = "Winnow-Redrive-Of"

// redrivePatience is how long Redrive keeps asking through errors (see
// ReadStream).
const redrivePatience = 30 * time.Second

// redriveMsgIDPrefix makes a redriven input's Nats-Msg-Id: a second redrive
// of the same dead letter inside the input stream's duplicate window is
// dropped by the server, before any worker sees it.
const redriveMsgIDPrefix = "redrive:"

// DefaultRedriveReasons are the dead letters a redrive republishes unless
// told otherwise: those a fault outside the document caused (the state or a
// stage failing until max_deliver ran out). An invalid document fails the
// same way every time, so its classes are redriven only when named.
var DefaultRedriveReasons = []schemas.Reason{schemas.ReasonProcessingFailed, schemas.ReasonMaxDeliveries}

// RedriveOptions select the dead letters to republish.
type RedriveOptions struct {
	Reasons []schemas.Reason
	// DryRun counts what would be republished and publishes nothing.
	DryRun bool
	// Since, when set, reads only the outputs stored from then on: on a
	// long output stream, the window of the outage. A record of the same
	// id from before it is then not seen. (Dead letters are read from the
	// output stream's duplicate window and a minute earlier, for the
	// continuations of those kept in parts.)
	Since time.Time
	// Progress, when set, is told of each of the two reads of the output
	// stream (outputs, then dead letters) as it starts, with the stream's
	// last sequence, and returns what is told of each message read.
	Progress func(what string, last uint64) func(jetstream.Msg)
}

// RedriveReport says what a redrive did with each dead letter it read.
type RedriveReport struct {
	DeadLetters int `json:"dead_letters"`
	// Redriven counts the inputs republished, by dead-letter reason.
	Redriven map[schemas.Reason]int `json:"redriven"`
	// Answered: dead letters whose document already has an outcome (an
	// earlier redrive's, or a record of the same id: the crawler sent it
	// again); InFlight: republished by an earlier redrive, no output yet
	// (the input stream dropped this copy).
	Answered int `json:"answered"`
	InFlight int `json:"in_flight"`
	// Skipped counts dead letters left alone: a reason not selected,
	// "truncated" (the dead letter holds only the input's first bytes),
	// "incomplete" (kept in parts, and a part is not on the stream) or
	// "unreadable".
	Skipped map[string]int `json:"skipped"`
	// Parts counts the continuations read of dead letters kept in parts
	// (not in DeadLetters; with Since, some of those stored before it).
	Parts int `json:"parts,omitempty"`
}

// Redrive republishes dead letters to the subjects their inputs arrived on,
// after the fault that sent them there (an unreachable bucket, a failing
// stage) has been fixed. It reads the output stream as it stands when it
// starts and removes nothing: each republished input carries the dead
// letter's id (HeaderRedriveOf), so running it again skips what was
// already redriven.
func Redrive(ctx context.Context, js jetstream.JetStream, cfg Config, opts RedriveOptions) (*RedriveReport, error) {
	var st jetstream.Stream
	var last uint64
	var window time.Duration // the output stream's duplicate window
	err := keepTrying(ctx, redrivePatience, func() (err error) {
		if st == nil {
			if st, err = js.Stream(ctx, cfg.OutputStream); err != nil {
				return err
			}
		}
		info, err := st.Info(ctx)
		if err == nil {
			last, window = info.State.LastSeq, info.Config.Duplicates
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("worker: redrive: output stream %s: %w", cfg.OutputStream, err)
	}
	answered := map[string]bool{} // dead letters' Nats-Msg-Ids named by a later output
	recorded := map[string]bool{} // records' Nats-Msg-Ids (schemas.MsgID of their ids)
	dlq := cfg.Subjects.DLQ + "."
	from := func(c jetstream.OrderedConsumerConfig) jetstream.OrderedConsumerConfig {
		if !opts.Since.IsZero() {
			c.DeliverPolicy, c.OptStartTime = jetstream.DeliverByStartTimePolicy, &opts.Since
		}
		return c
	}
	read := func(what string) func(jetstream.Msg) {
		if opts.Progress == nil {
			return func(jetstream.Msg) {}
		}
		return opts.Progress(what, last)
	}
	at := read("outputs")
	err = ReadStream(ctx, js, st, from(jetstream.OrderedConsumerConfig{FilterSubjects: cfg.outputSubjects(), HeadersOnly: true}), last, redrivePatience, func(m jetstream.Msg) error {
		at(m)
		if of := m.Headers().Get(HeaderRedriveOf); of != "" {
			answered[of] = true
		}
		if !strings.HasPrefix(m.Subject(), dlq) {
			recorded[m.Headers().Get(nats.MsgIdHdr)] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("worker: redrive: reading outputs: %w", err)
	}
	rep := &RedriveReport{Redriven: map[schemas.Reason]int{}, Skipped: map[string]int{}}
	// Where the continuations of dead letters kept in parts are, by their
	// dead letter's id: each is published before it, so read before it.
	parts := map[string][]partRef{}
	at = read("dead letters")
	dlqFrom := jetstream.OrderedConsumerConfig{FilterSubjects: []string{dlq + ">"}}
	if !opts.Since.IsZero() {
		// From earlier, for the continuations of the dead letters stored
		// since: published just before their dead letter, or, sent again
		// after an outage, dropped as duplicates of copies stored at most
		// the duplicate window before.
		early := opts.Since.Add(-window - time.Minute)
		dlqFrom.DeliverPolicy, dlqFrom.OptStartTime = jetstream.DeliverByStartTimePolicy, &early
	}
	err = ReadStream(ctx, js, st, dlqFrom, last, redrivePatience, func(m jetstream.Msg) error {
		at(m)
		if of := m.Headers().Get(HeaderPartOf); of != "" {
			rep.Parts++
			if ref, ok := continuation(m); ok {
				parts[of] = append(parts[of], ref)
			}
			return nil
		}
		if !opts.Since.IsZero() {
			if md, err := m.Metadata(); err == nil && md.Timestamp.Before(opts.Since) {
				return nil // read for the continuations of later ones
			}
		}
		rep.DeadLetters++
		id := m.Headers().Get(nats.MsgIdHdr)
		var dl schemas.DeadLetter
		var data []byte
		err := json.Unmarshal(m.Data(), &dl)
		if err == nil {
			data, err = dl.Bytes()
		}
		var rest []partRef // the continuations that hold the rest of a dead letter in parts
		whole := true
		if err == nil && dl.Parts > 1 {
			rest, whole = chainParts(parts[id], len(data), dl.Size)
			delete(parts, id)
		}
		switch {
		case err != nil || id == "" || dl.Subject == "":
			rep.Skipped["unreadable"]++
			return nil
		case !slices.Contains(opts.Reasons, dl.Reason):
			rep.Skipped[string(dl.Reason)]++
			return nil
		case dl.Truncated && dl.Parts <= 1:
			rep.Skipped["truncated"]++
			return nil
		case !whole:
			rep.Skipped["incomplete"]++
			return nil
		case answered[id] || (dl.ID != "" && recorded[schemas.MsgID(dl.ID)]):
			rep.Answered++
			return nil
		case opts.DryRun:
			rep.Redriven[dl.Reason]++
			return nil
		}
		if len(rest) > 0 {
			if data, err = joinParts(ctx, st, data, rest); errors.Is(err, errPartGone) {
				rep.Skipped["incomplete"]++
				return nil
			} else if err != nil {
				return fmt.Errorf("dead letter %s: %w", id, err)
			}
		}
		out := &nats.Msg{Subject: dl.Subject, Data: data, Header: nats.Header{}}
		// The headers the dead letter carried from its input (carry_headers)
		// go back with it; every other header on it is NATS's or winnow's.
		newCarrier([]string{"*"}).carry(out.Header, m.Headers())
		// Kept in the JSON: the dead letter's own body is JSON.
		if dl.ContentType != "" {
			out.Header.Set("Content-Type", dl.ContentType)
		}
		if dl.ContentEncoding != "" {
			out.Header.Set("Content-Encoding", dl.ContentEncoding)
		}
		out.Header.Set(nats.MsgIdHdr, redriveMsgIDPrefix+id)
		out.Header.Set(HeaderRedriveOf, id)
		if dl.ID != "" {
			out.Header.Set(HeaderID, dl.ID) // a plain-text body's id came in a header
		}
		var ack *jetstream.PubAck
		err = keepTrying(ctx, redrivePatience, func() (err error) { // a retry is dropped by its Nats-Msg-Id
			ack, err = js.PublishMsg(ctx, out)
			return err
		})
		if err != nil {
			return fmt.Errorf("republishing dead letter %s to %s: %w", id, dl.Subject, err)
		}
		if ack.Duplicate {
			rep.InFlight++
		} else {
			rep.Redriven[dl.Reason]++
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("worker: redrive: %w", err)
	}
	return rep, nil
}

// partRef is where a continuation of a dead letter kept in parts is on the
// output stream, and which of its input's bytes it holds.
type partRef struct {
	seq       uint64
	from, end int
}

// continuation reads where a continuation is and what it holds.
func continuation(m jetstream.Msg) (partRef, bool) {
	md, err := m.Metadata()
	if err != nil {
		return partRef{}, false
	}
	var dl schemas.DeadLetter
	if json.Unmarshal(m.Data(), &dl) != nil {
		return partRef{}, false
	}
	b, err := dl.Bytes()
	if err != nil || len(b) == 0 {
		return partRef{}, false
	}
	return partRef{seq: md.Sequence.Stream, from: dl.Offset, end: dl.Offset + len(b)}, true
}

// chainParts returns continuations of refs that hold an input's bytes from
// from to size, one after another, and whether there are such. Parts cut
// to two size limits (the stream's max_msg_size lowered while a
// redelivered input was dead-lettered again) may both be there: any chain
// of them holds the same bytes.
func chainParts(refs []partRef, from, size int) ([]partRef, bool) {
	dead := map[int]bool{} // offsets from which no chain reaches size
	var walk func(at int) ([]partRef, bool)
	walk = func(at int) ([]partRef, bool) {
		if at == size {
			return nil, true
		}
		if dead[at] {
			return nil, false
		}
		for _, r := range refs {
			if r.from == at && r.end > at && r.end <= size {
				if rest, ok := walk(r.end); ok {
					return append([]partRef{r}, rest...), true
				}
			}
		}
		dead[at] = true
		return nil, false
	}
	return walk(from)
}

// errPartGone marks a continuation no longer on the stream (removed, or
// aged out, since it was read).
var errPartGone = errors.New("a part of the dead letter is gone from the stream")

// joinParts returns data, a dead letter's first bytes, with the bytes of
// its continuations rest after them, read from the stream.
func joinParts(ctx context.Context, st jetstream.Stream, data []byte, rest []partRef) ([]byte, error) {
	out := slices.Grow(slices.Clone(data), rest[len(rest)-1].end-len(data))
	for _, r := range rest {
		var raw *jetstream.RawStreamMsg
		err := keepTrying(ctx, redrivePatience, func() (err error) {
			raw, err = st.GetMsg(ctx, r.seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return nil
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("reading part at %d: %w", r.seq, err)
		}
		if raw == nil {
			return nil, errPartGone
		}
		var dl schemas.DeadLetter
		b, err := []byte(nil), json.Unmarshal(raw.Data, &dl)
		if err == nil {
			b, err = dl.Bytes()
		}
		if err != nil || dl.Offset != r.from || dl.Offset+len(b) != r.end {
			return nil, errPartGone // another message at that sequence: not the part read
		}
		out = append(out, b...)
	}
	return out, nil
}
