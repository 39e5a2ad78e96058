package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"go.uber.org/zap"

	"github.com/winnow-dev/winnow/dedupe"
)

// SharedConfig configures the cross-document state every replica shares.
type SharedConfig struct {
	// Bucket is the JetStream KV bucket (created if absent).
	Bucket string `yaml:"bucket"`
	// TTL is how long commits and claims live: the window in time.
	TTL time.Duration `yaml:"ttl"`
	// Replicas of the bucket's stream.
	Replicas int `yaml:"replicas"`
	// MaxBytes bounds the bucket's stream (each replica's copy of it): the
	// oldest commits and claims go first when it is full, as if their ttl
	// had passed. 0 leaves the size to the ttl alone, and an existing
	// bucket's own limit (an operator's, under which a full bucket refuses
	// new claims) as it is.
	MaxBytes Bytes `yaml:"max_bytes"`
	// StartupWait is how long NewSharedMemory waits for JetStream to
	// answer (see untilJetStreamAnswers); `winnow run` sets it from
	// nats.startup_wait.
	StartupWait time.Duration `yaml:"-"`
	// JetStreamDomain is the JetStream domain the bucket is in (see
	// NewJetStream); `winnow run` sets it from nats.jetstream_domain.
	JetStreamDomain string `yaml:"-"`
	// Replaying, when set, is told every second of a start-up's replay how
	// many commits it has applied (`winnow run` says so on /readyz).
	Replaying func(documents int64) `yaml:"-"`
}

// DefaultSharedConfig: bucket WINNOW_DEDUPE, 24h, one replica.
func DefaultSharedConfig() SharedConfig {
	return SharedConfig{Bucket: "WINNOW_DEDUPE", TTL: 24 * time.Hour, Replicas: 1}
}

// SharedMemory is a dedupe.Memory shared by every worker through a
// JetStream KV bucket, with an in-process replica in front.
//
// A round trip per block lookup would throttle the fleet (a page has tens
// of blocks and hundreds of shingles), so the index is replicated through
// the bucket's stream instead: each worker puts every document it commits
// under c.<worker>.<seq> (asynchronously: it is already durable downstream),
// and watches the bucket, applying the other workers' commits to its local
// dedupe.Memory. Lookups are local; a start-up replays the bucket, so a
// restarted worker remembers the window. Replication lags by a round trip,
// so documents in flight on two workers at the same moment may not see each
// other; exact copies are still settled between them by claims: Create
// k.<content key> = document id is atomic, and a redelivered document finds
// its own claim.
type SharedMemory struct {
	local  dedupe.Memory
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	cfg    SharedConfig
	origin string
	seq    atomic.Uint64
	log    *zap.Logger
	m      *Metrics

	mu      sync.Mutex
	claims  map[uint64]string // positive cache of settled claims
	created time.Time         // when the watched bucket's stream was created
	rewatch chan struct{}     // tells follow to watch a new bucket of the name

	applied   atomic.Int64 // remote commits applied
	bytes     atomic.Int64 // the bucket's stream's size at the latest look
	entries   atomic.Int64 // and its messages
	committed atomic.Int64 // own commits
	pending   chan jetstream.PubAckFuture
}

