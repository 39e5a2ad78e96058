package dedupe

import (
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// DocRef names a remembered document by its position in the stream (1 for
// the first document committed).
type DocRef uint64

// BlockInfo is what the memory knows of a block fingerprint: the first
// document that held it and how many distinct documents have (saturating).
type BlockInfo struct {
	First DocRef
	Docs  int
}

// Memory is the cross-document state: what earlier documents held. The
// in-memory implementation (NewMemory) serves batch mode and single
// workers; a shared one (the worker's, on NATS) serves a fleet. Lookups
// of a document's own earlier commit (a redelivery) must be recognisable:
// DocID tells whose a reference is.
type Memory interface {
	// Block looks up a block fingerprint.
	Block(fp uint64) (BlockInfo, bool)
	// Shingle returns the first document that held a (sampled) shingle.
	Shingle(h uint64) (DocRef, bool)
	// Band returns the first document with an LSH band key.
	Band(key uint64) (DocRef, bool)
	// Doc returns a remembered document's id and sketch (nil when it had
	// none). The sketch must not be modified.
	Doc(ref DocRef) (id string, sk *Sketch, ok bool)
	// Commit records a document and returns its reference.
	Commit(c *Commit) DocRef
	// CommitOf returns the reference of id's latest commit inside the
	// window: a document redelivered after its commit finds it, so that
	// its decision does not count its own commit among a block's holders.
	CommitOf(id string) (DocRef, bool)
	// Claim records id as the owner of a content key unless another
	// document owns it already, and returns the owner. Claims are
	// idempotent: a redelivered document finds its own claim. A claim
	// whose owner the memory forgot by age (see Ager) goes to id. The
	// error is for shared implementations whose store cannot be reached.
	Claim(key uint64, id string) (owner string, err error)
}

// Commit is what one document adds to the memory once its output is
// durable.
type Commit struct {
	ID       string
	Blocks   []uint64 // block fingerprints (lines and paragraphs)
	Shingles []uint64 // sampled shingles of its own text
	Sketch   Sketch
	Bands    [Bands]uint64
	// Sketched is false for documents too short to judge: no sketch or
	// bands are stored.
	Sketched bool
	// At is the document's fetched_at in Unix nanoseconds, 0 when unknown.
	At int64
}

// Prefetcher is implemented by memories whose lookups are cheaper when
// announced: Prefetch warms the cache for the block fingerprints and band
// keys about to be looked up. It changes nothing a lookup returns.
type Prefetcher interface {
	Prefetch(blocks, bands []uint64)
}

// MemoryOptions bound the in-memory state.
type MemoryOptions struct {
	// MaxDocs is the window in documents: anything older is forgotten.
	MaxDocs int `yaml:"max_docs" json:"max_docs"`
	// MaxBlocks and MaxShingles bound the remembered block fingerprints and
	// sampled shingles (the oldest go first).
	MaxBlocks   int `yaml:"max_blocks" json:"max_blocks"`
	MaxShingles int `yaml:"max_shingles" json:"max_shingles"`
	// MaxAge, when set, also forgets documents fetched longer than this
	// before the newest one, by the documents' own fetched_at (never the
	// wall clock, so batch output stays deterministic). Documents without
	// a fetched_at age by MaxDocs only.
	MaxAge time.Duration `yaml:"max_age" json:"max_age"`
}

// DefaultMemoryOptions: a window of 10,000 documents, at most 1M block
// fingerprints and 2M sampled shingles (tables of at most 32 + 64 MB),
// plus about 1.2 KB a document for its id, sketch and band keys. A crawler
// that re-publishes over days wants a larger window: size it by documents
// per day (memory grows with it, see BenchmarkMemoryPer*).
func DefaultMemoryOptions() MemoryOptions {
	return MemoryOptions{MaxDocs: 10_000, MaxBlocks: 1 << 20, MaxShingles: 2 << 20}
}

// MemoryStats describe an in-memory Memory, for metrics.
type MemoryStats struct {
	Documents int // committed documents inside the window
	Blocks    int // block fingerprints held
	Shingles  int // sampled shingles held
	Rotations int // generations dropped (evictions of the oldest entries)
}

// Stats returns the memory's sizes. It walks the old generations: call it
// on a metrics scrape, not per document.
func (m *memory) Stats() MemoryStats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return MemoryStats{Documents: min(int(m.next-1), m.opts.MaxDocs), Blocks: m.blocks.Len(), Shingles: m.shingles.Len(),
		Rotations: m.blocks.rotations + m.shingles.rotations}
}

