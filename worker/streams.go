package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// outputSubjects are the output stream's subjects.
func (c Config) outputSubjects() []string {
	return []string{c.Subjects.Clean + ".>", c.Subjects.Dup + ".>", c.Subjects.Rejected + ".>", c.Subjects.DLQ + ".>"}
}

// consumerConfig is the durable pull consumer every replica shares.
// MaxDeliver is enforced by the worker (see handle), not the server: the
// server would drop a message silently after its last delivery, while the
// worker dead-letters it, so the consumer itself redelivers without limit.
func (c Config) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       c.Durable,
		Description:   "winnow cleaning workers",
		FilterSubject: c.Subjects.Input,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: c.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      0, // inherit the stream's
	}
}

// outputStreamConfig is the output stream create_streams makes.
func (c Config) outputStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name: c.OutputStream, Description: "winnow output: clean, duplicate, rejected and dead-letter records",
		Subjects: c.outputSubjects(), Storage: jetstream.FileStorage, Replicas: c.Replicas,
		Duplicates: c.DuplicateWindow, Compression: c.storeCompression(),
	}
}

// storeCompression is Compression as a stream configuration says it.
func (c Config) storeCompression() jetstream.StoreCompression {
	if c.Compression == "s2" {
		return jetstream.S2Compression
	}
	return jetstream.NoCompression
}

// ensure creates the streams when configured to (or brings the settings
// winnow owns up to date, see ensureStream) and creates or updates the
// consumer, else checks they exist, and returns the consumer.
func (c Config) ensure(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	if c.CreateStreams {
		if err := ensureStream(ctx, js, jetstream.StreamConfig{
			Name: c.InputStream, Description: "winnow input: raw documents",
			Subjects: []string{c.Subjects.Input}, Storage: jetstream.FileStorage, Replicas: c.Replicas,
			Retention: jetstream.WorkQueuePolicy, Duplicates: c.DuplicateWindow, Compression: c.storeCompression(),
		}); err != nil {
			return nil, fmt.Errorf("worker: input stream %s: %w", c.InputStream, err)
		}
		if err := ensureStream(ctx, js, c.outputStreamConfig()); err != nil {
			return nil, fmt.Errorf("worker: output stream %s: %w", c.OutputStream, err)
		}
		cons, err := js.CreateOrUpdateConsumer(ctx, c.InputStream, c.consumerConfig())
		if err != nil {
			return nil, fmt.Errorf("worker: create consumer %s: %w", c.Durable, c.takenByConsumer(ctx, js, err))
		}
		return cons, nil
	}
	if _, err := js.Stream(ctx, c.OutputStream); errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("worker: output stream %s: %w (set worker.create_streams to create it)", c.OutputStream, err)
	} else if err != nil {
		return nil, fmt.Errorf("worker: output stream %s: %w", c.OutputStream, err)
	}
	cons, err := js.Consumer(ctx, c.InputStream, c.Durable)
	if consumerMissing(err) {
		return nil, fmt.Errorf("worker: consumer %s on %s: %w (set worker.create_streams to create it)", c.Durable, c.InputStream, err)
	}
	if err != nil {
		return nil, fmt.Errorf("worker: consumer %s on %s: %w", c.Durable, c.InputStream, err)
	}
	return cons, nil
}

// ensureStream creates the stream want describes when it is missing. One
// that exists keeps what its operator set (limits, discard policy,
// replicas, placement, other subjects): only the settings winnow's
// configuration names are updated, and only when they differ: it takes
// want's subjects (see withSubjects) and its duplicate window. (An update
// sends a whole configuration, so updating with want would reset every
// limit at each start: a max_age given to the output stream, say, would be
// gone after the next deploy.)
func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) error {
	st, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err = js.CreateStream(ctx, want); !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return overlapping(ctx, js, want, err)
		}
		st, err = js.Stream(ctx, want.Name) // another replica made it first
	}
	if err != nil {
		return err
	}
	have := st.CachedInfo().Config
	subjects := withSubjects(have.Subjects, want.Subjects)
	if sameSubjects(have.Subjects, subjects) && have.Duplicates == want.Duplicates {
		return nil
	}
	if have.MaxAge > 0 && want.Duplicates > have.MaxAge {
		// The server's own refusal ("duplicates window can not be larger
		// then max age") names neither setting to change.
		return fmt.Errorf("its max_age (%v) is shorter than worker.duplicate_window (%v), and a stream's duplicate window may not outlast its messages: raise the stream's max_age, or lower duplicate_window", have.MaxAge, want.Duplicates)
	}
	have.Subjects, have.Duplicates = subjects, want.Duplicates
	_, err = js.UpdateStream(ctx, have)
	return overlapping(ctx, js, want, err)
}

