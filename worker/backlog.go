package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// backlogEvery is how often a consuming worker looks its input consumer up
// for winnow_consumer_pending and winnow_consumer_ack_pending (one
// CONSUMER.INFO request, the one the pull-stall check makes) and, while
// inputs wait, reads the oldest for winnow_consumer_lag_seconds (one
// message get); a look older than backlogStale lookups is not exported.
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
	pendingDesc, ackPendingDesc, lagDesc *prometheus.Desc

	mu                  sync.Mutex
	pending, ackPending float64
	until               time.Time // the look is current until then
	lag                 float64   // seconds
	lagUntil            time.Time // the oldest input's read is current until then
}

func newConsumerBacklog() *consumerBacklog {
	return &consumerBacklog{
		pendingDesc: prometheus.NewDesc("winnow_consumer_pending",
			"Inputs on the input stream that the worker's consumer has not yet delivered (its num_pending), looked up every 10s; "+
				"every replica reports the same consumer (take the max); absent while no current look is known (core mode, NATS away).", nil, nil),
		ackPendingDesc: prometheus.NewDesc("winnow_consumer_ack_pending",
			"Inputs the consumer has delivered, to any replica, and not yet had acknowledged (its num_ack_pending), looked up every 10s; "+
				"absent as winnow_consumer_pending is.", nil, nil),
		lagDesc: prometheus.NewDesc("winnow_consumer_lag_seconds",
			"How long the oldest input the consumer has not had acknowledged has waited since the server stored it (0 when none waits): "+
				"how far behind the replicas are, in time; read with the backlog every 10s, against this replica's clock; "+
				"absent as winnow_consumer_pending is, and while the oldest input cannot be read (STREAM.MSG.GET).", nil, nil),
	}
}

func (c *consumerBacklog) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pendingDesc
	ch <- c.ackPendingDesc
	ch <- c.lagDesc
}

func (c *consumerBacklog) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	now := time.Now()
	pending, ackPending, current := c.pending, c.ackPending, now.Before(c.until)
	lag, lagCurrent := c.lag, now.Before(c.lagUntil)
	c.mu.Unlock()
	if !current {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.pendingDesc, prometheus.GaugeValue, pending)
	ch <- prometheus.MustNewConstMetric(c.ackPendingDesc, prometheus.GaugeValue, ackPending)
	if lagCurrent {
		ch <- prometheus.MustNewConstMetric(c.lagDesc, prometheus.GaugeValue, lag)
	}
}

// set records a look, current for validFor; validFor 0 forgets it, and
// the lag with it.
func (c *consumerBacklog) set(pending uint64, ackPending int, validFor time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending, c.ackPending, c.until = float64(pending), float64(ackPending), time.Now().Add(validFor)
	if validFor == 0 {
		c.lagUntil = time.Time{}
	}
}

// setLag records the oldest waiting input's age, current for validFor.
func (c *consumerBacklog) setLag(lag time.Duration, validFor time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lag, c.lagUntil = lag.Seconds(), time.Now().Add(validFor)
}

// consumerLooked records the input consumer's backlog as a look found it.
func (m *Metrics) consumerLooked(pending uint64, ackPending int, validFor time.Duration) {
	if m != nil {
		m.backlog.set(pending, ackPending, validFor)
	}
}

// consumerLagged records how long the oldest input waiting on the consumer
// has waited.
func (m *Metrics) consumerLagged(lag, validFor time.Duration) {
	if m != nil {
		m.backlog.setLag(lag, validFor)
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
	// A look is current for backlogStale periods and the most its two
	// requests may take (a refused one waits out its timeout).
	valid := backlogStale*every + 2*consumerCheckTimeout
	paused, failing, lagFailing := false, false, false
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
		w.metrics.consumerLooked(info.NumPending, info.NumAckPending, valid)
		switch {
		case info.Paused && !paused:
			log.Warn("the input consumer is paused (nats consumer pause): no input comes until it resumes",
				zap.Duration("resumes_in", info.PauseRemaining.Round(time.Second)), zap.Uint64("pending", info.NumPending))
		case !info.Paused && paused:
			log.Info("the input consumer is resumed")
		}
		paused = info.Paused

		lag, err := w.inputLag(ctx, info)
		if err != nil {
			if !lagFailing && ctx.Err() == nil {
				log.Warn("the oldest waiting input could not be read: winnow_consumer_lag_seconds is left out until it can", zap.Error(err))
				lagFailing = true
			}
			return
		}
		if lagFailing {
			log.Info("the oldest waiting input is read again")
			lagFailing = false
		}
		w.metrics.consumerLagged(lag, valid)
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

// inputLag is how long the oldest input on the consumer not yet
// acknowledged, the first after its ack floor, has waited since the server
// stored it: 0 when none waits (or all have been acknowledged since the
// consumer was looked up). Under several filter subjects the first message
// of the stream after the floor stands in for it, which may be older.
func (w *Worker) inputLag(ctx context.Context, info *jetstream.ConsumerInfo) (time.Duration, error) {
	if info.NumPending == 0 && info.NumAckPending == 0 {
		return 0, nil
	}
	filter := info.Config.FilterSubject
	if filter == "" {
		filter = ">"
	}
	rctx, cancel := context.WithTimeout(ctx, consumerCheckTimeout)
	defer cancel()
	m, err := nextFrom(rctx, w.js, w.cfg.InputStream, info.AckFloor.Stream+1, filter)
	if refused := publishRefused(w.nc, err, apiPrefix(w.js)+"STREAM.MSG.GET."+w.cfg.InputStream+`"`); refused != nil {
		err = refused // the server says why only aside
	}
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return max(0, time.Since(m.Time)), nil
}
