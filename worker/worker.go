package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/winnow-dev/winnow/pipeline"
)

// NewPipeline builds one pipeline; the worker calls it once per handler.
type NewPipeline func() (*pipeline.Pipeline, error)

// Worker consumes documents from NATS, cleans them and publishes records.
type Worker struct {
	cfg         Config
	nc          *nats.Conn
	log         *zap.Logger
	metrics     *Metrics
	newPipeline NewPipeline
	pub         publisher
	outage      *outage                     // nil unless the outage policy is pause (JetStream)
	stateProbe  func(context.Context) error // see WatchState
	js          jetstream.JetStream         // set by Run (JetStream)
	stopping    <-chan struct{}             // closed when Run's context ends
	outRecheck  outputRecheck               // see recreateOutput
	copies      *copies                     // JetStream: inputs held and settled lately
	carrier     carrier                     // the input headers outcomes carry
	outMaxMsg   atomic.Int64                // the output stream's max_msg_size, 0 for none (see recordRoom)
	outLimitAt  atomic.Int64                // when it was last read, Unix nanoseconds

	consuming atomic.Bool
	draining  atomic.Bool // set once a shutdown begins, for NotReady

	pipesMu sync.Mutex              // one SetPipeline at a time
	pipes   chan *pipeline.Pipeline // the pipelines Run made, handed round its handlers
}

// New returns a worker on an open connection. log and metrics may be nil.
func New(nc *nats.Conn, cfg Config, newPipeline NewPipeline, log *zap.Logger, metrics *Metrics) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if nc == nil || newPipeline == nil {
		return nil, errors.New("worker: a connection and a pipeline constructor are required")
	}
	if log == nil {
		log = zap.NewNop()
	}
	w := &Worker{cfg: cfg, nc: nc, log: log, metrics: metrics, newPipeline: newPipeline, carrier: newCarrier(cfg.CarryHeaders)}
	if cfg.Mode == ModeJetStream && cfg.Outage == OutagePause {
		w.outage = newOutage(w.probeDependencies, log, metrics, func() { metrics.setReady(w.Ready()) })
	}
	// A record holds the kept text and every removed block with its
	// evidence, so it is larger than its document: 1.25x at the median of
	// the bench corpus, up to 11x for a small page of many short repeats
	// (see encodeWithin).
	switch mp := nc.MaxPayload(); {
	case mp <= 0:
	case int64(cfg.MaxDocBytes) > mp:
		log.Warn("max_doc_bytes is above the server's max_payload: such documents cannot arrive, and records near it may be refused",
			zap.Int("max_doc_bytes", int(cfg.MaxDocBytes)), zap.Int64("max_payload", mp))
	case 2*int64(cfg.MaxDocBytes) > mp:
		log.Warn("the server's max_payload is under twice max_doc_bytes: a record is larger than its document (it holds the removed text too), "+
			"so records of the largest documents may list fewer of their removals (removed_omitted counts the rest); raise max_payload or lower max_doc_bytes",
			zap.Int("max_doc_bytes", int(cfg.MaxDocBytes)), zap.Int64("max_payload", mp))
	}
	return w, nil
}

// WatchState gives the worker a probe of the shared dedupe state (see
// SharedMemory.Probe). Under the pause policy (Config.Outage) a failed
// claim is then checked against it, and while the probe fails too the
// worker holds its documents and pulls no more (see pauseIntake). Call it
// before Run.
func (w *Worker) WatchState(probe func(context.Context) error) {
	w.stateProbe = probe
}

// Ready reports whether the worker is connected and consuming. It turns
// false first thing on shutdown, and while intake is paused for an
// outage: NotReady says which.
func (w *Worker) Ready() bool { return w.NotReady() == "" }

// NotReady says why the worker is not ready, for /readyz; "" when it is.
func (w *Worker) NotReady() string {
	switch {
	case w.draining.Load():
		return "shutting down"
	case !w.consuming.Load():
		return "not consuming (starting, or the consumer being made again)"
	case !w.nc.IsConnected():
		return "NATS connection " + strings.ToLower(w.nc.Status().String()) + " (reconnecting by itself)"
	}
	if down, since, why := w.outage.status(); down {
		return fmt.Sprintf("paused for an outage since %s (%s ago): %s", since.UTC().Format(time.RFC3339),
			time.Since(since).Round(time.Second), why)
	}
	return ""
}