// NewSharedMemory opens (or creates) the bucket and replays it into a local
// memory bounded by o, then keeps watching until ctx ends.
func NewSharedMemory(ctx context.Context, nc *nats.Conn, cfg SharedConfig, o dedupe.MemoryOptions, log *zap.Logger, m *Metrics) (*SharedMemory, error) {
	if log == nil {
		log = zap.NewNop()
	}
	js, err := NewJetStream(nc, cfg.JetStreamDomain, jetstream.WithPublishAsyncMaxPending(1024))
	if err != nil {
		return nil, err
	}
	s := &SharedMemory{local: dedupe.NewMemory(o), js: js, cfg: cfg, origin: nuid.Next(), log: log, m: m,
		claims: map[uint64]string{}, pending: make(chan jetstream.PubAckFuture, 4096), rewatch: make(chan struct{}, 1)}
	err = untilJetStreamAnswers(ctx, nc, cfg.StartupWait, log, "dedupe bucket "+cfg.Bucket, func(ctx context.Context) (err error) {
		s.kv, err = s.createBucket(ctx)
		return err
	})
	if err != nil {
		return nil, noJetStream(ctx, js, err)
	}
	info, err := s.bucketInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("worker: dedupe bucket %s: %w", cfg.Bucket, err)
	}
	s.created = info.Created
	replayed, start := make(chan struct{}), time.Now()
	var opts []jetstream.WatchOpt
	from, err := s.replayFrom(ctx, info.State, 2*max(o.MaxDocs, 1))
	if err != nil {
		log.Warn("cannot find where the dedupe bucket's newest commits start; replaying all of it", zap.String("bucket", cfg.Bucket), zap.Error(err))
	} else if from > 0 {
		opts = append(opts, jetstream.ResumeFromRevision(from))
	}
	w, err := s.kv.Watch(ctx, "c.>", opts...)
	if err != nil {
		return nil, fmt.Errorf("worker: watch %s: %w", cfg.Bucket, err)
	}
	go s.follow(ctx, w, replayed)
	go s.checkPuts(ctx)
	go s.keep(ctx)
	if err := s.awaitReplay(ctx, replayed, start); err != nil {
		return nil, err
	}
	bytes, _ := s.BucketSize()
	log.Info("dedupe state replayed", zap.String("bucket", cfg.Bucket), zap.Int64("documents", s.applied.Load()),
		zap.Uint64("from_revision", from), zap.Int64("bucket_bytes", bytes), zap.Duration("took", time.Since(start)))
	return s, nil
}

// replayFrom returns a revision from which the bucket, in state, holds at
// least its newest keep commits (and at most about 3 x keep), or 0 to replay it all.
// A replica that starts needs only its window of them (memory.max_docs:
// keep is twice that), while the bucket holds the ttl's worth, or
// max_bytes' worth: a day at 100 documents a second is 8.6 million commits
// to replay for the last 10,000. It counts with a consumer on the commits'
// subjects, whose pending count from a start sequence is the commits from
// there on, 3 x keep messages back from the end (a commit has a claim
// beside it, so about 1.5 x keep commits), further back in steps that
// double while that holds fewer. Each count is two requests (create, then
// delete the consumer) and costs the server about 20 ms on a bucket of
// 400,000 messages, whatever the start, so it is one count, seldom two,
// not a search for the exact revision.
func (s *SharedMemory) replayFrom(ctx context.Context, state jetstream.StreamState, keep int) (uint64, error) {
	stream := s.stream()
	want := uint64(keep)
	end := state.LastSeq + 1
	for step := 3 * want; end > step && end-step > state.FirstSeq; step *= 2 {
		c, err := s.js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{
			FilterSubject: "$KV." + s.cfg.Bucket + ".c.>", DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
			OptStartSeq: end - step, AckPolicy: jetstream.AckNonePolicy, MemoryStorage: true, InactiveThreshold: time.Minute,
		})
		if err != nil {
			return 0, err
		}
		info := c.CachedInfo()
		_ = s.js.DeleteConsumer(ctx, stream, info.Name) // else gone after InactiveThreshold
		if info.NumPending >= want {
			return end - step, nil
		}
	}
	return 0, nil // the bucket holds no more than 3 x keep messages, or keep commits
}

// awaitReplay waits for the watch's initial replay to end, telling
// cfg.Replaying every second and the log every replayLogEvery how far it is.
func (s *SharedMemory) awaitReplay(ctx context.Context, replayed <-chan struct{}, start time.Time) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	logged := start
	for {
		select {
		case <-replayed:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case now := <-tick.C:
			n := s.applied.Load()
			if s.cfg.Replaying != nil {
				s.cfg.Replaying(n)
			}
			if now.Sub(logged) >= replayLogEvery {
				bytes, msgs := s.BucketSize()
				s.log.Info("replaying the dedupe bucket", zap.String("bucket", s.cfg.Bucket), zap.Int64("documents", n),
					zap.Int64("bucket_bytes", bytes), zap.Int64("bucket_messages", msgs), zap.Duration("for", now.Sub(start)))
				logged = now
			}
		}
	}
}

