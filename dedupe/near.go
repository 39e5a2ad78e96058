package dedupe

import (
	"math"
	"slices"
)

// nearIndex finds, among the blocks added so far, the one whose shingle set
// is most Jaccard-similar to a query set, measuring similarity exactly.
//
// It uses prefix filtering (AllPairs): with every set sorted by the same
// global order (hash value), two sets with Jaccard >= t share at least
// ceil(t*max(|A|,|B|)) elements, so they must share one within the first
// |A| - ceil(t*|A|) + 1 elements of A and likewise of B. Only those prefixes
// are indexed and probed (a fifth of the shingles at t = 0.8), and each
// candidate is verified by merging the two sorted sets. No pair at or above
// the threshold is missed: unlike MinHash there is no estimation error, and
// inside one document it costs less than computing signatures.
type nearIndex struct {
	threshold float64
	maxPost   int

	head  fpTable // shingle -> newest posting
	posts []posting
	items []nearItem
	sets  []uint64
	seen  []uint32 // per item: the query stamp that last visited it
	query []uint64 // the current query, sorted, once a candidate needs it
	pre   []uint64
	// indexed counts the items whose prefixes are in head; add leaves the
	// rest for the next match.
	indexed int
	// preFor is the item index pre was computed for by the last match (the
	// item add will create), or -1.
	preFor int
	stamp  uint32
}

type posting struct {
	item, next int32
}

type nearItem struct {
	key    int
	s0, s1 int32
	sorted bool // sets[s0:s1] sorted and distinct (done lazily, on first verification)
}

func newNearIndex(o Options) nearIndex {
	return nearIndex{threshold: o.NearThreshold, maxPost: o.MaxPostings, preFor: -1}
}

func (x *nearIndex) reset() {
	if cap(x.sets) > retainWords {
		*x = newNearIndex(Options{NearThreshold: x.threshold, MaxPostings: x.maxPost})
		return
	}
	x.head.reset()
	x.posts = x.posts[:0]
	x.items = x.items[:0]
	x.sets = x.sets[:0]
	x.indexed = 0
	x.preFor = -1
}

// prefix returns how many of a sorted set's smallest elements must be indexed
// or probed for threshold t.
func prefix(n int, t float64) int {
	return n - int(math.Ceil(t*float64(n)-1e-9)) + 1
}