// Run consumes until ctx is cancelled, then drains: it turns unready, stops
// pulling, finishes the documents already received within DrainTimeout and
// returns. Documents not finished by then stay unacked and are redelivered.
// Run returns nil after a clean drain.
func (w *Worker) Run(ctx context.Context) error {
	w.stopping = ctx.Done()
	// Handlers wait on PubAcks most of the time; pipelines (buffers a
	// document's analysis fills) are only needed while one computes, so
	// there are no more of them than cores, and their buffers stay in
	// cache. A handler detaches its document's commit before publishing.
	// With state in KV a pipeline also waits inside Process (an exact
	// copy's claim is a round trip to the bucket): one per handler then.
	n := min(w.cfg.Handlers, runtime.GOMAXPROCS(0))
	if w.cfg.State == "kv" {
		n = w.cfg.Handlers
	}
	pipes := make(chan *pipeline.Pipeline, n)
	w.pipesMu.Lock() // SetPipeline meanwhile waits, then replaces these
	for range cap(pipes) {
		p, err := w.newPipeline()
		if err != nil {
			w.pipesMu.Unlock()
			return fmt.Errorf("worker: pipeline: %w", err)
		}
		pipes <- p
	}
	w.pipes = pipes
	w.pipesMu.Unlock()
	if w.cfg.Mode == ModeCore {
		return w.runCore(ctx, pipes)
	}
	return w.runJetStream(ctx, pipes)
}

// SetPipeline makes the worker clean with pipelines newPipeline makes from
// now on: a moderation policy reloaded (`winnow run`, on SIGHUP or when
// policy.watch sees its files change). It makes them all first, so an
// error leaves the running ones as they are, then puts each in the place
// of a running one as a handler gives that back: a document is cleaned by
// one pipeline or the other, never half by each. Before Run it only
// replaces the constructor. It returns once every pipeline is replaced,
// or when the worker stops first.
func (w *Worker) SetPipeline(newPipeline NewPipeline) error {
	w.pipesMu.Lock()
	defer w.pipesMu.Unlock()
	pipes := w.pipes
	if pipes == nil {
		w.newPipeline = newPipeline
		return nil
	}
	fresh := make([]*pipeline.Pipeline, cap(pipes))
	isFresh := make(map[*pipeline.Pipeline]bool, len(fresh))
	for i := range fresh {
		p, err := newPipeline()
		if err != nil {
			return fmt.Errorf("worker: pipeline: %w", err)
		}
		fresh[i], isFresh[p] = p, true
	}
	w.newPipeline = newPipeline
	for replaced := 0; replaced < len(fresh); {
		select {
		case p := <-pipes:
			if isFresh[p] { // every old one is with a handler: wait for one
				pipes <- p
				time.Sleep(time.Millisecond)
				continue
			}
			pipes <- fresh[replaced]
			replaced++
		case <-w.stopping:
			return errors.New("worker: stopped before every pipeline was replaced")
		}
	}
	return nil
}

// nextWait bounds each wait for the next message. nats.go's iterator
// (v1.55.0) sends a pull request only from inside Next, and skips it while
// its previous request is still being sent. When the messages that request
// asked for arrive and are taken before the send has finished (small pull
// batches on a loaded machine), Next goes on waiting with no request at the
// server and messages pending, until two idle heartbeats are missed. Seen
// with pull_batch 4 (1,200 inputs at once, three runs side by side): the
// server had delivered all 1,075 messages requested on the wire and held no
// pull request, with 125 pending, for 30 s. Returning after nextWait and
// calling Next again sends the missing request.
const nextWait = time.Second

// consumerCheck is how long the iterator may go without a message before
// the worker looks its consumer up (see lookUp in runJetStream), a lookup
// that holds the next message back for at most consumerCheckTimeout.
const (
	consumerCheck        = 10 * time.Second
	consumerCheckTimeout = 2 * time.Second
)

