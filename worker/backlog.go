package worker

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// backlogEvery is how often a consuming worker looks its input consumer up
// for winnow_consumer_pending and winnow_consumer_ack_pending (one
// CONSUMER.INFO request, the one the pull-stall check makes); a look older
// than backlogStale lookups is not exported.
const (
	backlogEvery = 10 * time.Second
	backlogStale = 3
)

// consumerBacklog is a Prometheus collector of the input consumer's backlog
// as the worker last looked it up. It exports nothing while it knows
// nothing current (core mode, before the first look, the server away for
// backlogStale looks, after the worker stops consuming): a stale count would
// read as a backlog that neither grows nor shrinks.
type consumerBacklog struct {
	pendingDesc, ackPendingDesc *prometheus.Desc

	mu                  sync.Mutex
	pending, ackPending float64
	until               time.Time // the look is current until then
}

func newConsumerBacklog() *consumerBacklog {
	return &consumerBacklog{
		pendingDesc: prometheus.NewDesc("winnow_consumer_pending",
			"Inputs on the input stream that the worker's consumer has not yet delivered (its num_pending), looked up every 10s; "+
				"every replica reports the same consumer (take the max); absent while no current look is known (core mode, NATS away).", nil, nil),
		ackPendingDesc: prometheus.NewDesc("winnow_consumer_ack_pending",
			"Inputs the consumer has delivered, to any replica, and not yet had acknowledged (its num_ack_pending), looked up every 10s; "+
				"absent as winnow_consumer_pending is.", nil, nil),
	}
}

func (c *consumerBacklog) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pendingDesc
	ch <- c.ackPendingDesc
}

func (c *consumerBacklog) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	pending, ackPending, current := c.pending, c.ackPending, time.Now().Before(c.until)
	c.mu.Unlock()
	if !current {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.pendingDesc, prometheus.GaugeValue, pending)
	ch <- prometheus.MustNewConstMetric(c.ackPendingDesc, prometheus.GaugeValue, ackPending)
}

// set records a look, current for validFor; validFor 0 forgets it.
func (c *consumerBacklog) set(pending uint64, ackPending int, validFor time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending, c.ackPending, c.until = float64(pending), float64(ackPending), time.Now().Add(validFor)
}

// consumerLooked records the input consumer's backlog as a look found it.
func (m *Metrics) consumerLooked(pending uint64, ackPending int, validFor time.Duration) {
	if m != nil {
		m.backlog.set(pending, ackPending, validFor)
	}
}

// consumerUnknown stops exporting the backlog (the worker stopped looking).
func (m *Metrics) consumerUnknown() {
	if m != nil {
		m.backlog.set(0, 0, 0)
	}
}

// watchBacklog looks the input consumer up every backlogEvery until ctx
// ends, for the backlog metrics, and says in the log when it finds the
// consumer paused by an operator (`nats consumer pause`: no input comes,
// however long the backlog, and the worker is otherwise quiet about it)
// and when it is resumed.
func (w *Worker) watchBacklog(ctx context.Context) {
	every := w.cfg.backlogEvery
	if every <= 0 {
		every = backlogEvery
	}
	defer w.metrics.consumerUnknown()
	log := w.log.With(zap.String("stream", w.cfg.InputStream), zap.String("consumer", w.cfg.Durable))
	paused, failing := false, false
	look := func() {
		lctx, cancel := context.WithTimeout(ctx, consumerCheckTimeout)
		defer cancel()
		cons, err := w.js.Consumer(lctx, w.cfg.InputStream, w.cfg.Durable)
		if refused := publishRefused(w.nc, err, apiPrefix(w.js)+"CONSUMER.INFO."+w.cfg.InputStream+"."+w.cfg.Durable+`"`); refused != nil {
			err = refused // the server says why only aside
		}
		if err != nil {
			// The last look stands until it is stale. Said once a streak:
			// a user not let look (CONSUMER.INFO) would otherwise see the
			// counts missing and nothing say why.
			if !failing && ctx.Err() == nil {
				log.Warn("the input consumer could not be looked up: winnow_consumer_pending and winnow_consumer_ack_pending are left out until it can",
					zap.Error(err))
				failing = true
			}
			return
		}
		if failing {
			log.Info("the input consumer is looked up again")
			failing = false
		}
		info := cons.CachedInfo()
		w.metrics.consumerLooked(info.NumPending, info.NumAckPending, backlogStale*every)
		switch {
		case info.Paused && !paused:
			log.Warn("the input consumer is paused (nats consumer pause): no input comes until it resumes",
				zap.Duration("resumes_in", info.PauseRemaining.Round(time.Second)), zap.Uint64("pending", info.NumPending))
		case !info.Paused && paused:
			log.Info("the input consumer is resumed")
		}
		paused = info.Paused
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		look()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
