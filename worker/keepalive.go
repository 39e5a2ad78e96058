package worker

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// keepAlive keeps a message's ack deadline from passing while a handler
// works on it: every interval it tells the server the message is in
// progress (an in-progress ack), which restarts the server's ack-wait
// clock. A document slowed by a stalled dependency (the KV bucket, a
// publish being retried) is then not redelivered to another worker while
// this one still holds it. One keepAlive serves one handler, one message at
// a time, without allocating per message. A beat that fires as one message
// ends may reach that message after its ack, or the next one early: the
// server ignores the first, and the second only restarts a clock.
//
// Beats keep a message from redelivery however long its handler holds it,
// so a document held past heldLong outside an outage (quiet) is said once
// in the log, naming its input, and counted: nothing else would tell a
// handler that never finishes from one at work.
type keepAlive struct {
	every    time.Duration
	heldLong time.Duration
	quiet    func() bool // whether holding long is expected now (intake paused for an outage); may be nil
	log      *zap.Logger
	metrics  *Metrics
	mu       sync.Mutex
	t        *time.Timer
	beat     func() error // nil between messages
	msg      *message     // the message beaten for
	since    time.Time    // when it came, or when the last outage it was held through ended
	told     bool         // its hold was said
}

func newKeepAlive(every, heldLong time.Duration, quiet func() bool, log *zap.Logger, m *Metrics) *keepAlive {
	h := &keepAlive{every: every, heldLong: heldLong, quiet: quiet, log: log, metrics: m}
	h.t = time.AfterFunc(time.Hour, h.fire)
	h.t.Stop()
	return h
}

// start beats for a new message, m, until stop.
func (h *keepAlive) start(m *message, beat func() error) {
	h.mu.Lock()
	h.beat, h.msg, h.since, h.told = beat, m, time.Now(), false
	h.t.Reset(h.every)
	h.mu.Unlock()
}

// stop ends the current message's beats.
func (h *keepAlive) stop() {
	h.mu.Lock()
	h.beat = nil
	h.t.Stop()
	h.mu.Unlock()
}

func (h *keepAlive) fire() {
	h.mu.Lock()
	beat := h.beat
	if beat != nil {
		h.t.Reset(h.every)
	}
	m, held := h.msg, time.Since(h.since)
	tell := false
	switch {
	case beat == nil || h.told:
	case h.quiet != nil && h.quiet():
		h.since = time.Now() // held for the outage: its clock starts when that ends
	case held >= h.heldLong:
		tell, h.told = true, true
	}
	h.mu.Unlock()
	if beat == nil {
		return
	}
	if tell {
		h.metrics.heldLongOne()
		h.log.Warn("a handler has held a document long; in-progress acks keep its input from redelivery while it does",
			zap.Duration("held", held.Round(time.Millisecond)), zap.String("subject", m.subject), zap.Uint64("stream_seq", m.seq),
			zap.Int("delivered", m.delivered))
	}
	if err := beat(); err != nil {
		h.log.Warn("in-progress ack failed; the message may be redelivered", zap.Error(err))
		return
	}
	h.metrics.inProgressAck()
}
