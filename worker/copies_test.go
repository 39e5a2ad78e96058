package worker

import (
	"testing"
	"time"
)

// TestCopies: a second copy of an input is held while a handler holds the
// first, settled once that one's outcome is durable, new again after a
// nak; an input under the same sequence stored at another time (an input
// stream made again) is another input; the oldest settled inputs are
// forgotten first.
func TestCopies(t *testing.T) {
	at := time.Unix(1700000000, 0)
	in := func(seq uint64, stored time.Time) *message { return &message{seq: seq, published: stored} }
	c := newCopies(2)
	first, second := in(1, at), in(1, at)
	want := func(m *message, s copyState) {
		t.Helper()
		if got := c.take(m); got != s {
			t.Fatalf("take(seq %d) = %v, want %v", m.seq, got, s)
		}
	}
	want(first, copyNew)
	want(second, copyHeld)
	c.done(first) // nak'ed: not settled
	want(second, copyNew)
	second.settled = true
	c.done(second)
	want(in(1, at), copySettled)
	want(in(1, at.Add(time.Second)), copyNew) // the same sequence in a stream made again
	want(in(0, at), copyNew)                  // unknown sequence: not tracked
	want(in(0, at), copyNew)
	for seq := uint64(2); seq <= 3; seq++ {
		m := in(seq, at)
		want(m, copyNew)
		m.settled = true
		c.done(m)
	}
	want(in(1, at), copyNew) // forgotten: two settled inputs since
	want(in(3, at), copySettled)
}
