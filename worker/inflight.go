package worker

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// heldClocks is a Prometheus collector of how long the handler that has
// held its document longest has held it (winnow_in_flight_oldest_seconds).
// winnow_in_flight says how many documents the handlers hold; this says
// whether one of them is stuck, as it happens and against whatever
// threshold an operator alerts on, where WinnowDocumentHeldLong speaks
// once a document passes 5 minutes. Each handler owns a clock, set as it
// takes a document and cleared as it lets it go: two atomic stores a
// document, and a scrape reads every clock.
type heldClocks struct {
	desc *prometheus.Desc

	mu     sync.Mutex
	clocks map[*handlerClock]struct{}
}

// handlerClock is when one handler took the document it holds, in Unix
// nanoseconds; 0 between documents.
type handlerClock struct{ since atomic.Int64 }

func (c *handlerClock) hold() { c.since.Store(time.Now().UnixNano()) }
func (c *handlerClock) free() { c.since.Store(0) }

// holding reports whether the handler holds a document now.
func (c *handlerClock) holding() bool { return c.since.Load() != 0 }

func newHeldClocks() *heldClocks {
	return &heldClocks{
		desc: prometheus.NewDesc("winnow_in_flight_oldest_seconds",
			"How long the handler that has held its document longest has held it, now; 0 while no handler holds one. "+
				"Documents take milliseconds: a value that climbs is a handler stuck on one (an outage's pause holds them too: winnow_paused).", nil, nil),
		clocks: map[*handlerClock]struct{}{},
	}
}

func (h *heldClocks) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

func (h *heldClocks) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(h.desc, prometheus.GaugeValue, h.oldest(time.Now()).Seconds())
}

// oldest is how long, at now, the longest-held document has been held.
func (h *heldClocks) oldest(now time.Time) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var first int64
	for c := range h.clocks {
		if s := c.since.Load(); s != 0 && (first == 0 || s < first) {
			first = s
		}
	}
	if first == 0 {
		return 0
	}
	return max(0, now.Sub(time.Unix(0, first)))
}

// handlerClock gives a handler its clock, read by the metric until
// handlerGone; without metrics the clock is read by no one.
func (m *Metrics) handlerClock() *handlerClock {
	c := &handlerClock{}
	if m != nil {
		m.held.mu.Lock()
		m.held.clocks[c] = struct{}{}
		m.held.mu.Unlock()
	}
	return c
}

// handlerGone stops reading a handler's clock: its handler has ended.
func (m *Metrics) handlerGone(c *handlerClock) {
	if m != nil {
		m.held.mu.Lock()
		delete(m.held.clocks, c)
		m.held.mu.Unlock()
	}
}