// memory is the in-memory Memory: generational hash tables (see genTable)
// and a ring of the window's documents. Safe for concurrent use.
type memory struct {
	mu       sync.RWMutex
	opts     MemoryOptions
	next     DocRef
	newest   int64  // latest fetched_at committed (Unix nanoseconds)
	genStart DocRef // first document of the young generation
	blocks   *genTable
	shingles *genTable
	bands    *genTable
	// ids maps idKey to a document's latest commit. It ages only when
	// full (2 x MaxDocs slots, rotating at 70%), not with the window's
	// generations, so every document of the window stays in it, as long
	// as its claim lives (see CommitOf's use in Cross.Decide).
	ids    *genTable
	docs   []memDoc // ring indexed by ref % MaxDocs
	claims map[uint64]claim
	prune  int // claims map size at which expired claims are swept
}

type claim struct {
	id string
	at DocRef // the document position when it was claimed
}

type memDoc struct {
	ref    DocRef
	id     string
	sketch *Sketch // nil for documents too short to sketch
	at     int64   // fetched_at, Unix nanoseconds; 0 when unknown
}

// NewMemory returns an in-memory Memory bounded by o.
func NewMemory(o MemoryOptions) Memory {
	o.MaxDocs = max(o.MaxDocs, 1)
	return &memory{
		opts: o, next: 1, genStart: 1,
		blocks:   newGenTable(max(o.MaxBlocks, 1024)),
		shingles: newGenTable(max(o.MaxShingles, 1024)),
		bands:    newGenTable(max(o.MaxDocs*Bands, 1024)),
		ids:      newGenTable(max(2*o.MaxDocs, 1024)),
		docs:     make([]memDoc, min(o.MaxDocs, 1<<16)),
		claims:   map[uint64]claim{},
		prune:    2 * o.MaxDocs,
	}
}

// Claim keeps the first id to claim each key inside the window: a claim
// made at document position ref lives as long as that document would.
func (m *memory) Claim(key uint64, id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.claims[key]; ok && (c.at+DocRef(m.opts.MaxDocs) >= m.next) && !m.agedOut(c.id) {
		return c.id, nil
	}
	m.claims[key] = claim{id: strings.Clone(id), at: m.next}
	if len(m.claims) >= m.prune {
		for k, c := range m.claims {
			if c.at+DocRef(m.opts.MaxDocs) < m.next {
				delete(m.claims, k)
			}
		}
		// Duplicates commit nothing, so a run of them expires nothing: the
		// next sweep waits until the map has doubled (amortised O(1)).
		m.prune = max(2*m.opts.MaxDocs, 2*len(m.claims))
	}
	return id, nil
}

// Ager is implemented by memories that forget documents by their age
// (MemoryOptions.MaxAge). AgedOut reports whether id's latest commit is
// still held but fetched longer than MaxAge before the newest document: a
// claim such a document left on some content goes to the next claimant (a
// shared memory, whose claims outlive its replicas' windows, asks its
// local replica).
type Ager interface {
	AgedOut(id string) bool
}

// AgedOut implements Ager.
func (m *memory) AgedOut(id string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.agedOut(id)
}

// agedOut reports whether id's latest commit is in the ring but fetched
// longer than MaxAge before the newest document: its claims go with it,
// so a copy fetched after that is an original again. An owner that
// committed nothing (a copy in flight, a duplicate) keeps its claim by
// position only. The caller holds the lock.
func (m *memory) agedOut(id string) bool {
	if m.opts.MaxAge <= 0 {
		return false
	}
	y, o, yok, ook := m.ids.get(idKey(id))
	for _, r := range [...]struct {
		ref DocRef
		ok  bool
	}{{DocRef(y), yok}, {DocRef(o), ook}} {
		if !r.ok || r.ref == 0 {
			continue
		}
		d := &m.docs[int(uint64(r.ref)%uint64(len(m.docs)))]
		if d.ref == r.ref && d.id == id {
			return d.at != 0 && d.at < m.newest-int64(m.opts.MaxAge)
		}
	}
	return false
}

// live reports whether ref is inside the window: among the last MaxDocs
// documents and, with MaxAge, fetched within MaxAge of the newest.
func (m *memory) live(ref DocRef) bool {
	if ref == 0 || ref >= m.next || m.next-ref > DocRef(m.opts.MaxDocs) {
		return false
	}
	if m.opts.MaxAge <= 0 {
		return true
	}
	d := &m.docs[int(uint64(ref)%uint64(len(m.docs)))]
	return d.ref != ref || d.at == 0 || d.at >= m.newest-int64(m.opts.MaxAge)
}

