package worker

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestReadStreamEnds: ReadStream reads up to the last message its
// configuration selects at or before last, as the stream's leader has it,
// and no further: by filter, by start sequence, by start time, and none
// at all. (It no longer stops where the replica its consumer reads has no
// more pending: TestRollingClusterRestart in cmd/winnow met a follower
// behind the leader.) The same with the stream allowing direct gets,
// which any caught-up replica may answer: none is sent.
func TestReadStreamEnds(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow_direct=%v", direct), func(t *testing.T) { testReadStreamEnds(t, direct) })
	}
}

func testReadStreamEnds(t *testing.T, allowDirect bool) {
	s := startServer(t)
	nc, js := connect(t, s)
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "READ", Subjects: []string{"a.>", "b.>"}, AllowDirect: allowDirect})
	if err != nil {
		t.Fatal(err)
	}
	var directGets atomic.Int64
	sub, err := nc.Subscribe("$JS.API.DIRECT.GET.>", func(*nats.Msg) { directGets.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for _, subj := range []string{"a.1", "b.1", "a.2", "b.2"} { // sequences 1-4
		if _, err := js.Publish(ctx, subj, nil); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	after := time.Now()
	if _, err := js.Publish(ctx, "b.3", nil); err != nil { // 5
		t.Fatal(err)
	}
	start := func(seq uint64) jetstream.OrderedConsumerConfig {
		return jetstream.OrderedConsumerConfig{FilterSubjects: []string{"a.>"}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: seq}
	}
	for _, c := range []struct {
		name string
		cfg  jetstream.OrderedConsumerConfig
		last uint64
		want []string
	}{
		{"all", jetstream.OrderedConsumerConfig{}, 5, []string{"a.1", "b.1", "a.2", "b.2", "b.3"}},
		{"all up to 3", jetstream.OrderedConsumerConfig{}, 3, []string{"a.1", "b.1", "a.2"}},
		{"a", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"a.>"}}, 5, []string{"a.1", "a.2"}},
		{"a up to 2", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"a.>"}}, 2, []string{"a.1"}},
		{"a and b up to 4", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"a.>", "b.>"}}, 4, []string{"a.1", "b.1", "a.2", "b.2"}},
		{"none", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"c.>"}}, 5, nil},
		{"a from 2", start(2), 5, []string{"a.2"}},
		{"a from 4", start(4), 5, nil},
		{"b since", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"b.>"}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &after}, 5, []string{"b.3"}},
		{"a since", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"a.>"}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &after}, 5, nil},
	} {
		var got []string
		// A read that misses its end waits out the patience and fails.
		err := ReadStream(ctx, js, st, c.cfg, c.last, 3*time.Second, func(m jetstream.Msg) error {
			got = append(got, m.Subject())
			return nil
		})
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: read %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := directGets.Load(); n > 0 {
		t.Errorf("%d direct gets sent; a follower may answer those", n)
	}
}

// TestReadStreamEndRemoved: the last message a read aims for is deleted
// while it reads (as max_age or a limit might remove it); the read ends at
// the message before it instead of waiting out its patience and failing.
func TestReadStreamEndRemoved(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s)
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "READ", Subjects: []string{"a.>"}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1200 // more than one fetch of 500, so the last is not fetched before the deletion
	for i := range n {
		if _, err := js.Publish(ctx, fmt.Sprintf("a.%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	var got uint64
	err = ReadStream(ctx, js, st, jetstream.OrderedConsumerConfig{}, n, 10*time.Second, func(m jetstream.Msg) error {
		if got++; got == 1 {
			return st.DeleteMsg(ctx, n)
		}
		return nil
	})
	if err != nil || got != n-1 {
		t.Errorf("read %d of %d, %v", got, n-1, err)
	}
}
