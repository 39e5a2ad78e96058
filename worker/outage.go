package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Outage policies (Config.StateOutage): what the worker does when the
// shared dedupe state cannot be reached.
const (
	// OutagePause holds the documents it has and stops pulling until the
	// state answers again: a backlog stays in the input stream, and no
	// delivery is spent on a fault outside the documents.
	OutagePause = "pause"
	// OutageRetry treats each failed claim like any transient fault: nak
	// with backoff, dead-letter (processing_failed) after max_deliver. An
	// outage longer than the backoff leaves dead letters for `winnow
	// redrive`.
	OutageRetry = "retry"
)

// Probe intervals while the state is down: the first, doubling to the
// last.
const (
	probeFirst   = 500 * time.Millisecond
	probeMax     = 5 * time.Second
	probeTimeout = 5 * time.Second
)

// outage tells a document's failed claim from an unreachable state, and
// holds the worker's intake while the state is unreachable. A nil *outage
// (memory state, or the retry policy) never holds anything.
type outage struct {
	probe    func(context.Context) error
	log      *zap.Logger
	metrics  *Metrics
	onChange func() // after the state goes down or comes back

	mu    sync.Mutex
	down  bool
	since time.Time
	up    chan struct{} // closed when the current outage ends
	began chan struct{} // closed when the next outage begins
}

func newOutage(probe func(context.Context) error, log *zap.Logger, m *Metrics, onChange func()) *outage {
	up := make(chan struct{})
	close(up)
	return &outage{probe: probe, log: log, metrics: m, onChange: onChange, up: up, began: make(chan struct{})}
}

// isDown reports whether the state is unreachable now.
func (o *outage) isDown() bool {
	if o == nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.down
}

// began returns a channel closed when the next outage begins (at once if
// one is on); nil, which never delivers, for a nil *outage.
func (o *outage) beginning() <-chan struct{} {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.began
}

// confirm is called after a document's claim failed with err. It probes
// the state; when the probe fails too, the state is down for every
// document, not just this one: confirm starts an outage (if none is on),
// probes until stop closes or the state answers, and returns true.
func (o *outage) confirm(err error, stop <-chan struct{}) bool {
	if o == nil {
		return false
	}
	if o.isDown() {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	perr := o.probe(ctx)
	cancel()
	if perr == nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down {
		o.down, o.since, o.up = true, time.Now(), make(chan struct{})
		close(o.began)
		o.log.Warn("the shared dedupe state does not answer: holding documents and pausing intake until it does",
			zap.Error(err), zap.NamedError("probe", perr))
		o.metrics.stateOutage()
		go o.watch(stop)
		go o.onChange()
	}
	return true
}

// watch probes until the state answers (then ends the outage) or stop
// closes.
func (o *outage) watch(stop <-chan struct{}) {
	for d := probeFirst; ; d = min(2*d, probeMax) {
		select {
		case <-stop:
			return
		case <-time.After(d):
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		err := o.probe(ctx)
		cancel()
		if err == nil {
			break
		}
		o.log.Debug("the shared dedupe state still does not answer", zap.Error(err))
	}
	o.mu.Lock()
	o.down = false
	close(o.up)
	o.began = make(chan struct{})
	paused := time.Since(o.since)
	o.mu.Unlock()
	o.log.Info("the shared dedupe state answers again: resuming", zap.Duration("paused", paused))
	o.metrics.stateBack(paused)
	o.onChange()
}

// wait blocks until the outage on now ends (true) or stop closes (false).
func (o *outage) wait(stop <-chan struct{}) bool {
	o.mu.Lock()
	up := o.up
	o.mu.Unlock()
	select {
	case <-up:
		return true
	case <-stop:
		return false
	}
}

// pauseIntake stops pulling while the state is down. It drains it (the
// messages the iterator had already pulled) into held, keeps every held
// message's ack deadline fresh so none is redelivered or spends a
// delivery, and once the state answers pulls again through a new
// iterator, which swap installs (false: the worker is stopping). It
// returns false when the worker stops first; the held messages are then
// nak'ed, for another worker or the next start.
func (w *Worker) pauseIntake(ctx context.Context, it jetstream.MessagesContext, held []jetstream.Msg,
	pull func() (jetstream.MessagesContext, error), swap func(jetstream.MessagesContext) bool) (jetstream.MessagesContext, []jetstream.Msg, bool) {
	it.Drain()
	for {
		m, err := it.Next(jetstream.NextMaxWait(nextWait))
		if err != nil {
			break // the buffer is empty (ErrMsgIteratorClosed), or nothing came within nextWait
		}
		held = append(held, m)
	}
	w.log.Info("intake paused", zap.Int("held", len(held)))
	giveBack := func() {
		for _, m := range held {
			_ = m.Nak()
		}
		w.metrics.nakN("state", len(held))
	}
	beat := time.NewTicker(w.cfg.AckWait / 2)
	defer beat.Stop()
	up := make(chan struct{})
	go func() {
		if w.outage.wait(ctx.Done()) {
			close(up)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			giveBack()
			return it, nil, false
		case <-beat.C:
			for _, m := range held {
				if err := m.InProgress(); err == nil {
					w.metrics.inProgressAck()
				}
			}
		case <-up:
			next, err := pull()
			if err != nil {
				w.log.Warn("cannot pull again after the outage; retrying", zap.Error(err))
				up = make(chan struct{})
				time.AfterFunc(time.Second, func() { close(up) })
				continue
			}
			if !swap(next) {
				next.Stop()
				giveBack()
				return it, nil, false
			}
			w.log.Info("intake resumed", zap.Int("held", len(held)))
			return next, held, true
		}
	}
}

// holdThroughOutage is called after process failed with err. When the
// state is down for every document (see outage.confirm) it holds the
// document until the state answers and returns true (process again), or
// naks it and returns false when the worker stops first. Otherwise it
// returns false at once and err is handled as a transient fault.
func (w *Worker) holdThroughOutage(m *message, err error) (again, handed bool) {
	if errors.Is(err, errPanic) || !w.outage.confirm(err, w.stopping) {
		return false, false
	}
	if w.outage.wait(w.stopping) {
		return true, false
	}
	w.metrics.nak("state")
	if nerr := m.nak(0); nerr != nil {
		w.log.Warn("nak failed; the message will be redelivered after ack_wait", zap.Error(nerr))
	}
	return false, true
}
