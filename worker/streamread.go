package worker

import (
	"context"
	"errors"
	"fmt"
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
// then reported a stored record missing).
func ReadStream(ctx context.Context, st jetstream.Stream, cfg jetstream.OrderedConsumerConfig, last uint64, patience time.Duration, fn func(jetstream.Msg) error) error {
	if last == 0 {
		return nil
	}
	var end uint64
	err := keepTrying(ctx, patience, func() (err error) {
		end, err = lastSelected(ctx, st, cfg, last)
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
func lastSelected(ctx context.Context, st jetstream.Stream, cfg jetstream.OrderedConsumerConfig, last uint64) (uint64, error) {
	filters := cfg.FilterSubjects
	if len(filters) == 0 {
		filters = []string{">"}
	}
	var end uint64
	for _, f := range filters {
		m, err := st.GetLastMsgForSubject(ctx, f)
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
