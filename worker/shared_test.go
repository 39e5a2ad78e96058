package worker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/dedupe/dedupetest"
	"github.com/winnow-dev/winnow/internal/natstest"
	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/schemas"
)

var bucketSeq atomic.Int64

func TestSharedMemoryConformance(t *testing.T) {
	s := startServer(t)
	dedupetest.TestMemory(t, func(t *testing.T, o dedupe.MemoryOptions) dedupe.Memory {
		nc, _ := connect(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		cfg := DefaultSharedConfig()
		cfg.Bucket = fmt.Sprint("CONF_", bucketSeq.Add(1))
		m, err := NewSharedMemory(ctx, nc, cfg, o, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}

// openShared opens a SharedMemory on the default bucket, on a connection of
// its own, until ctx ends.
func openShared(ctx context.Context, t *testing.T, s *server.Server) *SharedMemory {
	t.Helper()
	nc, _ := connect(t, s)
	m, err := NewSharedMemory(ctx, nc, DefaultSharedConfig(), dedupe.DefaultMemoryOptions(), zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSharedMemoryReplicates: what one worker commits, another sees; a
// worker started later replays it; claims hold across workers.
func TestSharedMemoryReplicates(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *SharedMemory { return openShared(ctx, t, s) }
	a, b := open(), open()
	a.Commit(&dedupe.Commit{ID: "doc-a", Blocks: []uint64{4242}})
	waitFor(t, "replication to b", func() bool { _, ok := b.Block(4242); return ok })
	// A document redelivered to another replica after its commit finds it.
	if ref, ok := b.CommitOf("doc-a"); !ok {
		t.Fatal("b does not know doc-a's commit")
	} else if id, _, _ := b.Doc(ref); id != "doc-a" {
		t.Fatalf("b's CommitOf(doc-a) names %q", id)
	}
	if owner, err := a.Claim(7, "doc-a"); err != nil || owner != "doc-a" {
		t.Fatalf("claim on a: %q %v", owner, err)
	}
	if owner, err := b.Claim(7, "doc-b"); err != nil || owner != "doc-a" {
		t.Fatalf("claim on b: %q %v, want doc-a", owner, err)
	}
	late := open()
	if bi, ok := late.Block(4242); !ok || bi.Docs != 1 {
		t.Fatalf("a worker started later did not replay the bucket: %+v %v", bi, ok)
	}
	if late.Replicated() < 1 {
		t.Fatal("replay not counted")
	}
}

// TestSharedMemoryBucketDeleted: a deleted bucket is created again by the
// first Probe, and a worker that did not create it watches the new one
// from its start. (nats.go's watch resumes on its own after a while, but
// from the sequence it had reached in the old stream.)
func TestSharedMemoryBucketDeleted(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *SharedMemory { return openShared(ctx, t, s) }
	a, b := open(), open()
	if err := a.Probe(ctx); err != nil {
		t.Fatalf("probe of a healthy bucket: %v", err)
	}
	// b's watch has read the old bucket's stream up to a sequence the new
	// one starts below.
	for i := range uint64(8) {
		a.Commit(&dedupe.Commit{ID: fmt.Sprint("old-", i), Blocks: []uint64{100 + i}})
	}
	waitFor(t, "b to see a's commits", func() bool { return b.Replicated() == 8 })
	_, js := connect(t, s)
	if err := js.DeleteKeyValue(ctx, DefaultSharedConfig().Bucket); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Claim(7, "doc-a"); err == nil {
		t.Fatal("a claim succeeded with the bucket deleted")
	}
	if err := a.Probe(ctx); err != nil {
		t.Fatalf("probe did not create the bucket again: %v", err)
	}
	if _, err := js.KeyValue(ctx, DefaultSharedConfig().Bucket); err != nil {
		t.Fatalf("bucket after the probe: %v", err)
	}
	if owner, err := b.Claim(7, "doc-b"); err != nil || owner != "doc-b" {
		t.Fatalf("claim in the new bucket: %q %v", owner, err)
	}
	a.Commit(&dedupe.Commit{ID: "doc-a", Blocks: []uint64{4242}})
	waitFor(t, "b to see a's commit in the new bucket", func() bool { _, ok := b.Block(4242); return ok })
}

func TestMemoryMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	mem := dedupe.NewMemory(dedupe.DefaultMemoryOptions())
	RegisterMemory(reg, mem)
	mem.Commit(&dedupe.Commit{ID: "a", Blocks: []uint64{1, 2, 3}, Shingles: []uint64{4}})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		got[mf.GetName()] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
	}
	if got["winnow_dedupe_index_blocks"] != 3 || got["winnow_dedupe_index_shingles"] != 1 || got["winnow_dedupe_index_documents"] != 1 {
		t.Fatalf("index metrics %v", got)
	}
}

// agingShared returns the options of a memory that forgets documents fetched
// a day before the newest, and a shared configuration on a bucket of its
// own named from prefix.
func agingShared(prefix string) (dedupe.MemoryOptions, SharedConfig) {
	o := dedupe.DefaultMemoryOptions()
	o.MaxAge = 24 * time.Hour
	cfg := DefaultSharedConfig()
	cfg.Bucket = fmt.Sprint(prefix, bucketSeq.Add(1))
	return o, cfg
}

// TestSharedMemoryMaxAge: with state kv and memory.max_age, an exact copy
// of a document fetched longer than max_age before the newest is an
// original again, though the bucket keeps the claim on its content for its
// ttl: the copy takes the claim over, and the next copy is its duplicate
// (TestFetchedAtAgesTheMemory checks the in-memory state).
func TestSharedMemoryMaxAge(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, _ := connect(t, s)
	o, cfg := agingShared("AGE_")
	m, err := NewSharedMemory(ctx, nc, cfg, o, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	pc := pipeline.DefaultConfig()
	pc.Memory = m
	p, err := pipeline.New(pc)
	if err != nil {
		t.Fatal(err)
	}
	story := strings.Repeat("The council met on Tuesday to discuss the new budget for the city's parks. ", 6)
	rain := strings.Repeat("Heavy rain closed two roads north of the river on Sunday, the police said. ", 6)
	for _, c := range []struct {
		id, text, at string
		want         pipeline.Outcome
	}{
		{"a", story, "2026-01-01T08:00:00Z", pipeline.Clean},
		{"a-copy", story, "2026-01-01T09:00:00Z", pipeline.Duplicate}, // within max_age
		{"b", rain, "2026-03-01T08:00:00Z", pipeline.Clean},
		{"a-later", story, "2026-03-01T09:00:00Z", pipeline.Clean}, // a aged out
		// The claim on the content is a-later's now, in the bucket too: an
		// exact copy, as an in-memory state finds it (it was found by the
		// near rule, similarity 1, the bucket's claim still a's).
		{"a-again", story, "2026-03-01T10:00:00Z", pipeline.Duplicate},
	} {
		o, rec, err := p.Process(schemas.Document{ID: c.id, Text: c.text, FetchedAt: c.at})
		if err != nil || o != c.want {
			t.Fatalf("%s: %v (duplicate of %q by %q) %v, want %v", c.id, o, rec.DuplicateOf, rec.DuplicateRule, err, c.want)
		}
		if o == pipeline.Duplicate && (rec.DuplicateRule != dedupe.RuleExact || rec.DuplicateOf != map[string]string{"a-copy": "a", "a-again": "a-later"}[c.id]) {
			t.Errorf("%s: duplicate of %q by %q", c.id, rec.DuplicateOf, rec.DuplicateRule)
		}
		p.Commit()
	}
	// What another replica reads: the claims in the bucket.
	_, js := connect(t, s)
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeysFiltered(ctx, "k.>")
	if err != nil {
		t.Fatal(err)
	}
	var owners []string
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		owners = append(owners, string(e.Value()))
	}
	slices.Sort(owners)
	if !slices.Equal(owners, []string{"a-later", "b"}) {
		t.Errorf("the bucket's claims are %q's, want a-later's and b's", owners)
	}
}

// TestSharedClaimTakenOverOnce: two replicas that both forgot a claim's
// owner by age take the claim over at once; one Update wins, and both
// answer with its id.
func TestSharedClaimTakenOverOnce(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, _ := connect(t, s)
	o, cfg := agingShared("TAKE_")
	var ms [2]*SharedMemory
	for i := range ms {
		m, err := NewSharedMemory(ctx, nc, cfg, o, zaptest.NewLogger(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = m
	}
	const key = 0xc1a1
	if owner, err := ms[0].Claim(key, "a"); err != nil || owner != "a" {
		t.Fatalf("first claim: %q, %v", owner, err)
	}
	jan := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC).UnixNano()
	ms[0].Commit(&dedupe.Commit{ID: "a", At: jan})
	ms[0].Commit(&dedupe.Commit{ID: "b", At: jan + int64(60*24*time.Hour)}) // a ages out
	waitFor(t, "the second replica to apply both commits", func() bool { return ms[1].Replicated() == 2 })
	for i, m := range ms {
		if !m.AgedOut("a") {
			t.Fatalf("replica %d: a has not aged out", i)
		}
	}
	for round := range 20 {
		k := uint64(key + round)
		if owner, err := ms[0].Claim(k, "a"); err != nil || owner != "a" {
			t.Fatalf("claim %d: %q, %v", round, owner, err)
		}
		var got [2]string
		var wg sync.WaitGroup
		for i, m := range ms {
			wg.Go(func() {
				owner, err := m.Claim(k, fmt.Sprint("copy-", i))
				if err != nil {
					t.Error(err)
				}
				got[i] = owner
			})
		}
		wg.Wait()
		if got[0] != got[1] || (got[0] != "copy-0" && got[0] != "copy-1") {
			t.Fatalf("round %d: the replicas say %q and %q own it; want one of them, the same", round, got[0], got[1])
		}
	}
}

// TestSharedMemoryMaxBytes: a bucket that grew under the ttl alone is cut
// to max_bytes when a worker starts with it set, and stays within it as
// commits and claims go on arriving (the oldest go; a new claim is never
// refused, as it is by a limit nats.go's bucket has by default); a worker
// started later replays only what is left, the newest commits among it.
func TestSharedMemoryMaxBytes(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, js := connect(t, s)
	cfg := DefaultSharedConfig()
	cfg.Bucket = "BOUNDED"
	const limit = 1 << 20
	open := func(max Bytes) *SharedMemory {
		t.Helper()
		nc, _ := connect(t, s)
		c := cfg
		c.MaxBytes = max
		m, err := NewSharedMemory(ctx, nc, c, dedupe.DefaultMemoryOptions(), zaptest.NewLogger(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// About 1 KB a commit: 1,500 of them fill the bucket half as much again.
	commit := func(m *SharedMemory, from, to int) {
		for i := from; i < to; i++ {
			blocks := make([]uint64, 120)
			for j := range blocks {
				blocks[j] = uint64(i)<<20 | uint64(j) + 1
			}
			m.Commit(&dedupe.Commit{ID: fmt.Sprint("doc-", i), Blocks: blocks})
		}
		waitFor(t, "the commits in the bucket", func() bool {
			_, info := streamInfo(ctx, t, js, "KV_BOUNDED")
			return info.State.LastSeq >= uint64(to)
		})
	}
	commit(open(0), 0, 1500)
	if _, info := streamInfo(ctx, t, js, "KV_BOUNDED"); info.State.Bytes <= limit {
		t.Fatalf("the bucket holds %d bytes before the limit: make the commits larger", info.State.Bytes)
	}

	a := open(limit)
	_, info := streamInfo(ctx, t, js, "KV_BOUNDED")
	if c := info.Config; c.MaxBytes != limit || c.Discard != jetstream.DiscardOld || c.MaxAge != cfg.TTL {
		t.Fatalf("bucket opened with max_bytes: max_bytes %d, discard %v, max_age %v", c.MaxBytes, c.Discard, c.MaxAge)
	}
	if info.State.Bytes > limit || info.State.FirstSeq == 1 {
		t.Fatalf("the bucket was not cut to its limit: %d bytes, first sequence %d", info.State.Bytes, info.State.FirstSeq)
	}
	commit(a, 1500, 3000)
	for i := range 50 {
		if owner, err := a.Claim(uint64(i+1), fmt.Sprint("doc-", 2950+i)); err != nil || owner != fmt.Sprint("doc-", 2950+i) {
			t.Fatalf("claim %d in a full bucket: %q, %v", i, owner, err)
		}
	}
	if err := a.Probe(ctx); err != nil {
		t.Fatalf("a full bucket that discards its oldest entries fails the outage probe: %v", err)
	}
	if _, info = streamInfo(ctx, t, js, "KV_BOUNDED"); info.State.Bytes > limit {
		t.Fatalf("bucket at %d bytes, over its limit of %d", info.State.Bytes, limit)
	}

	late := open(limit)
	n := late.Replicated()
	if n == 0 || n >= 2500 {
		t.Fatalf("a worker started later replayed %d commits of 3,000 into a bucket of %d bytes", n, limit)
	}
	if _, ok := late.Block(uint64(2999)<<20 | 1); !ok {
		t.Fatal("the newest commit was not replayed")
	}
	if _, ok := late.Block(1); ok {
		t.Fatal("the oldest commit was replayed: nothing was cut")
	}
	reg := prometheus.NewRegistry()
	RegisterMemory(reg, late)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	if b, msgs := got["winnow_dedupe_bucket_bytes"], got["winnow_dedupe_bucket_messages"]; b == 0 || b > limit || msgs == 0 {
		t.Fatalf("bucket metrics: %v bytes, %v messages", b, msgs)
	}
}

// TestReplayProgress: while a start-up's replay runs, Replaying is told each
// second how many commits it applied (winnow run puts it on /readyz).
func TestReplayProgress(t *testing.T) {
	var mu sync.Mutex
	var told []int64
	s := &SharedMemory{log: zaptest.NewLogger(t), cfg: SharedConfig{Bucket: "B", Replaying: func(n int64) {
		mu.Lock()
		told = append(told, n)
		mu.Unlock()
	}}}
	replayed := make(chan struct{})
	go func() {
		for i := range 22 {
			s.applied.Add(int64(i))
			time.Sleep(100 * time.Millisecond)
		}
		close(replayed)
	}()
	if err := s.awaitReplay(context.Background(), replayed, time.Now()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(told) < 2 || told[0] == 0 || told[len(told)-1] <= told[0] || told[len(told)-1] > 231 {
		t.Fatalf("Replaying told %v over a replay of 2.2s applying 231 commits", told)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.awaitReplay(ctx, make(chan struct{}), time.Now()); err != context.Canceled {
		t.Fatalf("replay cancelled: %v", err)
	}
}

// BenchmarkSharedMemoryReplay: a replica's start-up on a bucket of 200,000
// commits shaped as the bench corpus's are (about 1.2 KB in the bucket with
// their claims): "all" replays every one (a window as large as the bucket),
// "window" the newest 2 x max_docs (10,000 by default), as a start-up does.
func BenchmarkSharedMemoryReplay(b *testing.B) {
	const commits = 200_000
	s := natstest.Start(b, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, js := connectURL(b, s.ClientURL())
	w, err := NewSharedMemory(ctx, nc, DefaultSharedConfig(), dedupe.DefaultMemoryOptions(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	list := func(n int) []uint64 {
		l := make([]uint64, n)
		for i := range l {
			l[i] = rng.Uint64()
		}
		return l
	}
	for i := range commits {
		c := &dedupe.Commit{ID: fmt.Sprintf("bench/%08d", i), Blocks: list(30), Shingles: list(60), Sketched: true,
			Sketch: dedupe.NewSketch(list(200), 200)}
		w.Commit(c)
		if _, err := w.Claim(rng.Uint64(), c.ID); err != nil {
			b.Fatal(err)
		}
	}
	var bytes uint64
	for {
		st, err := js.Stream(ctx, "KV_WINNOW_DEDUPE")
		if err != nil {
			b.Fatal(err)
		}
		if info := st.CachedInfo(); info.State.Msgs >= 2*commits {
			bytes = info.State.Bytes
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range []struct {
		name string
		docs int
	}{{"all", commits}, {"window", dedupe.DefaultMemoryOptions().MaxDocs}} {
		b.Run(c.name, func(b *testing.B) {
			o := dedupe.DefaultMemoryOptions()
			o.MaxDocs = c.docs
			nc, _ := connectURL(b, s.ClientURL())
			for b.Loop() {
				octx, stop := context.WithCancel(ctx)
				m, err := NewSharedMemory(octx, nc, DefaultSharedConfig(), o, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				if got := m.Replicated(); got < min(commits, 2*int64(c.docs)) {
					b.Fatalf("replayed %d commits, want at least %d", got, min(commits, 2*c.docs))
				}
				stop()
			}
			b.ReportMetric(float64(bytes)/commits, "bucket-B/commit")
		})
	}
}

// TestSharedMemoryMaxBytesTooLarge: a max_bytes JetStream cannot reserve
// fails start-up naming the setting (the server's "insufficient storage
// resources available" names none).
func TestSharedMemoryMaxBytesTooLarge(t *testing.T) {
	s := natstest.Start(t, func(o *server.Options) { o.JetStreamMaxStore = 64 << 20 })
	nc, _ := connect(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := DefaultSharedConfig()
	cfg.MaxBytes = 1 << 30
	_, err := NewSharedMemory(ctx, nc, cfg, dedupe.DefaultMemoryOptions(), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "worker.shared.max_bytes (1073741824 bytes)") || !strings.Contains(err.Error(), "insufficient storage") {
		t.Fatalf("max_bytes over the server's store: %v", err)
	}
	cfg.MaxBytes = 32 << 20
	if _, err := NewSharedMemory(ctx, nc, cfg, dedupe.DefaultMemoryOptions(), nil, nil); err != nil {
		t.Fatalf("max_bytes within the server's store: %v", err)
	}
}

// TestSharedMemoryReplaysItsWindow: a replica that starts replays the
// bucket's newest 2 x max_docs commits (a few more: up to 3 x), not all the
// ttl kept, and knows its window as the replica that made them does; on
// one server, and on a bucket of three replicas in a cluster of three.
func TestSharedMemoryReplaysItsWindow(t *testing.T) {
	t.Run("server", func(t *testing.T) { replaysItsWindow(t, startServer(t).ClientURL(), 1) })
	t.Run("cluster", func(t *testing.T) { replaysItsWindow(t, natstest.StartCluster(t, 3).URLs(), 3) })
}

func replaysItsWindow(t *testing.T, url string, replicas int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := dedupe.DefaultMemoryOptions()
	o.MaxDocs = 250
	cfg := DefaultSharedConfig()
	cfg.Replicas = replicas
	open := func() *SharedMemory {
		t.Helper()
		nc, _ := connectURL(t, url)
		m, err := NewSharedMemory(ctx, nc, cfg, o, zaptest.NewLogger(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := open()
	const n = 2000
	for i := range n {
		id := fmt.Sprint("doc-", i)
		a.Commit(&dedupe.Commit{ID: id, Blocks: []uint64{uint64(i) + 1, 1 << 40}})
		if _, err := a.Claim(uint64(i)+1, id); err != nil { // a claim between commits, as documents make them
			t.Fatal(err)
		}
	}
	_, js := connectURL(t, url)
	waitFor(t, "the commits in the bucket", func() bool {
		_, info := streamInfo(ctx, t, js, "KV_WINNOW_DEDUPE")
		return info.State.Msgs >= 2*n
	})
	b := open()
	got := b.Replicated()
	if got < 2*int64(o.MaxDocs) || got > 3*int64(o.MaxDocs) {
		t.Fatalf("replayed %d commits of %d, want the newest %d to %d", got, n, 2*o.MaxDocs, 3*o.MaxDocs)
	}
	for i := n - o.MaxDocs; i < n; i++ {
		id := fmt.Sprint("doc-", i)
		if _, ok := b.CommitOf(id); !ok {
			t.Fatalf("%s, inside the window, not known after the replay", id)
		}
		ab, _ := a.Block(uint64(i) + 1)
		bb, _ := b.Block(uint64(i) + 1)
		if ab.Docs != bb.Docs {
			t.Fatalf("%s's block: %d documents on its replica, %d on one that replayed", id, ab.Docs, bb.Docs)
		}
	}
	if _, ok := b.CommitOf(fmt.Sprint("doc-", n-int(got)-1)); ok {
		t.Fatal("a commit older than the replay's start is known")
	}
	x, _ := a.Block(1 << 40)
	y, _ := b.Block(1 << 40)
	if x.Docs != y.Docs { // (First is a replica's own numbering)
		t.Fatalf("a block every document holds: %+v on its replica, %+v after the replay", x, y)
	}
	if a, b := a.Stats().Documents, b.Stats().Documents; a != b {
		t.Fatalf("window: %d documents on the replica that made them, %d on one that replayed", a, b)
	}
}

// deployUser is the winnow user of deploy/nats/nats.conf, with its
// permissions, password "w".
func deployUser(t *testing.T) *server.User {
	t.Helper()
	conf, err := os.ReadFile("../deploy/nats/nats.conf")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)user: winnow\b.*?publish: \{\s*allow: \[(.*?)\]`).FindSubmatch(conf)
	if block == nil {
		t.Fatal("deploy/nats/nats.conf: no publish allow list for the winnow user")
	}
	var allow []string
	for _, m := range regexp.MustCompile(`"([^"]+)"`).FindAllSubmatch(block[1], -1) {
		allow = append(allow, string(m[1]))
	}
	return &server.User{Username: "winnow", Password: "w", Permissions: &server.Permissions{
		Publish: &server.SubjectPermission{Allow: allow}, Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}}}}
}

// TestSharedMemoryUnderDeployPermissions: the winnow user of
// deploy/nats/nats.conf may do all the KV state asks, the start-up's
// search for the replay's start among it (a refusal there would only be
// logged, the whole bucket replayed instead).
func TestSharedMemoryUnderDeployPermissions(t *testing.T) {
	s := natstest.Start(t, func(o *server.Options) { o.Users = []*server.User{deployUser(t)} })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := dedupe.DefaultMemoryOptions()
	o.MaxDocs = 50
	cfg := DefaultSharedConfig()
	cfg.MaxBytes = 1 << 20
	var warned atomic.Int64
	open := func() *SharedMemory {
		t.Helper()
		nc, _ := connect(t, s, nats.UserInfo("winnow", "w"))
		log := zaptest.NewLogger(t, zaptest.WrapOptions(zap.Hooks(func(e zapcore.Entry) error {
			if e.Level >= zapcore.WarnLevel {
				warned.Add(1)
			}
			return nil
		})))
		m, err := NewSharedMemory(ctx, nc, cfg, o, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := open()
	for i := range 300 {
		id := fmt.Sprint("doc-", i)
		a.Commit(&dedupe.Commit{ID: id, Blocks: []uint64{uint64(i) + 1}})
		if _, err := a.Claim(uint64(i)+1, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the commits and claims in the bucket", func() bool {
		if err := a.ensureBucket(ctx); err != nil { // looks at the bucket, as every 5 s
			t.Fatal(err)
		}
		_, n := a.BucketSize()
		return n >= 600
	})
	b := open()
	if got := b.Replicated(); got < 100 || got >= 300 || warned.Load() != 0 {
		t.Fatalf("under the deploy permissions: replayed %d commits of 300 (want the newest 100 to 150), %d warnings", got, warned.Load())
	}
}