// consumerMissing reports whether err says the consumer is not there, or
// the stream it belongs to is not.
func consumerMissing(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound)
}

// overlapping returns err, naming the streams that already take want's
// subjects when err is the server refusing them as overlapping another
// stream's (it says only "subjects overlap with an existing stream").
func overlapping(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, err error) error {
	var api *jetstream.APIError
	if !errors.As(err, &api) || api.ErrorCode != jsStreamSubjectOverlap {
		return err
	}
	var takers []string
	for _, subject := range want.Subjects {
		if name, nerr := js.StreamNameBySubject(ctx, subject); nerr == nil && name != want.Name {
			takers = append(takers, fmt.Sprintf("stream %s takes %s", name, subject))
		}
	}
	if len(takers) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s: change its subjects or winnow's worker.subjects)", err, strings.Join(takers, "; "))
}

// takenByConsumer returns err, naming the consumers that already take the
// input subjects when err is the server refusing winnow's consumer on a
// work-queue stream, which gives each subject to one consumer only (it
// says only "filtered consumer not unique on workqueue stream"). Seen when
// worker.durable is renamed: the old durable still holds the subjects.
func (c Config) takenByConsumer(ctx context.Context, js jetstream.JetStream, err error) error {
	var api *jetstream.APIError
	if !errors.As(err, &api) || (api.ErrorCode != jsConsumerWQNotUnique && api.ErrorCode != jsConsumerWQMultipleUnfiltered) {
		return err
	}
	st, serr := js.Stream(ctx, c.InputStream)
	if serr != nil {
		return err
	}
	var names, takes []string
	for info := range st.ListConsumers(ctx).Info() {
		filters := info.Config.FilterSubjects
		if info.Config.FilterSubject != "" {
			filters = append(filters, info.Config.FilterSubject)
		}
		if len(filters) == 0 {
			filters = []string{">"} // an unfiltered consumer takes every subject
		}
		for _, f := range filters {
			if info.Name != c.Durable && subjectsOverlap(f, c.Subjects.Input) {
				names = append(names, info.Name)
				takes = append(takes, fmt.Sprintf("consumer %s takes %s", info.Name, f))
				break
			}
		}
	}
	if len(names) == 0 {
		return err
	}
	return fmt.Errorf("%w (on work-queue stream %s each subject goes to one consumer, and %s: set worker.durable to %s, "+
		"or remove it once its documents are done: nats consumer rm %s %s)",
		err, c.InputStream, strings.Join(takes, ", "), names[0], c.InputStream, names[0])
}

// subjectsOverlap reports whether some subject matches both filters a and b.
func subjectsOverlap(a, b string) bool {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(at) && i < len(bt); i++ {
		switch {
		case at[i] == ">" || bt[i] == ">":
			return true
		case at[i] != "*" && bt[i] != "*" && at[i] != bt[i]:
			return false
		}
	}
	return len(at) == len(bt)
}

// nats-server's JSConsumerWQConsumerNotUniqueErr and
// JSConsumerWQMultipleUnfilteredErr.
const (
	jsConsumerWQNotUnique          jetstream.ErrorCode = 10100
	jsConsumerWQMultipleUnfiltered jetstream.ErrorCode = 10099
)

// jsStreamSubjectOverlap is nats-server's JSStreamSubjectOverlapErr.
const jsStreamSubjectOverlap jetstream.ErrorCode = 10065

// setupAttempt bounds one attempt at start-up's JetStream calls.
const setupAttempt = 10 * time.Second

