package worker

import (
	"context"
	"encoding/json"
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
	// id from before it is then not seen.
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
	// "truncated" (the dead letter holds only the input's first bytes) or
	// "unreadable".
	Skipped map[string]int `json:"skipped"`
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
	err := keepTrying(ctx, redrivePatience, func() (err error) {
		if st == nil {
			if st, err = js.Stream(ctx, cfg.OutputStream); err != nil {
				return err
			}
		}
		info, err := st.Info(ctx)
		if err == nil {
			last = info.State.LastSeq
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
	at = read("dead letters")
	err = ReadStream(ctx, js, st, from(jetstream.OrderedConsumerConfig{FilterSubjects: []string{dlq + ">"}}), last, redrivePatience, func(m jetstream.Msg) error {
		at(m)
		rep.DeadLetters++
		id := m.Headers().Get(nats.MsgIdHdr)
		var dl schemas.DeadLetter
		var data []byte
		err := json.Unmarshal(m.Data(), &dl)
		if err == nil {
			data, err = dl.Bytes()
		}
		switch {
		case err != nil || id == "" || dl.Subject == "":
			rep.Skipped["unreadable"]++
			return nil
		case !slices.Contains(opts.Reasons, dl.Reason):
			rep.Skipped[string(dl.Reason)]++
			return nil
		case dl.Truncated:
			rep.Skipped["truncated"]++
			return nil
		case answered[id] || (dl.ID != "" && recorded[schemas.MsgID(dl.ID)]):
			rep.Answered++
			return nil
		case opts.DryRun:
			rep.Redriven[dl.Reason]++
			return nil
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
