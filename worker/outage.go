package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Outage policies (Config.Outage): what the worker does when something
// every document needs does not answer, or has no room: the output stream,
// or the shared dedupe bucket (state: kv).
const (
	// OutagePause holds the documents it has and stops pulling until it
	// answers again: a backlog stays in the input stream, and no delivery
	// is spent on a fault outside the documents.
	OutagePause = "pause"
	// OutageRetry treats such a failure like any transient fault: nak with
	// backoff, dead-letter after max_deliver (processing_failed for a
	// claim; max_deliveries for a record, once the output stream takes
	// dead letters again). An outage longer than the backoff leaves dead
	// letters for `winnow redrive`.
	OutageRetry = "retry"
)

// Probe intervals during an outage: the first, doubling to the last.
const (
	probeFirst   = 500 * time.Millisecond
	probeMax     = 5 * time.Second
	probeTimeout = 5 * time.Second
)

// outage tells a document's own failure from an outage of what every
// document needs, and holds the worker's intake during one. A nil *outage
// (core mode, or the retry policy) never holds anything.
type outage struct {
	probe    func(context.Context) error
	log      *zap.Logger
	metrics  *Metrics
	onChange func() // after an outage begins or ends

	mu    sync.Mutex
	down  bool
	since time.Time
	why   string        // what the outage is: its log line, with the latest error
	up    chan struct{} // closed when the current outage ends
	began chan struct{} // closed when the next outage begins
}

func newOutage(probe func(context.Context) error, log *zap.Logger, m *Metrics, onChange func()) *outage {
	up := make(chan struct{})
	close(up)
	return &outage{probe: probe, log: log, metrics: m, onChange: onChange, up: up, began: make(chan struct{})}
}

// isDown reports whether an outage is on.
func (o *outage) isDown() bool {
	if o == nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.down
}

