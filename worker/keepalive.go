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
type keepAlive struct {
	every   time.Duration
	log     *zap.Logger
	metrics *Metrics
	mu      sync.Mutex
	t       *time.Timer
	beat    func() error // nil between messages
}

func newKeepAlive(every time.Duration, log *zap.Logger, m *Metrics) *keepAlive {
	h := &keepAlive{every: every, log: log, metrics: m}
	h.t = time.AfterFunc(time.Hour, h.fire)
	h.t.Stop()
	return h
}

// start beats for a new message until stop.
func (h *keepAlive) start(beat func() error) {
	h.mu.Lock()
	h.beat = beat
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
	h.mu.Unlock()
	if beat == nil {
		return
	}
	if err := beat(); err != nil {
		h.log.Warn("in-progress ack failed; the message may be redelivered", zap.Error(err))
		return
	}
	h.metrics.inProgressAck()
}