// pullHeartbeat is how often the server confirms an idle pull request.
// nats.go's iterator re-pulls after two go missing, but it watches for them
// only within one Next, which nextWait keeps shorter than that: a request
// gone unanswered is found by the worker's own lookup (consumerCheck).
const pullHeartbeat = 5 * time.Second

func (w *Worker) runJetStream(ctx context.Context, pipes chan *pipeline.Pipeline) error {
	js, err := NewJetStream(w.nc, w.cfg.JetStreamDomain)
	if err != nil {
		return fmt.Errorf("worker: jetstream: %w", err)
	}
	w.js = js
	var cons jetstream.Consumer
	// setUp makes (or checks) the streams and the consumer, waiting for
	// JetStream: at start, and again should the consumer be deleted.
	setUp := func(ctx context.Context) error {
		return untilJetStreamAnswers(ctx, w.nc, w.cfg.StartupWait, w.log, "streams and consumer", func(ctx context.Context) (err error) {
			cons, err = w.cfg.ensure(ctx, js)
			return err
		})
	}
	err = setUp(ctx)
	if ctx.Err() != nil {
		return nil // stopped before consuming
	}
	if err != nil {
		return noJetStream(ctx, js, err)
	}
	w.pub = &jsPublisher{js: js, w: w}
	// Records are fitted to the output stream's max_msg_size too; a limit
	// set later is read when the stream refuses a record (fitToStream).
	_ = w.readOutputLimit(ctx) // it warns; records are fitted to max_payload meanwhile
	w.copies = newCopies(4 * w.cfg.MaxAckPending)
	pull := func() (jetstream.MessagesContext, error) {
		return cons.Messages(jetstream.PullMaxMessages(w.cfg.PullBatch), jetstream.PullHeartbeat(pullHeartbeat))
	}
	iter, err := pull()
	if err != nil {
		return fmt.Errorf("worker: consume: %w", err)
	}
	// The shutdown below drains whichever iterator is current: a paused
	// intake (pauseIntake) replaces it.
	var iterMu sync.Mutex
	current, drained := iter, false
	swap := func(next jetstream.MessagesContext) bool {
		iterMu.Lock()
		defer iterMu.Unlock()
		if drained {
			return false
		}
		current = next
		return true
	}

	// hctx outlives ctx until the drain deadline: in-flight publishes finish.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	work := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	for range w.cfg.Handlers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pend pipeline.Pending
			ka := newKeepAlive(w.cfg.AckWait/2, w.cfg.heldLong(), w.outage.isDown, w.log, w.metrics)
			clock := w.metrics.handlerClock()
			defer w.metrics.handlerGone(clock)
			for msg := range work {
				m := w.fromJetStream(msg)
				switch w.copies.take(m) {
				case copyHeld:
					w.metrics.copy("held")
					continue
				case copySettled:
					w.metrics.copy("settled")
					_ = msg.Ack()
					continue
				}
				ka.start(m, msg.InProgress)
				clock.hold()
				w.handle(hctx, pipes, &pend, m)
				clock.free()
				ka.stop()
				w.copies.done(m)
			}
		}()
	}

	finished := make(chan struct{})
	defer close(finished)
	deadline := make(chan struct{}) // closed when the drain deadline passes
	go func() {
		select {
		case <-ctx.Done():
		case <-finished:
			return
		}
		w.draining.Store(true)
		w.setConsuming(false)
		w.log.Info("shutting down: unready, draining the pull consumer", zap.Duration("deadline", w.cfg.DrainTimeout))
		iterMu.Lock()
		drained = true
		current.Drain()
		iterMu.Unlock()
		select {
		case <-time.After(w.cfg.DrainTimeout):
			close(deadline)
			iterMu.Lock()
			current.Stop()
			iterMu.Unlock()
			hcancel()
		case <-finished:
		}
	}()
	w.setConsuming(true)
	w.log.Info("consuming", zap.String("stream", w.cfg.InputStream), zap.String("consumer", w.cfg.Durable),
		zap.String("subject", w.cfg.Subjects.Input), zap.Int("handlers", w.cfg.Handlers), zap.Int("pipelines", cap(pipes)))
	// The backlog metrics and a paused consumer's warning (watchBacklog),
	// until Run returns.
	bctx, stopLooking := context.WithCancel(ctx)
	looked := make(chan struct{})
	go func() { defer close(looked); w.watchBacklog(bctx) }()
	defer func() { stopLooking(); <-looked }()

	// nats.go's iterator can go on waiting with nothing requested: a
	// consumer deleted when no pull request of the worker's was waiting on
	// it (intake paused, the connection down) sends no "consumer deleted",
	// and the next request meets no responder, which the iterator
	// swallows; a request lost on the way to a consumer on another server
	// (a leaf node's link or a route cut and back, the worker's own
	// connection up throughout) is never answered, and the iterator asks
	// for no more until it is. Its heartbeat check, which would notice,
	// lasts only as long as one Next (nextWait). So an iterator quiet for
	// consumerCheck has the consumer looked up: gone, it is made again;
	// with no request waiting at it, or holding messages it could deliver,
	// the worker pulls again.
	quietSince := time.Now()
	lookUp := func() (stalled bool, deleted error) {
		if time.Since(quietSince) < consumerCheck {
			return false, nil
		}
		quietSince = time.Now()
		cctx, cancel := context.WithTimeout(ctx, consumerCheckTimeout)
		defer cancel()
		info, err := cons.Info(cctx)
		switch {
		case consumerMissing(err):
			return false, fmt.Errorf("%w (found missing while the worker waited: %v)", jetstream.ErrConsumerDeleted, err)
		case err != nil:
			return false, nil // not known: the pull goes on
		}
		// Lost: no pull request of anyone's waits at the consumer (an idle
		// iterator keeps one there), or messages wait deliverable (below
		// max_ack_pending) and none came. An operator's pause (`nats
		// consumer pause`) holds them back on purpose.
		deliverable := info.NumPending > 0 && (info.Config.MaxAckPending <= 0 || info.NumAckPending < info.Config.MaxAckPending)
		return !info.Paused && (info.NumWaiting == 0 || deliverable), nil
	}

	var runErr error
	var held []jetstream.Msg // taken from the iterator while intake was paused
