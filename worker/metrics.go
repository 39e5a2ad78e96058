package worker

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/schemas"
)

// Metrics are the worker's Prometheus collectors, all prefixed winnow_.
// Build them with NewMetrics on a registry the caller owns; a nil *Metrics
// records nothing.
type Metrics struct {
	documents     *prometheus.CounterVec
	duplicates    *prometheus.CounterVec
	removed       *prometheus.CounterVec
	omitted       *prometheus.CounterVec
	flags         *prometheus.CounterVec
	rejections    *prometheus.CounterVec
	deadLetters   *prometheus.CounterVec
	bytesIn       prometheus.Counter
	bytesOut      prometheus.Counter
	processing    prometheus.Histogram
	endToEnd      prometheus.Histogram
	inFlight      prometheus.Gauge
	redeliveries  prometheus.Counter
	inProgress    prometheus.Counter
	naks          *prometheus.CounterVec
	duplicateAcks *prometheus.CounterVec
	ready         prometheus.Gauge
	kvSeconds     prometheus.Histogram
	redriven      *prometheus.CounterVec
	pausedNow     prometheus.Gauge
	pausedHeld    prometheus.Gauge
	pauses        prometheus.Counter
	pausedSeconds prometheus.Counter
	copies        *prometheus.CounterVec
	consumerMade  prometheus.Counter
	pullStalls    prometheus.Counter
	reloads       *prometheus.CounterVec
	reloadOK      prometheus.Gauge
	backlog       *consumerBacklog
	heldLong      prometheus.Counter
	held          *heldClocks
}

