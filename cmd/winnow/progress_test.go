package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/winnow-dev/winnow/internal/natstest"
)

// TestReadProgress: a read of a stream says how far it is every
// progressEvery, by sequence and share of the way from its first message,
// and nothing before the first interval has passed.
func TestReadProgress(t *testing.T) {
	s := natstest.Start(t, nil)
	_, js := jsClient(t, s.ClientURL())
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := js.Publish(ctx, "s.x", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	start := uint64(11) // a read from the 11th message, as --since makes one
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := newReadProgress(&out, "winnow show", 40)
	clock := p.start
	p.now = func() time.Time { return clock }
	batch, err := c.Fetch(30)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		n++
		switch n {
		case 5:
			clock = clock.Add(4 * time.Second) // not yet
		case 15:
			clock = clock.Add(2 * time.Second) // 6s in
		case 16:
			clock = clock.Add(4 * time.Second) // within 5s of the last line
		case 30:
			clock = clock.Add(5 * time.Second)
		}
		p.at(m)
	}
	want := "winnow show: read to sequence 25 of 40, 50% of the way, in 6s\n" +
		"winnow show: read to sequence 40 of 40, 100% of the way, in 15s\n"
	if n != 30 || out.String() != want {
		t.Fatalf("%d messages read; progress:\n%s\nwant:\n%s", n, out.String(), want)
	}
	var none *readProgress
	none.at(nil) // a tool's read without progress
}