// status says whether an outage is on, since when and what it is.
func (o *outage) status() (down bool, since time.Time, why string) {
	if o == nil {
		return false, time.Time{}, ""
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.down, o.since, o.why
}

// beginning returns a channel closed when the next outage begins (at once
// if one is on); nil, which never delivers, for a nil *outage.
func (o *outage) beginning() <-chan struct{} {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.began
}

// confirm is called after a claim or a publish failed with err. It probes
// what every document needs; when the probe fails too, the failure was not
// this document's: confirm starts an outage (if none is on), probes until
// stop closes or the probe succeeds, and returns true. An output stream
// that refused a write for want of room (errNoRoom), or a server that does
// not let the user publish an output (errNotPermitted), answers the probe,
// so that outage starts at once and its probe is the refused write sent
// again (again): the stream keeps one copy of a record or dead letter by
// its Nats-Msg-Id, and no probe message reaches the subjects downstream
// consumers read.
func (o *outage) confirm(err error, stop <-chan struct{}, again func() error) bool {
	if o == nil {
		return false
	}
	if o.isDown() {
		return true
	}
	var probe func(context.Context) error
	var fields []zap.Field
	msg := "outage: " + outageHead(err)
	switch {
	case errors.Is(err, errNoRoom), errors.Is(err, errNotPermitted):
		probe = func(context.Context) error { return again() }
		fields = []zap.Field{zap.Error(err)}
	default:
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		perr := o.probe(ctx)
		cancel()
		if perr == nil {
			return false
		}
		probe = o.probe
		fields = []zap.Field{zap.NamedError("probe", perr), zap.Error(err)}
		err = perr // what /readyz gives as the cause
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down {
		o.down, o.since, o.up = true, time.Now(), make(chan struct{})
		o.why = strings.TrimPrefix(msg, "outage: ") + " (" + err.Error() + ")"
		close(o.began)
		o.log.Warn(msg, fields...)
		o.metrics.paused()
		go o.watch(stop, probe)
		go o.onChange()
	}
	return true
}

// watch probes until the probe succeeds (then ends the outage) or stop
// closes.
func (o *outage) watch(stop <-chan struct{}, probe func(context.Context) error) {
	for d := probeFirst; ; d = min(2*d, probeMax) {
		select {
		case <-stop:
			return
		case <-time.After(d):
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		err := probe(ctx)
		cancel()
		if err == nil {
			break
		}
		o.log.Debug("outage: still no answer", zap.Error(err))
		// /readyz gives the latest cause: the operator who fixed the
		// first (a permission) sees the next (the stream full).
		o.mu.Lock()
		o.why = outageHead(err) + " (" + err.Error() + ")"
		o.mu.Unlock()
	}
	o.mu.Lock()
	o.down = false
	close(o.up)
	o.began = make(chan struct{})
	paused := time.Since(o.since)
	o.mu.Unlock()
	o.log.Info("outage over: resuming", zap.Duration("paused", paused))
	o.metrics.resumed(paused)
	o.onChange()
}

// outageHead says what an outage err began or prolongs is.
func outageHead(err error) string {
	switch {
	case errors.Is(err, errNoRoom):
		return "the output stream is full; holding documents and pausing intake until it takes the refused write"
	case errors.Is(err, errNotPermitted):
		return "the server does not let this user publish an output; holding documents and pausing intake until it takes the refused write"
	}
	return "holding documents and pausing intake until it answers"
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

// pauseIntake stops pulling during an outage. It drains the iterator
// (the messages it had already pulled) into held, keeps every held
// message's ack deadline fresh so none is redelivered or spends a
// delivery, and once the outage ends pulls again through a new
// iterator, which swap installs (false: the worker is stopping). It
// returns false when the worker stops first; the held messages are then
// nak'ed, for another worker or the next start.
func (w *Worker) pauseIntake(ctx context.Context, it jetstream.MessagesContext, held []jetstream.Msg,
	pull func() (jetstream.MessagesContext, error), swap func(jetstream.MessagesContext) bool) (jetstream.MessagesContext, []jetstream.Msg, bool) {
	beatAll := func(msgs []jetstream.Msg) {
		for _, m := range msgs {
			if err := m.InProgress(); err == nil {
				w.metrics.inProgressAck()
			}
		}
	}
	beatAll(held)
	// A drain takes a round trip to the server; on a connection gone quiet
	// the wait ends after half the ack wait, and the held messages are
	// beaten again. Each message's clock restarts as it comes.
	took := drainIterator(it, w.cfg.AckWait/2, func(m jetstream.Msg) {
		beatAll([]jetstream.Msg{m})
		held = append(held, m)
	})
	if took > w.cfg.AckWait/4 {
		beatAll(held)
	}
	w.log.Info("intake paused", zap.Int("held", len(held)))
	w.metrics.holding(len(held))
	defer w.metrics.holding(0)
	giveBack := func() {
		for _, m := range held {
			_ = m.Nak()
		}
		w.metrics.nakN("outage", len(held))
	}
	beat := time.NewTicker(w.cfg.AckWait / 2)
	defer beat.Stop()
	ended := make(chan struct{})
	go func() {
		if w.outage.wait(ctx.Done()) {
			close(ended)
		}
	}()
	up := (<-chan struct{})(ended)
	for {
		select {
		case <-ctx.Done():
			giveBack()
			return it, nil, false
		case <-beat.C:
			beatAll(held)
		case <-up:
			next, err := pull()
			if err != nil {
				w.log.Warn("cannot pull again after the outage; retrying", zap.Error(err))
				retry := make(chan struct{})
				time.AfterFunc(time.Second, func() { close(retry) })
				up = retry
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

// drainIterator drains it and passes got each message still in its
// buffer, until the drain ends (ErrMsgIteratorClosed) or bound has passed:
// a message left there would come again only after ack_wait, a delivery
// spent. It returns how long it took.
func drainIterator(it jetstream.MessagesContext, bound time.Duration, got func(jetstream.Msg)) time.Duration {
	it.Drain()
	start := time.Now()
	for {
		left := bound - time.Since(start)
		if left <= 0 {
			break
		}
		m, err := it.Next(jetstream.NextMaxWait(min(nextWait, left)))
		if errors.Is(err, nats.ErrTimeout) {
			continue
		}
		if err != nil {
			break // the buffer is empty and the drain done (or the iterator failed)
		}
		got(m)
	}
	return time.Since(start)
}

// untilAnswered runs f (a claim or a publish for m) until it succeeds or
// fails otherwise than by an outage (see outage.confirm): during one it
// holds m, its ack deadline kept fresh by the handler, and runs f again
// when the outage ends. handed reports that the worker stopped first and m
// was nak'ed for another worker: the caller is done with m.
func (w *Worker) untilAnswered(m *message, f func() error) (handed bool, err error) {
	// answered is set when f, as the probe of the outage it began (see
	// confirm), succeeded: the outage has ended and f is done. The probe
	// runs in the outage's watch while this handler waits.
	answered := false
	again := func() error {
		err := f()
		answered = err == nil
		return err
	}
	for {
		err = f()
		if err == nil || errors.Is(err, errPanic) || errors.Is(err, errPermanent) || !w.outage.confirm(err, w.stopping, again) {
			return false, err
		}
		if !w.outage.wait(w.stopping) {
			w.metrics.nak("outage")
			if nerr := m.nak(0); nerr != nil {
				w.log.Warn("nak failed; the message will be redelivered after ack_wait", zap.Error(nerr))
			}
			return true, err
		}
		if answered {
			return false, nil
		}
	}
}

// probeDependencies is the outage probe: the output stream answers (its
// leader gives its info; see checkOutputStream, which with create_streams
// makes it again when it is gone) and, with state: kv, the dedupe bucket
// takes a new key (SharedMemory.Probe).
func (w *Worker) probeDependencies(ctx context.Context) error {
	if _, err := w.checkOutputStream(ctx); err != nil {
		return fmt.Errorf("output stream %s: %w", w.cfg.OutputStream, err)
	}
	if w.stateProbe != nil {
		if err := w.stateProbe(ctx); err != nil {
			return fmt.Errorf("dedupe bucket: %w", err)
		}
	}
	return nil
}