// NewMetrics registers the worker's collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	lat := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	m := &Metrics{
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_documents_total",
			Help: "Documents finished, by outcome (clean, duplicate, rejected, dead_letter)."}, []string{"outcome"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_duplicates_total",
			Help: "Documents found duplicates of an earlier one, by the rule that found them (exact, near, blocks)."}, []string{"rule"}),
		removed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_blocks_removed_total",
			Help: "Blocks removed from documents, by reason."}, []string{"reason"}),
		omitted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_removals_omitted_total",
			Help: "Removals counted in their record (stats.removed_by_reason, removed_omitted) but not listed in it: " +
				"past pipeline.max_removals (cause max_removals), or more than a record within the server's max_payload " +
				"or the output stream's max_msg_size holds (cause max_payload, max_msg_size)."}, []string{"cause"}),
		flags: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_flags_total",
			Help: "Documents a moderation rule flagged (the record carries the flag; a record may carry several), by rule."}, []string{"rule"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_rejections_total",
			Help: "Documents a moderation rule rejected (sent to the rejected subject), by rule."}, []string{"rule"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_dead_letters_total",
			Help: "Inputs dead-lettered, by reason."}, []string{"reason"}),
		bytesIn:  prometheus.NewCounter(prometheus.CounterOpts{Name: "winnow_bytes_in_total", Help: "Input message bytes, as they came (compressed, for a body with a Content-Encoding)."}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{Name: "winnow_bytes_out_total", Help: "Cleaned text bytes written."}),
		processing: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "winnow_processing_seconds",
			Help: "Time from a message's arrival at a handler to its ack.", Buckets: lat}),
		endToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "winnow_end_to_end_seconds",
			Help: "Time from the input's publication (stream timestamp) to its ack.", Buckets: lat}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "winnow_in_flight", Help: "Documents being processed now."}),
		redeliveries: prometheus.NewCounter(prometheus.CounterOpts{Name: "winnow_redeliveries_total",
			Help: "Messages received with a delivery count above 1."}),
		inProgress: prometheus.NewCounter(prometheus.CounterOpts{Name: "winnow_in_progress_acks_total",
			Help: "In-progress acks sent for documents a handler held past half the ack wait."}),
		naks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_naks_total",
			Help: "Messages negatively acknowledged for redelivery, by cause."}, []string{"cause"}),
		duplicateAcks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_publish_duplicates_total",
			Help: "Outputs not stored because the output stream held one of the same Nats-Msg-Id: retry (this input's own, " +
				"from an earlier delivery or attempt), same_id (a record of the document id from another input, within duplicate_window)."},
			[]string{"cause"}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{Name: "winnow_ready", Help: "1 while connected and consuming."}),
		redriven: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_redriven_total",
			Help: "Redriven inputs (winnow redrive) finished, by outcome."}, []string{"outcome"}),
		pausedNow: prometheus.NewGauge(prometheus.GaugeOpts{Name: "winnow_paused",
			Help: "1 while intake is paused because the output stream or the shared dedupe bucket does not answer (outage: pause)."}),
		pausedHeld: prometheus.NewGauge(prometheus.GaugeOpts{Name: "winnow_paused_held",
			Help: "Pulled documents a paused intake holds for when the outage ends, their ack deadlines kept fresh (the handlers' own are in winnow_in_flight)."}),
		pauses: prometheus.NewCounter(prometheus.CounterOpts{Name: "winnow_pauses_total",
			Help: "Outages intake was paused for."}),
		pausedSeconds: prometheus.NewCounter(prometheus.CounterOpts{Name: "winnow_paused_seconds_total",
			Help: "Time intake spent paused (counted when each outage ends)."}),
		copies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_copies_total",
			Help: "Second copies of an input that got no outcome of their own: held (another handler held the input) or settled (its outcome was durable already)."}, []string{"state"}),
		consumerMade: prometheus.NewCounter(prometheus.CounterOpts{Name: "winnow_consumer_recreated_total",
			Help: "Times the input consumer was deleted under the worker and made again (create_streams)."}),
		pullStalls: prometheus.NewCounter(prometheus.CounterOpts{Name: "winnow_pull_stalls_total",
			Help: "Times the worker, given no message for 10s, found no pull request waiting at the input consumer or deliverable messages held there, and pulled again (a pull request lost between servers)."}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "winnow_policy_reloads_total",
			Help: "Moderation policy reloads (SIGHUP, or policy.watch seeing its files change), by result: ok, or failed (the running policy stays)."}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "winnow_policy_last_reload_successful",
			Help: "0 while the last moderation policy reload failed (the running policy stays), else 1."}),
		kvSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "winnow_dedupe_kv_seconds",
			Help: "Latency of claims on the shared dedupe bucket.", Buckets: lat}),
		backlog: newConsumerBacklog(),
		heldLong: prometheus.NewCounter(prometheus.CounterOpts{Name: "winnow_documents_held_long_total",
			Help: "Documents a handler held over 5m outside an outage, each counted once when it passes that (the log's warning names its input): " +
				"in-progress acks keep such an input from redelivery while its handler holds it."}),
		held: newHeldClocks(),
	}
	reg.MustRegister(m.documents, m.duplicates, m.removed, m.omitted, m.flags, m.rejections, m.deadLetters, m.bytesIn, m.bytesOut, m.processing, m.endToEnd,
		m.inFlight, m.redeliveries, m.inProgress, m.naks, m.duplicateAcks, m.ready, m.kvSeconds, m.redriven,
		m.pausedNow, m.pausedHeld, m.pauses, m.pausedSeconds, m.copies, m.consumerMade, m.pullStalls, m.reloads, m.reloadOK, m.backlog, m.heldLong, m.held)
	// Known label values start at zero, so rates and alerts see them
	// before the first event.
	for _, o := range []string{"clean", "duplicate", "rejected", "dead_letter"} {
		m.documents.WithLabelValues(o)
		m.redriven.WithLabelValues(o)
	}
	for _, r := range schemas.Reasons {
		m.deadLetters.WithLabelValues(string(r))
	}
	m.omitted.WithLabelValues(omittedMaxRemovals)
	m.omitted.WithLabelValues(omittedMaxPayload)
	m.omitted.WithLabelValues(omittedMaxMsgSize)
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("failed")
	m.reloadOK.Set(1)
	m.copies.WithLabelValues("held")
	m.copies.WithLabelValues("settled")
	m.duplicateAcks.WithLabelValues(dupRetry)
	m.duplicateAcks.WithLabelValues(dupSameID)
	for _, r := range []string{dedupe.RuleExact, dedupe.RuleNear, dedupe.RuleBlocks} {
		m.duplicates.WithLabelValues(r)
	}
	for _, c := range []string{"decode", "panic", "state", "encode", "publish", "dead_letter_publish", "outage"} {
		m.naks.WithLabelValues(c)
	}
	for _, r := range []string{"exact_repeat", "near_repeat", "cross_repeat", "promotional", "blocklist", "boilerplate",
		"pii.email", "pii.phone", "pii.card"} {
		m.removed.WithLabelValues(r)
	}
	for _, r := range []string{"spam", "promotional", "blocklist", "boilerplate", "pii.email", "pii.phone", "pii.card"} {
		m.flags.WithLabelValues(r)
		m.rejections.WithLabelValues(r)
	}
	return m
}