// replayLogEvery is how often a long replay is logged.
const replayLogEvery = 10 * time.Second

// follow applies the other workers' commits as they arrive. When the
// bucket is deleted and created again (see keep) the watch goes quiet
// without ending, so follow watches the new bucket from its start.
func (s *SharedMemory) follow(ctx context.Context, w jetstream.KeyWatcher, replayed chan struct{}) {
	defer func() { _ = w.Stop() }()
	updates := w.Updates()
	var c dedupe.Commit
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.rewatch:
			nw, err := s.kv.Watch(ctx, "c.>")
			if err != nil {
				s.log.Warn("cannot watch the dedupe bucket; trying again", zap.Error(err))
				s.forgetBucket()
				continue
			}
			_ = w.Stop()
			w, updates = nw, nw.Updates()
			s.log.Info("watching the dedupe bucket afresh", zap.String("bucket", s.cfg.Bucket))
		case e, ok := <-updates:
			if !ok {
				s.log.Warn("the dedupe bucket's watch ended; watching again", zap.String("bucket", s.cfg.Bucket))
				updates = nil
				s.forgetBucket()
				continue
			}
			if e == nil { // end of a watch's initial replay
				if replayed != nil {
					close(replayed)
					replayed = nil
				}
				continue
			}
			if e.Operation() != jetstream.KeyValuePut || strings.HasPrefix(e.Key(), "c."+s.origin+".") {
				continue
			}
			if err := c.UnmarshalBinary(e.Value()); err != nil {
				s.log.Warn("undecodable dedupe commit", zap.String("key", e.Key()), zap.Error(err))
				continue
			}
			s.local.Commit(&c)
			s.applied.Add(1)
		}
	}
}

// keepEvery is how often keep checks the bucket.
const keepEvery = 5 * time.Second

// keep checks the bucket every keepEvery (see ensureBucket) until ctx ends.
func (s *SharedMemory) keep(ctx context.Context) {
	t := time.NewTicker(keepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cctx, cancel := context.WithTimeout(ctx, keepEvery)
			if err := s.ensureBucket(cctx); err != nil && ctx.Err() == nil {
				s.log.Debug("dedupe bucket check failed", zap.Error(err))
			}
			cancel()
		}
	}
}

// ensureBucket creates the bucket again if it was deleted (empty: the
// window starts over, as when the first worker starts), and has follow
// watch it if it is not the bucket being watched (deleted and created
// again, here or by another worker).
func (s *SharedMemory) ensureBucket(ctx context.Context) error {
	info, err := s.bucketInfo(ctx)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		if _, err = s.createBucket(ctx); err != nil {
			return err
		}
		s.log.Warn("the dedupe bucket was deleted; created it again, empty", zap.String("bucket", s.cfg.Bucket))
		info, err = s.bucketInfo(ctx)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	changed := !info.Created.Equal(s.created)
	if changed {
		s.created = info.Created
		clear(s.claims) // settled in the old bucket
	}
	s.mu.Unlock()
	if changed {
		select {
		case s.rewatch <- struct{}{}:
		default:
		}
	}
	return nil
}

// forgetBucket makes the next ensureBucket watch the bucket afresh.
func (s *SharedMemory) forgetBucket() {
	s.mu.Lock()
	s.created = time.Time{}
	s.mu.Unlock()
}

// createBucket creates the bucket when it is missing. One that exists keeps
// what its operator set (replicas; a size limit, unless max_bytes is set):
// only the limits winnow's configuration names are brought up to date (see
// keepLimits, and ensureStream).
func (s *SharedMemory) createBucket(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := s.js.KeyValue(ctx, s.cfg.Bucket)
	existed := err == nil
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: s.cfg.Bucket, TTL: s.cfg.TTL,
			Replicas: s.cfg.Replicas, History: 1, Description: "winnow cross-document dedup state"})
		if errors.Is(err, jetstream.ErrBucketExists) { // another replica made it first
			kv, err = s.js.KeyValue(ctx, s.cfg.Bucket)
		}
	}
	if err == nil && (existed || s.cfg.MaxBytes > 0) {
		err = s.keepLimits(ctx, kv)
	}
	if err != nil {
		return nil, fmt.Errorf("worker: dedupe bucket %s: %w", s.cfg.Bucket, err)
	}
	return kv, nil
}