// match returns the key of the indexed block most similar to set (the
// block's shingles, any order) and their Jaccard similarity, when it reaches
// the threshold. Ties go to the
// earliest block. Sets are sorted only when a candidate needs verifying,
// which is rare: most blocks share no prefix shingle with any other.
func (x *nearIndex) match(set []uint64) (key int, sim float64, ok bool) {
	x.preFor = -1
	if len(x.items) == 0 || len(set) == 0 {
		return 0, 0, false
	}
	x.indexPending()
	for len(x.seen) < len(x.items) {
		x.seen = append(x.seen, 0)
	}
	x.stamp++
	if x.stamp == 0 {
		clear(x.seen)
		x.stamp = 1
	}
	best := int32(-1)
	var query []uint64
	x.pre = Bottom(set, prefix(len(set), x.threshold), x.pre[:0])
	x.preFor = len(x.items)
	for _, s := range x.pre {
		p, found := x.head.get(s)
		for n := 0; found && p >= 0 && n < x.maxPost; n++ {
			it := x.posts[p].item
			p = x.posts[p].next
			if x.seen[it] == x.stamp {
				continue
			}
			x.seen[it] = x.stamp
			if query == nil {
				x.query = sortedSet(append(x.query[:0], set...))
				query = x.query
			}
			j := Jaccard(query, x.itemSet(it))
			if j >= x.threshold && (j > sim || (j == sim && it < best)) {
				best, sim = it, j
			}
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	return x.items[best].key, sim, true
}

func (x *nearIndex) itemSet(it int32) []uint64 {
	item := &x.items[it]
	if !item.sorted {
		s := sortedSet(x.sets[item.s0:item.s1])
		item.s1 = item.s0 + int32(len(s))
		item.sorted = true
	}
	return x.sets[item.s0:item.s1]
}

// add stores a block's shingles under key. matched says the last call on
// this index was match(set) with the same set, whose prefix is then reused.
// Otherwise the prefix is indexed when the next query comes, so the last
// block of a document (often its only one) never pays for it.
func (x *nearIndex) add(key int, set []uint64, matched bool) {
	s0 := int32(len(x.sets))
	x.sets = append(x.sets, set...)
	x.items = append(x.items, nearItem{key: key, s0: s0, s1: int32(len(x.sets))})
	if matched && x.preFor == len(x.items)-1 && x.indexed == x.preFor {
		// match just computed this set's prefix: index it now.
		x.post(int32(x.indexed), x.pre)
		x.indexed++
	}
	x.preFor = -1
}

func (x *nearIndex) indexPending() {
	for ; x.indexed < len(x.items); x.indexed++ {
		item := &x.items[x.indexed]
		set := x.sets[item.s0:item.s1]
		x.pre = Bottom(set, prefix(len(set), x.threshold), x.pre[:0])
		x.post(int32(x.indexed), x.pre)
	}
}

func (x *nearIndex) post(it int32, pre []uint64) {
	for _, s := range pre {
		next, found := x.head.get(s)
		if !found {
			next = -1
		}
		x.head.put(s, int32(len(x.posts)))
		x.posts = append(x.posts, posting{item: it, next: next})
	}
}

func sortedSet(s []uint64) []uint64 {
	slices.Sort(s)
	return slices.Compact(s)
}

// Bottom appends the p smallest distinct values of s to dst in ascending
// order: a set's prefix under the hash order, found without sorting the set.
func Bottom(s []uint64, p int, dst []uint64) []uint64 {
	n0 := len(dst)
	if p > 8 && p <= 24 && len(s) > 2*p {
		// Shingle hashes are uniform, so the p smallest of n lie below
		// about p/n of the range: collect the values under 1.5 times that
		// (1.5p expected) and sort only those. When fewer than p distinct
		// ones fall under it (rare, or values that are not hashes), take
		// one of the exact ways below. For larger p, sorting the 1.5p
		// costs more than selecting (BenchmarkBottom).
		limit := math.MaxUint64 / uint64(len(s)) * uint64(p+p/2)
		for _, v := range s {
			if v < limit {
				dst = append(dst, v)
			}
		}
		if b := sortedSet(dst[n0:]); len(b) >= p {
			return dst[:n0+p]
		}
		dst = dst[:n0]
	}
	if p > 24 { // insertion costs O(len(s)*p): select on a copy instead
		dst = append(dst, s...)
		b := dst[n0:]
		if p >= len(b) {
			return dst[:n0+len(sortedSet(b))]
		}
		quickselect(b, p)
		b = b[:p]
		slices.Sort(b)
		if c := slices.Compact(b); len(c) < len(b) {
			// Repeats inside the selection: fall back to the exact way.
			dst = append(dst[:n0], s...)
			set := sortedSet(dst[n0:])
			return dst[:n0+min(p, len(set))]
		}
		return dst[:n0+len(b)]
	}
	for _, v := range s {
		b := dst[n0:]
		if len(b) == p && (p == 0 || v >= b[p-1]) {
			continue
		}
		j := len(b)
		for j > 0 && b[j-1] > v {
			j--
		}
		if j > 0 && b[j-1] == v {
			continue
		}
		if len(b) < p {
			dst = append(dst, 0)
			b = dst[n0:]
		}
		copy(b[j+1:], b[j:len(b)-1])
		b[j] = v
	}
	return dst
}

// quickselect reorders s so that its k smallest values come first (in any
// order). Values are hashes, so the middle element is as good a pivot as any.
func quickselect(s []uint64, k int) {
	lo, hi := 0, len(s)-1
	for lo < hi {
		pivot := s[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for s[i] < pivot {
				i++
			}
			for s[j] > pivot {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}