loop:
	for {
		var msg jetstream.Msg
		if len(held) > 0 {
			msg, held = held[0], held[1:]
		} else {
			msg, err = iter.Next(jetstream.NextMaxWait(nextWait))
			if errors.Is(err, nats.ErrTimeout) {
				select {
				case <-deadline:
					// A drained or stopped iterator closes once the server
					// answers; with the connection down it never does.
					break loop
				default:
				}
				stalled, deleted := lookUp()
				if stalled {
					w.metrics.pullStalled()
					w.log.Warn("no message came, and the consumer has no pull request waiting or holds deliverable ones; pulling again",
						zap.Duration("quiet", consumerCheck))
					var got []jetstream.Msg
					var ok bool
					if iter, got, ok = w.pullAgain(iter, pull, swap); !ok {
						break
					}
					held = append(held, got...)
					continue
				}
				if err = deleted; err == nil {
					continue // calling Next again lets the iterator re-pull (see nextWait)
				}
			} else {
				quietSince = time.Now()
			}
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				// The server went quiet (restarting, a leader moving); the
				// iterator re-pulls once the connection is back.
				w.log.Warn("no heartbeat from the consumer; waiting for the server", zap.Error(err))
				continue
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) && w.cfg.CreateStreams {
				// Deleted under the worker (an operator's reset, the input
				// stream deleted with it): made again as start-up makes it,
				// rather than exiting, which would lose the in-process dedupe
				// memory. A document in flight may come again from the new
				// consumer; its record is then dropped by Nats-Msg-Id.
				iter.Stop()
				if iter, err = w.consumeAgain(ctx, err, setUp, pull, swap); iter != nil {
					continue
				}
				if err != nil {
					runErr = fmt.Errorf("worker: consumer deleted, and not made again: %w", err)
				}
				break
			}
			if err != nil {
				if !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					runErr = fmt.Errorf("worker: next message: %w", err)
					iter.Stop()
				}
				break
			}
		}
		if w.outage.isDown() {
			held = append([]jetstream.Msg{msg}, held...)
			var ok bool
			if iter, held, ok = w.pauseIntake(ctx, iter, held, pull, swap); !ok {
				break
			}
			continue
		}
		select {
		case work <- msg:
		case <-w.outage.beginning(): // every handler may be holding a document
			held = append([]jetstream.Msg{msg}, held...)
		case <-deadline: // left unacked: redelivered to another worker
			break loop
		}
	}
	w.setConsuming(false)
	close(work)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	deadlineErr := fmt.Errorf("worker: drain deadline %v passed; unfinished documents will be redelivered", w.cfg.DrainTimeout)
	select {
	case <-deadline: // the loop ended at the deadline, leaving what it held unacked
		<-done
		return errors.Join(runErr, deadlineErr)
	default:
	}
	select {
	case <-done:
	case <-deadline:
		<-done
		return errors.Join(runErr, deadlineErr)
	}
	w.log.Info("drained")
	return runErr
}