// keepLimits sets a bucket's ttl (its stream's max_age, and the duplicate
// window within it, as nats.go makes a bucket) to the configuration's, and
// with max_bytes set its size limit too, discarding the oldest entries when
// full (nats.go makes a bucket that refuses new ones), leaving the rest of
// its stream alone. One stream update, and none when nothing differs.
func (s *SharedMemory) keepLimits(ctx context.Context, kv jetstream.KeyValue) error {
	st, err := kv.Status(ctx)
	if err != nil {
		return err
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return nil
	}
	sc := bs.StreamInfo().Config
	limit := int64(s.cfg.MaxBytes)
	if sc.MaxAge == s.cfg.TTL && (limit == 0 || sc.MaxBytes == limit && sc.Discard == jetstream.DiscardOld) {
		return nil
	}
	sc.MaxAge = s.cfg.TTL
	if s.cfg.TTL > 0 && sc.Duplicates > s.cfg.TTL {
		sc.Duplicates = s.cfg.TTL
	}
	if limit > 0 {
		sc.MaxBytes, sc.Discard = limit, jetstream.DiscardOld
	}
	_, err = s.js.UpdateStream(ctx, sc)
	var api *jetstream.APIError
	if limit > 0 && errors.As(err, &api) && (api.ErrorCode == 10047 || api.ErrorCode == 10023 || api.ErrorCode == 10002) {
		// insufficient storage resources; insufficient resources; resource
		// limits exceeded for account: the server names no setting.
		return fmt.Errorf("worker.shared.max_bytes (%d bytes) is more than JetStream can reserve for the bucket (%w): lower it, or give the servers (max_file_store) or the account more storage", limit, err)
	}
	return err
}

// stream is the bucket's stream, as nats.go names it.
func (s *SharedMemory) stream() string { return "KV_" + s.cfg.Bucket }

// bucketInfo returns the bucket's stream info (when it was created, its
// state), or jetstream.ErrBucketNotFound: one stream info request, whose
// size and message count it keeps for BucketSize.
func (s *SharedMemory) bucketInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	st, err := s.js.Stream(ctx, s.stream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, jetstream.ErrBucketNotFound
	}
	if err != nil {
		return nil, err
	}
	info := st.CachedInfo()
	s.bytes.Store(int64(info.State.Bytes))
	s.entries.Store(int64(info.State.Msgs))
	return info, nil
}

// BucketSize returns the bucket's bytes and messages (commits, claims and
// their markers) as the latest look found them, every keepEvery.
func (s *SharedMemory) BucketSize() (bytes, messages int64) {
	return s.bytes.Load(), s.entries.Load()
}

// Probe reports whether the bucket takes new keys now, as a claim needs:
// it creates a key of its own under "p." and deletes it. A bucket that was
// deleted is created again first (see ensureBucket). (A put to one fixed key
// would not do: a full bucket still takes a new value for a key it holds.)
func (s *SharedMemory) Probe(ctx context.Context) error {
	if err := s.probe(ctx); err == nil {
		return nil
	}
	if err := s.ensureBucket(ctx); err != nil {
		return err
	}
	return s.probe(ctx)
}

func (s *SharedMemory) probe(ctx context.Context) error {
	k := "p." + s.origin + "." + strconv.FormatUint(s.seq.Add(1), 10)
	if _, err := s.kv.Create(ctx, k, nil); err != nil {
		return err
	}
	_ = s.kv.Delete(ctx, k) // a marker the bucket's TTL removes
	return nil
}

// checkPuts logs commits the bucket did not take; they cost only recall.
func (s *SharedMemory) checkPuts(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-s.pending:
			select {
			case <-f.Ok():
			case err := <-f.Err():
				s.log.Warn("dedupe commit not replicated", zap.Error(err))
			case <-ctx.Done():
				return
			}
		}
	}
}

