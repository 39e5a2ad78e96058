package worker

import "sync"

// copies tracks the inputs this worker's handlers hold and the ones they
// settled lately, so that a second copy of an input gets no outcome of its
// own beside the first one's. JetStream sends such copies when a message's
// ack deadline passes while it waits in the pull buffer, and again for
// each nak of any copy; under outage: retry a copy past max_deliver was
// dead-lettered while the copy before it published a record.
//
// A copy of an input a handler holds is left alone: the holder's ack or
// term settles the input (the server matches acks by stream sequence, not
// by delivery), and its nak has the server send it again. A copy of an
// input settled lately is acked: its outcome is durable. Copies that reach
// another replica are not seen here.
type copies struct {
	mu      sync.Mutex
	holding map[inputKey]struct{}
	settled map[inputKey]struct{}
	ring    []inputKey // the settled keys in order, from next: bounds the map
	next    int
}

// inputKey names one input message: its stream sequence, and the time it
// was stored, which tells it from another under the same sequence in an
// input stream made again.
type inputKey struct {
	seq    uint64
	stored int64 // Unix nanoseconds
}

func keyOf(m *message) inputKey { return inputKey{m.seq, m.published.UnixNano()} }

// copyState is what copies knows of an input.
type copyState int

const (
	copyNew     copyState = iota // nothing: handle it
	copyHeld                     // another handler holds a copy
	copySettled                  // settled here lately
)

// newCopies remembers the last remember settled inputs.
func newCopies(remember int) *copies {
	return &copies{holding: map[inputKey]struct{}{}, settled: map[inputKey]struct{}{}, ring: make([]inputKey, max(remember, 1))}
}

// take registers a handler's copy of input m, unless the input is held or
// settled already; it reports which. An input of unknown sequence (0) is
// not tracked.
func (c *copies) take(m *message) copyState {
	if m.seq == 0 {
		return copyNew
	}
	k := keyOf(m)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.settled[k]; ok {
		return copySettled
	}
	if _, ok := c.holding[k]; ok {
		return copyHeld
	}
	c.holding[k] = struct{}{}
	return copyNew
}

// done releases the copy take registered, and remembers the input as
// settled when its outcome is durable (m.settled: acked or terminated, not
// nak'ed).
func (c *copies) done(m *message) {
	if m.seq == 0 {
		return
	}
	k := keyOf(m)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.holding, k)
	if !m.settled {
		return
	}
	if old := c.ring[c.next]; old.seq != 0 {
		delete(c.settled, old)
	}
	c.ring[c.next] = k
	c.next = (c.next + 1) % len(c.ring)
	c.settled[k] = struct{}{}
}
