package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// outputSubjects are the output stream's subjects.
func (c Config) outputSubjects() []string {
	return []string{c.Subjects.Clean + ".>", c.Subjects.Dup + ".>", c.Subjects.Rejected + ".>", c.Subjects.DLQ + ".>"}
}

// consumerConfig is the durable pull consumer every replica shares.
// MaxDeliver is enforced by the worker (see handle), not the server: the
// server would drop a message silently after its last delivery, while the
// worker dead-letters it, so the consumer itself redelivers without limit.
func (c Config) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       c.Durable,
		Description:   "winnow cleaning workers",
		FilterSubject: c.Subjects.Input,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: c.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      0, // inherit the stream's
	}
}

// outputStreamConfig is the output stream create_streams makes.
func (c Config) outputStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name: c.OutputStream, Description: "winnow output: clean, duplicate, rejected and dead-letter records",
		Subjects: c.outputSubjects(), Storage: jetstream.FileStorage, Replicas: c.Replicas,
		Duplicates: c.DuplicateWindow,
	}
}

// ensure creates or updates the streams and the consumer when configured
// to, else checks they exist, and returns the consumer.
func (c Config) ensure(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	if c.CreateStreams {
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: c.InputStream, Description: "winnow input: raw documents",
			Subjects: []string{c.Subjects.Input}, Storage: jetstream.FileStorage, Replicas: c.Replicas,
			Retention: jetstream.WorkQueuePolicy, Duplicates: c.DuplicateWindow,
		}); err != nil {
			return nil, fmt.Errorf("worker: create input stream %s: %w", c.InputStream, err)
		}
		if _, err := js.CreateOrUpdateStream(ctx, c.outputStreamConfig()); err != nil {
			return nil, fmt.Errorf("worker: create output stream %s: %w", c.OutputStream, err)
		}
		cons, err := js.CreateOrUpdateConsumer(ctx, c.InputStream, c.consumerConfig())
		if err != nil {
			return nil, fmt.Errorf("worker: create consumer %s: %w", c.Durable, err)
		}
		return cons, nil
	}
	if _, err := js.Stream(ctx, c.OutputStream); err != nil {
		return nil, fmt.Errorf("worker: output stream %s: %w (set worker.create_streams to create it)", c.OutputStream, err)
	}
	cons, err := js.Consumer(ctx, c.InputStream, c.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("worker: consumer %s on %s: %w (set worker.create_streams to create it)", c.Durable, c.InputStream, err)
	}
	if err != nil {
		return nil, fmt.Errorf("worker: consumer %s on %s: %w", c.Durable, c.InputStream, err)
	}
	return cons, nil
}