// untilJetStreamAnswers runs setup (each attempt within setupAttempt), and
// again while it fails because JetStream does not answer yet: a cluster
// electing its meta leader, or with too few servers up for it or for the
// replicas asked, times out or says it is temporarily unavailable. It
// tries again for up to wait (see StartupRetry), logging each failure; any
// other error returns at once. (Before, start-up waited 30 s and failed
// with "context deadline exceeded".)
func untilJetStreamAnswers(ctx context.Context, nc *nats.Conn, wait time.Duration, log *zap.Logger, what string, setup func(context.Context) error) error {
	return StartupRetry{
		Wait:  wait,
		Again: notAnsweringYet,
		Waiting: func(err error, retryIn time.Duration) {
			log.Warn("waiting for JetStream", zap.String("for", what), zap.Duration("retry_in", retryIn), zap.Error(err))
		},
		GaveUp: func(err error) error {
			return fmt.Errorf("%w (JetStream did not answer for %v: too few servers up for a meta leader, or for the replicas asked?)", err, wait)
		},
	}.Do(ctx, func() error {
		actx, cancel := context.WithTimeout(ctx, setupAttempt)
		defer cancel()
		return apiRefused(nc, setup(actx))
	})
}

// NewJetStream returns a JetStream context on nc for the JetStream domain
// domain, or for the one nc's server answers for when domain is "": a
// worker on a leaf node (a crawler's site, say) uses the hub's streams by
// naming the hub's domain, its API then being $JS.<domain>.API.
func NewJetStream(nc *nats.Conn, domain string, opts ...jetstream.JetStreamOpt) (jetstream.JetStream, error) {
	if domain == "" {
		return jetstream.New(nc, opts...)
	}
	return jetstream.NewWithDomain(nc, domain, opts...)
}

// apiRefused returns err, or, when err is a JetStream call timing out
// because the server refused the user a publish to its API (see
// publishRefused), that refusal, which asking again would meet too.
// (Before, start-up waited out nats.startup_wait, then blamed too few
// servers.)
func apiRefused(nc *nats.Conn, err error) error {
	refused := publishRefused(nc, err, "$JS.")
	if refused == nil {
		return err
	}
	return fmt.Errorf("%v, as the server refused a JetStream call: %w: let the user publish to the JetStream API subjects winnow uses (deploy/nats/nats.conf lists them)", err, refused)
}

// StartupRetry tries a start-up step again while what it needs is not up
// yet: the NATS server (winnow run), JetStream (see untilJetStreamAnswers).
type StartupRetry struct {
	Wait    time.Duration                          // in all; 0: one attempt
	Again   func(error) bool                       // the errors worth another attempt
	Waiting func(err error, retryIn time.Duration) // before each pause
	GaveUp  func(err error) error                  // the last error, once Wait has run out
}

// Do calls try until it succeeds or fails with an error r.Again does not
// accept, pausing 1 s between attempts, doubling to 5 s, with a last
// attempt when Wait runs out. It returns try's last error (through GaveUp
// when Wait ran out), or ctx.Err() when ctx ended.
func (r StartupRetry) Do(ctx context.Context, try func() error) error {
	deadline := time.Now().Add(r.Wait)
	pause := time.Second
	for {
		err := try()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !r.Again(err) || r.Wait == 0:
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return r.GaveUp(err)
		}
		sleep := min(pause, left)
		r.Waiting(err, sleep)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sleep):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// notAnsweringYet reports whether err is JetStream not answering yet (see
// untilJetStreamAnswers), not a refusal that asking again would meet too.
func notAnsweringYet(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jsClusterNotAvailable
}

// jsClusterNotAvailable is nats-server's JSClusterNotAvailErr, "JetStream
// system temporarily unavailable".
const jsClusterNotAvailable jetstream.ErrorCode = 10008

// noJetStream returns err, said plainly when the server has no JetStream
// (its API has no responders, which nats.go reports as such), or none in
// the JetStream domain js names.
func noJetStream(ctx context.Context, js jetstream.JetStream, err error) error {
	if !errors.Is(err, nats.ErrNoResponders) {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, setupAttempt)
	defer cancel()
	if _, aerr := js.AccountInfo(ctx); !errors.Is(aerr, jetstream.ErrJetStreamNotEnabled) {
		return err
	}
	if domain := js.Options().Domain; domain != "" {
		own := "no JetStream of its own"
		if local, lerr := jetstream.New(js.Conn()); lerr == nil {
			if info, ierr := local.AccountInfo(ctx); ierr == nil && info.Domain == "" {
				own = "JetStream with no domain"
			} else if ierr == nil {
				own = fmt.Sprintf("JetStream in domain %q", info.Domain)
			}
		}
		return fmt.Errorf("%w: no JetStream answers in domain %q (nats.jetstream_domain; the connected server has %s): "+
			"check the name, and that the server, or a hub it is a leaf node of, runs JetStream in that domain", err, domain, own)
	}
	return fmt.Errorf("%w: JetStream is not enabled on the NATS server; enable it (jetstream {} in its configuration, "+
		"or -js), or set worker.mode: core (at most once, no streams)", err)
}

