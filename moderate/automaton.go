package moderate

import "math/bits"

// wordMatcher is an Aho-Corasick automaton whose alphabet is word hashes:
// it finds every occurrence of every phrase in a word sequence in one pass,
// however many phrases there are and however they overlap.
//
// Its edges live in one open-addressed table, not a Go map: an operator's
// blocklist of 20,000 phrases makes nearly every word of a page a first
// word's neighbour, and each word of every line costs a lookup
// (BenchmarkLargeBlocklist).
type wordMatcher struct {
	edges   []edge // a power of two long, at most half full; to == 0 marks a free slot
	shift   uint   // 64 - log2(len(edges))
	fail    []int32
	out     [][]int32 // phrase ids ending at each state (suffix outputs merged)
	lengths []int     // words per phrase
	// firstBits is a 2^16-bit filter over first words: most words miss it
	// and skip the table.
	firstBits [1 << 10]uint64
}

// edge goes from state from to state to on word. The root, state 0, is no
// edge's target.
type edge struct {
	word     uint64
	from, to int32
}

// match is one phrase occurrence: words [Start, End) of the sequence.
type match struct {
	Phrase     int32
	Start, End int
}

func newWordMatcher(phrases [][]uint64) *wordMatcher {
	m := &wordMatcher{fail: []int32{0}, out: [][]int32{nil}}
	type key struct {
		from int32
		word uint64
	}
	built := map[key]int32{}
	var order []edge // in the order made, for a table that does not depend on map order
	for id, p := range phrases {
		m.lengths = append(m.lengths, len(p))
		if len(p) == 0 {
			continue
		}
		m.firstBits[(p[0]>>6)&(1<<10-1)] |= 1 << (p[0] & 63)
		s := int32(0)
		for _, w := range p {
			next, ok := built[key{s, w}]
			if !ok {
				next = int32(len(m.fail))
				m.fail = append(m.fail, 0)
				m.out = append(m.out, nil)
				built[key{s, w}] = next
				order = append(order, edge{w, s, next})
			}
			s = next
		}
		m.out[s] = append(m.out[s], int32(id))
	}
	size := 16
	for size < 2*len(order) {
		size *= 2
	}
	m.edges = make([]edge, size)
	m.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for _, e := range order {
		i := m.slot(e.from, e.word)
		for m.edges[i].to != 0 {
			i = (i + 1) & (len(m.edges) - 1)
		}
		m.edges[i] = e
	}
	// Breadth-first: fail links and merged outputs.
	children := make([][]edge, len(m.fail))
	for _, e := range order {
		children[e.from] = append(children[e.from], e)
	}
	queue := []int32{}
	for _, c := range children[0] {
		queue = append(queue, c.to)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, c := range children[s] {
			child, w := c.to, c.word
			f := m.fail[s]
			for {
				if to := m.next(f, w); to != 0 && to != child {
					m.fail[child] = to
					break
				}
				if f == 0 {
					m.fail[child] = 0
					break
				}
				f = m.fail[f]
			}
			m.out[child] = append(m.out[child], m.out[m.fail[child]]...)
			queue = append(queue, child)
		}
	}
	return m
}

// slot is where the table's probe for the edge (from, word) starts.
func (m *wordMatcher) slot(from int32, word uint64) int {
	return int(((word ^ uint64(from)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9) >> m.shift)
}

// next is the state the edge (from, word) leads to, or 0 when there is none.
func (m *wordMatcher) next(from int32, word uint64) int32 {
	for i := m.slot(from, word); ; i = (i + 1) & (len(m.edges) - 1) {
		e := &m.edges[i]
		if e.to == 0 {
			return 0
		}
		if e.word == word && e.from == from {
			return e.to
		}
	}
}

// mayStart is the filter: false when no phrase starts with word.
func (m *wordMatcher) mayStart(word uint64) bool {
	return m.firstBits[(word>>6)&(1<<10-1)]&(1<<(word&63)) != 0
}

// starts reports whether a phrase starts with word.
func (m *wordMatcher) starts(word uint64) bool {
	return m.mayStart(word) && m.next(0, word) != 0
}

// find appends every phrase occurrence in words to dst.
func (m *wordMatcher) find(words []uint64, dst []match) []match {
	s := int32(0)
	for i, w := range words {
		for {
			if s == 0 {
				if m.mayStart(w) {
					s = m.next(0, w)
				}
				break
			}
			if to := m.next(s, w); to != 0 {
				s = to
				break
			}
			s = m.fail[s]
		}
		for _, id := range m.out[s] {
			dst = append(dst, match{Phrase: id, Start: i + 1 - m.lengths[id], End: i + 1})
		}
	}
	return dst
}
