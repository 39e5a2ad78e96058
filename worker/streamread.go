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
func ReadStream(ctx context.Context, st jetstream.Stream, cfg jetstream.OrderedConsumerConfig, last uint64, patience time.Duration, fn func(jetstream.Msg) error) error {
	if last == 0 {
		return nil
	}
	var c jetstream.Consumer
	var pending uint64
	err := keepTrying(ctx, patience, func() (err error) {
		if c == nil {
			if c, err = st.OrderedConsumer(ctx, cfg); err != nil {
				return err
			}
		}
		ci, err := c.Info(ctx)
		if err == nil {
			pending = ci.NumPending
		}
		return err
	})
	if err != nil || pending == 0 {
		return err
	}
	progress := time.Now()
	for {
		batch, err := c.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err == nil {
			for m := range batch.Messages() {
				progress = time.Now()
				md, err := m.Metadata()
				if err != nil {
					return err
				}
				if md.Sequence.Stream > last {
					return nil
				}
				if err := fn(m); err != nil {
					return err
				}
				if md.Sequence.Stream == last || md.NumPending == 0 {
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
				err = fmt.Errorf("no message for %v with %d pending", patience, pending)
			}
			return err
		}
		if err != nil {
			time.Sleep(250 * time.Millisecond)
		}
	}
}