// withSubjects returns a stream's subjects (have) made to take want's: a
// subject of have that one of want's covers gives way to it (a stream's
// subjects may not overlap), one of want's that a subject of have covers
// is there already, and have's others stay: an operator's stream may take
// other subjects too. (Before, start-up set want's alone, and an input
// stream that also took crawl.meta.> stopped taking it.)
func withSubjects(have, want []string) []string {
	var out []string
	for _, h := range have {
		if !slices.ContainsFunc(want, func(w string) bool { return subjectCovers(w, h) }) {
			out = append(out, h)
		}
	}
	for _, w := range want {
		if !slices.ContainsFunc(out, func(h string) bool { return subjectCovers(h, w) }) {
			out = append(out, w)
		}
	}
	return out
}

// subjectCovers reports whether every subject narrow matches, wide matches
// too ("docs.>" covers "docs.raw.>", "a.*" covers "a.b"; a subject covers
// itself).
func subjectCovers(wide, narrow string) bool {
	wt, nt := strings.Split(wide, "."), strings.Split(narrow, ".")
	for i, w := range wt {
		switch {
		case w == ">":
			return len(nt) > i
		case i >= len(nt) || nt[i] == ">":
			return false
		case w != "*" && w != nt[i]:
			return false
		}
	}
	return len(nt) == len(wt)
}

// sameSubjects reports whether a and b hold the same subjects, in any
// order.
func sameSubjects(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// checkOutputStream asks for the output stream's info and, with
// create_streams, creates the stream again when it is gone (deleted under
// the running worker), as start-up would. It only creates: a stream that
// exists keeps whatever limits an operator gave it. created reports that
// this call made it.
func (w *Worker) checkOutputStream(ctx context.Context) (created bool, err error) {
	_, err = w.js.Stream(ctx, w.cfg.OutputStream)
	if err == nil || !w.cfg.CreateStreams || !errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, err
	}
	_, cerr := w.js.CreateStream(ctx, w.cfg.outputStreamConfig())
	if errors.Is(cerr, jetstream.ErrStreamNameAlreadyInUse) {
		return false, nil // another replica made it first
	}
	if cerr != nil {
		return false, fmt.Errorf("%w; creating it again: %v", err, cerr)
	}
	w.log.Warn("output stream is gone; created it again", zap.String("stream", w.cfg.OutputStream))
	return true, nil
}

// outputRecheck serializes the handlers' looks for a deleted output stream
// after a publish nothing answered (see recreateOutput); a look done less
// than outputRecheckEvery ago answers for the handlers that waited on it.
type outputRecheck struct {
	mu      sync.Mutex
	done    time.Time // when the last look ended
	created bool      // what it found
}

const outputRecheckEvery = time.Second

// recreateOutput reports whether the output stream, after a publish to it
// found no stream, was gone and has now been created again (create_streams
// on): the caller publishes once more, and the document spends no
// delivery on it. (Under outage: pause the outage probe would create the
// stream too, but only after the publish had failed and its document been
// nak'ed; under retry nothing else would, and every record and dead letter
// would be nak'ed until a restart.)
func (w *Worker) recreateOutput(ctx context.Context) bool {
	if !w.cfg.CreateStreams {
		return false
	}
	rc := &w.outRecheck
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if time.Since(rc.done) < outputRecheckEvery {
		return rc.created
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.PublishTimeout)
	defer cancel()
	created, err := w.checkOutputStream(ctx)
	if err != nil {
		w.log.Warn("output stream not reachable", zap.String("stream", w.cfg.OutputStream), zap.Error(err))
	}
	rc.done, rc.created = time.Now(), created
	return created
}