func (s *SharedMemory) Block(fp uint64) (dedupe.BlockInfo, bool) { return s.local.Block(fp) }
func (s *SharedMemory) Shingle(h uint64) (dedupe.DocRef, bool)   { return s.local.Shingle(h) }
func (s *SharedMemory) Band(key uint64) (dedupe.DocRef, bool)    { return s.local.Band(key) }

// Prefetch passes the hint to the local replica.
func (s *SharedMemory) Prefetch(blocks, bands []uint64) {
	if p, ok := s.local.(dedupe.Prefetcher); ok {
		p.Prefetch(blocks, bands)
	}
}

func (s *SharedMemory) Doc(ref dedupe.DocRef) (string, *dedupe.Sketch, bool) {
	return s.local.Doc(ref)
}

func (s *SharedMemory) CommitOf(id string) (dedupe.DocRef, bool) { return s.local.CommitOf(id) }

// AgedOut implements dedupe.Ager with the local replica's window: a claim
// in the bucket lives for its ttl, whatever memory.max_age says.
func (s *SharedMemory) AgedOut(id string) bool {
	a, ok := s.local.(dedupe.Ager)
	return ok && a.AgedOut(id)
}

// Commit applies the commit locally and replicates it through the bucket.
func (s *SharedMemory) Commit(c *dedupe.Commit) dedupe.DocRef {
	ref := s.local.Commit(c)
	s.committed.Add(1)
	b, _ := c.MarshalBinary()
	key := "c." + s.origin + "." + strconv.FormatUint(s.seq.Add(1), 10)
	f, err := s.js.PublishAsync("$KV."+s.cfg.Bucket+"."+key, b)
	if err != nil {
		s.log.Warn("dedupe commit not replicated", zap.Error(err))
		return ref
	}
	select {
	case s.pending <- f:
	default: // checkPuts is behind; the future's error, if any, goes unlogged
	}
	return ref
}

// Claim settles the owner of a content key with an atomic Create. A
// claim whose owner this replica forgot by age (memory.max_age) is taken
// over with an atomic Update of the revision read, as the in-memory
// state re-claims it: a later copy is then an exact duplicate of the
// document that took it, not of one the window no longer holds. Of two
// replicas taking it over at once, one wins and the other reads its id.
func (s *SharedMemory) Claim(key uint64, id string) (string, error) {
	s.mu.Lock()
	owner, ok := s.claims[key]
	s.mu.Unlock()
	if ok && (owner == id || !s.AgedOut(owner)) {
		return owner, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	k := "k." + strconv.FormatUint(key, 16)
	_, err := s.kv.Create(ctx, k, []byte(id))
	for tries := 1; err != nil; tries++ {
		lost := errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
		if !lost || tries > 3 {
			return "", fmt.Errorf("worker: dedupe claim %s: %w", k, err)
		}
		e, gerr := s.kv.Get(ctx, k)
		switch {
		case errors.Is(gerr, jetstream.ErrKeyNotFound): // expired since
			_, err = s.kv.Create(ctx, k, []byte(id))
			continue
		case gerr != nil:
			return "", fmt.Errorf("worker: dedupe claim %s: %w", k, gerr)
		}
		if owner = string(e.Value()); owner == id || !s.AgedOut(owner) {
			break
		}
		_, err = s.kv.Update(ctx, k, []byte(id), e.Revision())
	}
	if err == nil {
		owner = id
	}
	s.m.kvLatency(time.Since(start))
	s.mu.Lock()
	if len(s.claims) > 1<<16 {
		clear(s.claims)
	}
	s.claims[key] = owner
	s.mu.Unlock()
	return owner, nil
}

// Stats returns the local replica's sizes.
func (s *SharedMemory) Stats() dedupe.MemoryStats {
	if st, ok := s.local.(interface{ Stats() dedupe.MemoryStats }); ok {
		return st.Stats()
	}
	return dedupe.MemoryStats{}
}

// Committed returns how many commits this worker made.
func (s *SharedMemory) Committed() int64 { return s.committed.Load() }

// Replicated returns how many other workers' commits have been applied.
func (s *SharedMemory) Replicated() int64 { return s.applied.Load() }