// Block values pack the first document (48 bits) and the count (16 bits).
// Each generation counts the documents committed while it was young; a
// block's count is the sum over the two (a document counts once per block,
// in the generation it was committed in), its first document the oldest
// still inside the window.
func (m *memory) Block(fp uint64) (BlockInfo, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	y, o, yok, ook := m.blocks.get(fp)
	var b BlockInfo
	if ook && m.live(DocRef(o>>16)) {
		b = BlockInfo{First: DocRef(o >> 16), Docs: int(o & 0xffff)}
	}
	if yok && m.live(DocRef(y>>16)) {
		if b.First == 0 {
			b.First = DocRef(y >> 16)
		}
		b.Docs = min(b.Docs+int(y&0xffff), 0xffff)
	}
	return b, b.First != 0
}

func (m *memory) Shingle(h uint64) (DocRef, bool) { return m.ref(m.shingles, h) }
func (m *memory) Band(key uint64) (DocRef, bool)  { return m.ref(m.bands, key) }

// ref looks up a table whose values are document references: the old
// generation's, the earlier, when it is inside the window.
func (m *memory) ref(t *genTable, key uint64) (DocRef, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	y, o, yok, ook := t.get(key)
	if ook && m.live(DocRef(o)) {
		return DocRef(o), true
	}
	if yok && m.live(DocRef(y)) {
		return DocRef(y), true
	}
	return 0, false
}

// Prefetch warms both generations' slots for the keys (see
// genTable.prefetch).
func (m *memory) Prefetch(blocks, bands []uint64) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	m.blocks.prefetchAll(blocks)
	m.bands.prefetchAll(bands)
}

func (m *memory) Doc(ref DocRef) (string, *Sketch, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	d, ok := m.docAt(ref)
	if !ok {
		return "", nil, false
	}
	return d.id, d.sketch, true
}

// docAt returns the window's document ref, unless it has left the window
// or the ring slot holds another; the caller holds the lock.
func (m *memory) docAt(ref DocRef) (*memDoc, bool) {
	if !m.live(ref) {
		return nil, false
	}
	d := &m.docs[int(uint64(ref)%uint64(len(m.docs)))]
	return d, d.ref == ref
}

func (m *memory) Commit(c *Commit) DocRef {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref := m.next
	m.next++
	// Each generation spans at most half the window, so nothing older than
	// the window outlives the next rotation: memory follows the window, not
	// the length of the stream.
	if int(ref-m.genStart) >= max(m.opts.MaxDocs/2, 1) {
		m.blocks.rotate()
		m.shingles.rotate()
		m.bands.rotate()
		m.genStart = ref
	}
	if len(m.docs) < m.opts.MaxDocs && int(ref) >= len(m.docs) {
		m.docs = append(m.docs, make([]memDoc, min(len(m.docs), m.opts.MaxDocs-len(m.docs)))...)
	}
	// The id is cloned: a decoder may hand out strings that share the whole
	// input's buffer, and the window must not keep every input alive.
	d := memDoc{ref: ref, id: strings.Clone(c.ID), at: c.At}
	m.newest = max(m.newest, c.At)
	if c.Sketched {
		sk := c.Sketch
		d.sketch = &sk
	}
	m.docs[int(uint64(ref)%uint64(len(m.docs)))] = d
	// A commit writes to the young generations only, one probe per key;
	// lookups combine both (see Block and ref). The probes' cache misses
	// are overlapped first (see prefetch).
	m.blocks.prefetch(c.Blocks)
	m.shingles.prefetch(c.Shingles)
	if c.Sketched {
		m.bands.prefetch(c.Bands[:])
	}
	for _, fp := range c.Blocks {
		v, ok := m.blocks.upsert(fp)
		if !ok || !m.live(DocRef(*v>>16)) {
			*v = uint64(ref)<<16 | 1
		} else if *v&0xffff < 0xffff {
			*v++
		}
	}
	m.putRefs(m.shingles, c.Shingles, ref)
	if c.Sketched {
		m.putRefs(m.bands, c.Bands[:], ref)
	}
	v, _ := m.ids.upsert(idKey(c.ID))
	*v = uint64(ref)
	return ref
}

// idKey is the ids table's key for a document id.
func idKey(id string) uint64 { return xxhash.Sum64String(id) }