func (m *Metrics) copy(state string) {
	if m != nil {
		m.copies.WithLabelValues(state).Inc()
	}
}

// holding sets how many pulled documents a paused intake holds.
func (m *Metrics) holding(n int) {
	if m != nil {
		m.pausedHeld.Set(float64(n))
	}
}

func (m *Metrics) heldLongOne() {
	if m != nil {
		m.heldLong.Inc()
	}
}

func (m *Metrics) inProgressAck() {
	if m != nil {
		m.inProgress.Inc()
	}
}

func (m *Metrics) inFlightAdd(d float64) {
	if m != nil {
		m.inFlight.Add(d)
	}
}

func (m *Metrics) received(bytes, delivered int) {
	if m == nil {
		return
	}
	m.bytesIn.Add(float64(bytes))
	if delivered > 1 {
		m.redeliveries.Inc()
	}
}

func (m *Metrics) done(outcome string, rec schemas.Record, start, published time.Time) {
	if m == nil {
		return
	}
	now := time.Now()
	m.documents.WithLabelValues(outcome).Inc()
	if rec.DuplicateRule != "" {
		m.duplicates.WithLabelValues(rec.DuplicateRule).Inc()
	}
	m.bytesOut.Add(float64(len(rec.Text)))
	for reason, n := range rec.Stats.RemovedByReason {
		m.removed.WithLabelValues(reason).Add(float64(n))
	}
	for _, f := range rec.Flags {
		m.flags.WithLabelValues(f.Rule).Inc()
	}
	if rec.Rejected != nil {
		m.rejections.WithLabelValues(rec.Rejected.Rule).Inc()
	}
	m.processing.Observe(now.Sub(start).Seconds())
	if !published.IsZero() {
		m.endToEnd.Observe(now.Sub(published).Seconds())
	}
}

// The causes of winnow_removals_omitted_total.
const (
	omittedMaxRemovals = "max_removals"
	omittedMaxPayload  = "max_payload"
	omittedMaxMsgSize  = "max_msg_size"
)

// omittedRemovals counts the removals a record does not list: byCap past
// pipeline.max_removals, bySize more that its message could not hold
// under limit (omittedMaxPayload or omittedMaxMsgSize).
func (m *Metrics) omittedRemovals(byCap, bySize int, limit string) {
	if m == nil {
		return
	}
	if byCap > 0 {
		m.omitted.WithLabelValues(omittedMaxRemovals).Add(float64(byCap))
	}
	if bySize > 0 {
		m.omitted.WithLabelValues(limit).Add(float64(bySize))
	}
}

func (m *Metrics) nak(cause string) { m.nakN(cause, 1) }

func (m *Metrics) nakN(cause string, n int) {
	if m != nil {
		m.naks.WithLabelValues(cause).Add(float64(n))
	}
}

func (m *Metrics) paused() {
	if m != nil {
		m.pausedNow.Set(1)
		m.pauses.Inc()
	}
}