// pullAgain replaces the iterator it, whose pull request went unanswered,
// with a new one from pull, installed by swap. Messages it still delivers
// while it drains are returned, to be handled first. When no new iterator
// can be made, the old one goes on. It reports false when the worker is
// stopping.
func (w *Worker) pullAgain(it jetstream.MessagesContext, pull func() (jetstream.MessagesContext, error),
	swap func(jetstream.MessagesContext) bool) (jetstream.MessagesContext, []jetstream.Msg, bool) {
	next, err := pull()
	if err != nil {
		w.log.Warn("cannot pull again; keeping the old pull", zap.Error(err))
		return it, nil, true
	}
	if !swap(next) { // stopping
		next.Stop()
		return it, nil, false
	}
	var got []jetstream.Msg
	drainIterator(it, 2*nextWait, func(m jetstream.Msg) { got = append(got, m) })
	it.Stop()
	return next, got, true
}

// consumeAgain makes the consumer again after it was deleted (the error
// deleted), by setUp as at start-up, and returns a new iterator on it,
// installed by swap; nil when the worker is stopping, or with the error
// that kept it from consuming again.
func (w *Worker) consumeAgain(ctx context.Context, deleted error, setUp func(context.Context) error,
	pull func() (jetstream.MessagesContext, error), swap func(jetstream.MessagesContext) bool) (jetstream.MessagesContext, error) {
	w.setConsuming(false)
	w.log.Warn("the consumer was deleted; making it again (create_streams)", zap.Error(deleted),
		zap.Duration("after", deletionSettle))
	// The server tells a consumer's pull requests it was deleted, and frees
	// the stream's name, before it has moved the deleted stream's files
	// away: a stream made again at once can fail ("error creating store
	// for stream"), or be made in the directory about to be moved, and
	// then lose what is published to it. So wait a little first, and try
	// again while the store cannot be made yet.
	select {
	case <-ctx.Done():
		return nil, nil
	case <-time.After(deletionSettle):
	}
	err := StartupRetry{
		Wait:  deletionWait,
		Again: storeNotReady,
		Waiting: func(err error, retryIn time.Duration) {
			w.log.Warn("the deleted stream is still being removed", zap.Duration("retry_in", retryIn), zap.Error(err))
		},
		GaveUp: func(err error) error { return err },
	}.Do(ctx, func() error { return setUp(ctx) })
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, err
	}
	iter, err := pull()
	if err != nil {
		return nil, err
	}
	if !swap(iter) { // stopping
		iter.Stop()
		return nil, nil
	}
	w.metrics.consumerMadeAgain()
	w.setConsuming(true)
	w.log.Info("consuming again", zap.String("stream", w.cfg.InputStream), zap.String("consumer", w.cfg.Durable))
	return iter, nil
}

// deletionSettle is how long consumeAgain waits for the server to finish
// removing what was deleted before making it again, and deletionWait how
// long it goes on trying while the store cannot be made yet.
const (
	deletionSettle = time.Second
	deletionWait   = 15 * time.Second
)

// storeNotReady reports nats-server's JSStreamCreateErrF, "error creating
// store for stream", which a stream made again while the deleted one's
// files are being moved away meets.
func storeNotReady(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jsStreamCreate
}

