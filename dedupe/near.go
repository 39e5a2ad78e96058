package dedupe

// nearIndex finds, among the blocks added so far, the one whose shingle set
// is most Jaccard-similar to a query set. It is an inverted index (shingle ->
// blocks holding it) over exact shingle sets, so similarities are measured,
// not estimated: inside one document the sets are small and an exact count
// costs less than computing MinHash signatures for every block.
type nearIndex struct {
	threshold float64
	maxPost   int

	head   map[uint64]int32 // shingle -> newest posting
	posts  []posting
	items  []nearItem
	sets   []uint64
	counts []int32
	hit    []int32
}

type posting struct {
	item, next int32
}

type nearItem struct {
	key    int
	s0, s1 int32
}

func newNearIndex(o Options) nearIndex {
	return nearIndex{threshold: o.NearThreshold, maxPost: o.MaxPostings, head: make(map[uint64]int32)}
}

func (x *nearIndex) reset() {
	resetMap(&x.head)
	x.posts = x.posts[:0]
	x.items = x.items[:0]
	x.sets = x.sets[:0]
}

// match returns the key of the indexed block most similar to set (a sorted
// shingle set) and their Jaccard similarity, when it reaches the threshold.
// Ties go to the earliest block.
func (x *nearIndex) match(set []uint64) (key int, sim float64, ok bool) {
	if len(x.items) == 0 || len(set) == 0 {
		return 0, 0, false
	}
	if cap(x.counts) < len(x.items) {
		x.counts = make([]int32, len(x.items), 2*len(x.items))
	}
	x.counts = x.counts[:len(x.items)]
	x.hit = x.hit[:0]
	for _, s := range set {
		p, found := x.head[s]
		for n := 0; found && p >= 0 && n < x.maxPost; n++ {
			it := x.posts[p].item
			if x.counts[it] == 0 {
				x.hit = append(x.hit, it)
			}
			x.counts[it]++
			p = x.posts[p].next
		}
	}
	best := int32(-1)
	for _, it := range x.hit {
		inter := float64(x.counts[it])
		x.counts[it] = 0
		size := float64(x.items[it].s1 - x.items[it].s0)
		j := inter / (float64(len(set)) + size - inter)
		if j >= x.threshold && (j > sim || (j == sim && it < best)) {
			best, sim = it, j
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	return x.items[best].key, sim, true
}

// add indexes a block's sorted shingle set under key.
func (x *nearIndex) add(key int, set []uint64) {
	it := int32(len(x.items))
	s0 := int32(len(x.sets))
	x.sets = append(x.sets, set...)
	x.items = append(x.items, nearItem{key: key, s0: s0, s1: int32(len(x.sets))})
	for _, s := range set {
		next, found := x.head[s]
		if !found {
			next = -1
		}
		x.head[s] = int32(len(x.posts))
		x.posts = append(x.posts, posting{item: it, next: next})
	}
}