func (m *Metrics) resumed(paused time.Duration) {
	if m != nil {
		m.pausedNow.Set(0)
		m.pausedSeconds.Add(paused.Seconds())
	}
}

func (m *Metrics) deadLetter(reason string) {
	if m != nil {
		m.documents.WithLabelValues("dead_letter").Inc()
		m.deadLetters.WithLabelValues(reason).Inc()
	}
}

// The causes of winnow_publish_duplicates_total.
const (
	dupRetry  = "retry"
	dupSameID = "same_id"
)

func (m *Metrics) duplicateAck(cause string) {
	if m != nil {
		m.duplicateAcks.WithLabelValues(cause).Inc()
	}
}

func (m *Metrics) setReady(ok bool) {
	if m == nil {
		return
	}
	v := 0.0
	if ok {
		v = 1
	}
	m.ready.Set(v)
}

func (m *Metrics) kvLatency(d time.Duration) {
	if m != nil {
		m.kvSeconds.Observe(d.Seconds())
	}
}

// RegisterMemory exports a cross-document memory's sizes (read on scrape)
// and, for a shared one, how many other workers' commits it applied.
func RegisterMemory(reg prometheus.Registerer, mem any) {
	st, ok := mem.(interface{ Stats() dedupe.MemoryStats })
	if !ok {
		return
	}
	gauge := func(name, help string, f func(dedupe.MemoryStats) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f(st.Stats())) })
	}
	reg.MustRegister(
		gauge("winnow_dedupe_index_documents", "Documents inside the cross-document window.", func(s dedupe.MemoryStats) int { return s.Documents }),
		gauge("winnow_dedupe_index_blocks", "Block fingerprints held.", func(s dedupe.MemoryStats) int { return s.Blocks }),
		gauge("winnow_dedupe_index_shingles", "Sampled shingles held.", func(s dedupe.MemoryStats) int { return s.Shingles }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "winnow_dedupe_index_rotations_total",
			Help: "Generations of the index dropped (the oldest entries evicted)."}, func() float64 { return float64(st.Stats().Rotations) }),
	)
	replicated := func() float64 { return 0 } // a process-local memory replicates nothing
	sh, shared := mem.(*SharedMemory)
	if shared {
		replicated = func() float64 { return float64(sh.Replicated()) }
	}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "winnow_dedupe_replicated_total",
		Help: "Other workers' commits applied from the shared bucket."}, replicated))
	if !shared {
		return
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "winnow_dedupe_bucket_bytes",
			Help: "Size of the shared dedupe bucket's stream (worker.shared.max_bytes bounds it), looked at every 5s."},
			func() float64 { b, _ := sh.BucketSize(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "winnow_dedupe_bucket_messages",
			Help: "Commits and claims in the shared dedupe bucket, looked at every 5s."},
			func() float64 { _, n := sh.BucketSize(); return float64(n) }),
	)
}

// PolicyReloaded counts a moderation policy reload (`winnow run`, on
// SIGHUP or policy.watch) by whether it took.
func (m *Metrics) PolicyReloaded(ok bool) {
	if m == nil {
		return
	}
	result, gauge := "ok", 1.0
	if !ok {
		result, gauge = "failed", 0
	}
	m.reloads.WithLabelValues(result).Inc()
	m.reloadOK.Set(gauge)
}

// consumerMadeAgain counts the consumer made again after its deletion.
func (m *Metrics) consumerMadeAgain() {
	if m == nil {
		return
	}
	m.consumerMade.Inc()
}

// pullStalled counts a pull made again for want of an answer.
func (m *Metrics) pullStalled() {
	if m == nil {
		return
	}
	m.pullStalls.Inc()
}

// redrivenDone counts a redriven input's outcome.
func (m *Metrics) redrivenDone(outcome string) {
	if m == nil {
		return
	}
	m.redriven.WithLabelValues(outcome).Inc()
}