// CommitOf looks id up among the window's commits: the young
// generation's entry is the later one. A hash collision between two ids is
// caught by comparing the id the reference names.
func (m *memory) CommitOf(id string) (DocRef, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	y, o, yok, ook := m.ids.get(idKey(id))
	if d, ok := m.docAt(DocRef(y)); yok && ok && d.id == id {
		return d.ref, true
	}
	if d, ok := m.docAt(DocRef(o)); ook && ok && d.id == id {
		return d.ref, true
	}
	return 0, false
}

// putRefs records ref under each key of a table of document references
// whose young entry is missing or has left the window; the caller holds the
// write lock.
func (m *memory) putRefs(t *genTable, keys []uint64, ref DocRef) {
	for _, k := range keys {
		if v, ok := t.upsert(k); !ok || !m.live(DocRef(*v)) {
			*v = uint64(ref)
		}
	}
}

// genTable is a bounded map from uint64 to uint64 in two generations of
// open-addressing tables (16 bytes a slot). Writes go to the young table
// only (a key may then be in both: lookups return both values and the
// memory combines them), which doubles as it fills up to its maximum size;
// once that is 70% full the old table is dropped and the young one ages,
// so the oldest entries are forgotten first and memory stays within two
// tables: at most 16 / 0.35 = 46 bytes per entry, 16 / 0.7 = 23 while the
// first table fills.
type genTable struct {
	young, old []slot
	n          int
	max        int // slots of a full-grown table
	rotations  int
}

type slot struct{ key, val uint64 }

func newGenTable(capacity int) *genTable {
	size := 1
	for size < capacity {
		size <<= 1
	}
	return &genTable{young: make([]slot, min(size, 1024)), max: size}
}

// Keys are stored +1 so that 0 can mark an empty slot (key ^uint64(0)
// collides with 0 and is remapped).
func slotKey(k uint64) uint64 {
	if k == ^uint64(0) {
		return 1
	}
	return k + 1
}

func find(t []slot, k uint64) (int, bool) {
	if len(t) == 0 {
		return -1, false
	}
	mask := uint64(len(t) - 1)
	for i := fmix64(k) & mask; ; i = (i + 1) & mask {
		switch t[i].key {
		case k:
			return int(i), true
		case 0:
			return int(i), false
		}
	}
}

// get returns the key's values in the young and the old generation.
func (g *genTable) get(key uint64) (young, old uint64, inYoung, inOld bool) {
	k := slotKey(key)
	if i, ok := find(g.young, k); ok {
		young, inYoung = g.young[i].val, true
	}
	if i, ok := find(g.old, k); ok {
		old, inOld = g.old[i].val, true
	}
	return young, old, inYoung, inOld
}

// upsert returns the key's value slot in the young generation, adding the
// key (value 0) when it is not there; ok reports that it was. The pointer
// is valid until the next upsert.
func (g *genTable) upsert(key uint64) (v *uint64, ok bool) {
	k := slotKey(key)
	i, ok := find(g.young, k)
	if ok {
		return &g.young[i].val, true
	}
	if g.n >= len(g.young)*7/10 {
		if len(g.young) < g.max {
			g.grow()
		} else {
			g.rotate()
		}
		i, _ = find(g.young, k)
	}
	g.n++
	g.young[i] = slot{key: k}
	return &g.young[i].val, false
}

// prefetch starts loading the cache lines a young-generation probe for
// each key starts on (see prefetchIn).
func (g *genTable) prefetch(keys []uint64) { prefetchIn(g.young, keys) }

// prefetchAll is prefetch in both generations, for lookups.
func (g *genTable) prefetchAll(keys []uint64) {
	prefetchIn(g.young, keys)
	prefetchIn(g.old, keys)
}

// rotate drops the old generation and starts a new young one in the old
// one's memory: a long stream then reuses two tables instead of churning
// through large allocations (which the process keeps as RSS). The new young
// table starts as large as the one that just aged, which is what a
// generation took: growing into it again would rehash every entry of each
// doubling under the memory's lock (32 ms for the last one of a 2M-slot
// table here), stalling every handler.
func (g *genTable) rotate() {
	free := g.old
	if len(free) < len(g.young) {
		free = make([]slot, len(g.young))
	} else {
		clear(free)
	}
	g.old, g.young, g.n = g.young, free, 0
	g.rotations++
}

func (g *genTable) grow() {
	old := g.young
	g.young = make([]slot, 2*len(old))
	for _, s := range old {
		if s.key != 0 {
			i, _ := find(g.young, s.key)
			g.young[i] = s
		}
	}
}

// Len returns how many entries the tables hold (young and old).
func (g *genTable) Len() int {
	n := g.n
	for _, s := range g.old {
		if s.key != 0 {
			n++
		}
	}
	return n
}