const jsStreamCreate jetstream.ErrorCode = 10049

func (w *Worker) setConsuming(ok bool) {
	w.consuming.Store(ok)
	w.metrics.setReady(ok && w.nc.IsConnected())
}

func (w *Worker) fromJetStream(msg jetstream.Msg) *message {
	m := &message{subject: msg.Subject(), data: msg.Data(), header: msg.Headers(), delivered: 1,
		ack: msg.Ack, nak: msg.NakWithDelay, term: msg.TermWithReason}
	if md, err := msg.Metadata(); err == nil {
		m.delivered = int(md.NumDelivered)
		m.published = md.Timestamp
		m.dlqID = deadLetterID(md.Stream, md.Sequence.Stream, md.Timestamp)
		m.seq = md.Sequence.Stream
	}
	return m
}

// runCore consumes with a plain core-NATS queue group: one subscription per
// handler, so the server spreads messages over them and over replicas.
func (w *Worker) runCore(ctx context.Context, pipes chan *pipeline.Pipeline) error {
	w.pub = &corePublisher{nc: w.nc}
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	var wg sync.WaitGroup
	// A subscription's clock is set while its callback is on a document.
	clocks := make([]*handlerClock, w.cfg.Handlers)
	subs := make([]*nats.Subscription, 0, w.cfg.Handlers)
	for i := range w.cfg.Handlers {
		var pend pipeline.Pending // a subscription's callbacks run one at a time
		clock := w.metrics.handlerClock()
		defer w.metrics.handlerGone(clock)
		clocks[i] = clock
		sub, err := w.nc.QueueSubscribe(w.cfg.Subjects.Input, w.cfg.QueueGroup, func(msg *nats.Msg) {
			wg.Add(1)
			defer wg.Done()
			clock.hold()
			defer clock.free()
			noop := func() error { return nil }
			w.handle(hctx, pipes, &pend, &message{subject: msg.Subject, data: msg.Data, header: msg.Header, delivered: 1,
				ack: noop, nak: func(time.Duration) error { return nil }, term: func(string) error { return nil }})
		})
		if err != nil {
			return fmt.Errorf("worker: queue subscribe: %w", err)
		}
		subs = append(subs, sub)
	}
	// Ready once the server has the subscriptions: a message published
	// before then (core NATS keeps none) reaches no one. Without an answer
	// (a reconnect, which sends them again), ready all the same.
	if err := w.nc.FlushTimeout(w.cfg.PublishTimeout); err != nil {
		w.log.Warn("the server did not confirm the queue subscriptions", zap.Error(err))
	}
	w.setConsuming(true)
	w.log.Info("consuming (core NATS, at most once)", zap.String("subject", w.cfg.Subjects.Input), zap.String("queue", w.cfg.QueueGroup))
	<-ctx.Done()
	w.draining.Store(true)
	w.setConsuming(false)
	for _, s := range subs {
		_ = s.Drain()
	}
	deadline := time.Now().Add(w.cfg.DrainTimeout)
	for _, s := range subs {
		for s.IsValid() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	// A subscription that did not drain (the connection down) is dropped,
	// so no callback starts while the handlers are waited for; the
	// messages it still buffered are lost (at most once).
	buffered := 0
	for i, s := range subs {
		if s.IsValid() {
			if n, _, err := s.Pending(); err == nil {
				if clocks[i].holding() {
					n-- // its count includes the message its callback is on, counted apart
				}
				buffered += max(n, 0)
			}
			_ = s.Unsubscribe()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var lost error
	if buffered > 0 {
		lost = fmt.Errorf("worker: %d messages buffered when the drain deadline passed are lost (core mode)", buffered)
	}
	select {
	case <-done:
		return lost
	case <-time.After(time.Until(deadline)):
		held := false
		for _, c := range clocks {
			held = held || c.holding()
		}
		if !held {
			// No handler holds a document, though a subscription did not
			// drain (the connection down).
			return lost
		}
		hcancel()
		<-done
		return errors.Join(lost, fmt.Errorf("worker: drain deadline %v passed; unfinished documents are lost (core mode)", w.cfg.DrainTimeout))
	}
}
