package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// keepTrying calls f until it succeeds, the stream is missing, ctx ends or
// patience runs out, and returns f's last error. A cluster that has just
// lost or regained a node answers "no responders" or times out while it
// elects leaders.
func keepTrying(ctx context.Context, patience time.Duration, f func() error) error {
	deadline := time.Now().Add(patience)
	for {
		err := f()
		if err == nil || errors.Is(err, jetstream.ErrStreamNotFound) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ReadStream calls fn for each message of st that cfg selects, in order, up
// to stream sequence last (an ordered consumer: read-only, nothing acked).
// Through errors it keeps asking (the ordered consumer recreates itself)
// until patience passes without a message.
//
// It reads until the last message cfg selects at or before last, as the
// stream's leader has it. The ordered consumer reads the copy of one
// replica, and an R1 consumer of an R3 stream may be placed on a follower
// a few messages behind the leader: its pending count reaches 0 before
// the leader's last message (seen in a rolling restart, `winnow audit`
// then reported a stored record missing). After a fetch that brings
// nothing it asks again, so an end removed while it reads (max_age, a
// limit, a deletion) does not hold it for its patience and fail it. js is
// the JetStream st came from.
func ReadStream(ctx context.Context, js jetstream.JetStream, st jetstream.Stream, cfg jetstream.OrderedConsumerConfig, last uint64, patience time.Duration, fn func(jetstream.Msg) error) error {
	if last == 0 {
		return nil
	}
	name := st.CachedInfo().Config.Name
	var end uint64
	err := keepTrying(ctx, patience, func() (err error) {
		end, err = lastSelected(ctx, js, name, cfg, last)
		return err
	})
	if err != nil || end == 0 {
		return err
	}
	var c jetstream.Consumer
	err = keepTrying(ctx, patience, func() (err error) {
		c, err = st.OrderedConsumer(ctx, cfg)
		return err
	})
	if err != nil {
		return err
	}
	progress := time.Now()
	var at uint64
	for {
		batch, err := c.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err == nil {
			for m := range batch.Messages() {
				progress = time.Now()
				md, err := m.Metadata()
				if err != nil {
					return err
				}
				if at = md.Sequence.Stream; at > last {
					return nil
				}
				if err := fn(m); err != nil {
					return err
				}
				if at >= end {
					return nil
				}
			}
			if err = batch.Error(); errors.Is(err, nats.ErrTimeout) {
				err = nil
			}
			if err == nil && time.Since(progress) > time.Second {
				// A quiet fetch: the end may have gone since it was
				// asked for (max_age, a limit, a deletion, a purge).
				e, err := lastSelected(ctx, js, name, cfg, last)
				if err == nil && e <= at {
					return nil
				}
				if err == nil {
					end = e
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Since(progress) > patience {
			if err == nil {
				err = fmt.Errorf("no message for %v, at sequence %d of %d", patience, at, end)
			}
			return err
		}
		if err != nil {
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// lastSelected is the stream sequence of the last message at or before
// last that cfg selects (its filter subjects, its start sequence or time),
// asked of the stream's leader; 0 when there is none.
func lastSelected(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, last uint64) (uint64, error) {
	filters := cfg.FilterSubjects
	if len(filters) == 0 {
		filters = []string{">"}
	}
	var end uint64
	for _, f := range filters {
		m, err := lastForSubject(ctx, js, stream, f)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		switch {
		case cfg.DeliverPolicy == jetstream.DeliverByStartSequencePolicy && m.Sequence < cfg.OptStartSeq,
			cfg.DeliverPolicy == jetstream.DeliverByStartTimePolicy && cfg.OptStartTime != nil && m.Time.Before(*cfg.OptStartTime):
			continue // before the start, as every earlier message
		}
		end = max(end, min(m.Sequence, last))
	}
	return end, nil
}

// storedMsg is what the JetStream API's message get answers with; the
// header and data are left out.
type storedMsg struct {
	Sequence uint64    `json:"seq"`
	Time     time.Time `json:"time"`
}

// apiPrefix returns the subject prefix of js's JetStream API requests,
// ending in a dot ($JS.API., or $JS.<domain>.API.).
func apiPrefix(js jetstream.JetStream) string {
	opts := js.Options()
	prefix := opts.APIPrefix
	switch {
	case opts.Domain != "":
		prefix = "$JS." + opts.Domain + ".API."
	case prefix == "":
		prefix = jetstream.DefaultAPIPrefix
	case !strings.HasSuffix(prefix, "."):
		prefix += "."
	}
	return prefix
}

// lastForSubject asks the stream's leader for its last message on subject
// (ErrMsgNotFound when it has none). It does not use
// Stream.GetLastMsgForSubject: when the stream allows direct gets, nats.go
// sends that as a direct get, which any replica at least 90% caught up may
// answer (nats-server enables direct gets on a follower at that point),
// and an end read from a follower can be the early end ReadStream is
// there to avoid. An operator may turn allow_direct on for the output
// stream; winnow keeps what it finds.
func lastForSubject(ctx context.Context, js jetstream.JetStream, stream, subject string) (*storedMsg, error) {
	return msgGet(ctx, js, stream, msgGetRequest{LastFor: subject})
}

// nextFrom asks the stream's leader for its first message at or after seq
// on subject (which may hold wildcards); ErrMsgNotFound when it has none.
func nextFrom(ctx context.Context, js jetstream.JetStream, stream string, seq uint64, subject string) (*storedMsg, error) {
	return msgGet(ctx, js, stream, msgGetRequest{Seq: seq, NextFor: subject})
}

// msgGetRequest is a JetStream message get (STREAM.MSG.GET).
type msgGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	LastFor string `json:"last_by_subj,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
}

// msgGet sends a message get to the stream's leader.
func msgGet(ctx context.Context, js jetstream.JetStream, stream string, get msgGetRequest) (*storedMsg, error) {
	opts, prefix := js.Options(), apiPrefix(js)
	req, err := json.Marshal(get)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok && opts.DefaultTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.DefaultTimeout)
		defer cancel()
	}
	resp, err := js.Conn().RequestWithContext(ctx, prefix+"STREAM.MSG.GET."+stream, req)
	if err != nil {
		return nil, err
	}
	var r struct {
		Message *storedMsg          `json:"message"`
		Error   *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return nil, fmt.Errorf("message get on stream %s: %w", stream, err)
	}
	switch {
	case r.Error != nil:
		return nil, r.Error // errors.Is matches it to ErrMsgNotFound, ErrStreamNotFound
	case r.Message == nil:
		return nil, jetstream.ErrInvalidJetStreamResponse
	}
	return r.Message, nil
}
