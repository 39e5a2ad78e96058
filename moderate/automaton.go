package moderate

// wordMatcher is an Aho-Corasick automaton whose alphabet is word hashes:
// it finds every occurrence of every phrase in a word sequence in one pass,
// however many phrases there are and however they overlap.
type wordMatcher struct {
	edges   map[edge]int32
	fail    []int32
	out     [][]int32 // phrase ids ending at each state (suffix outputs merged)
	lengths []int     // words per phrase
	first   map[uint64]bool
	// firstBits is a 2^16-bit filter over first words: most words miss it
	// and skip the map lookup.
	firstBits [1 << 10]uint64
}

type edge struct {
	state int32
	word  uint64
}

// match is one phrase occurrence: words [Start, End) of the sequence.
type match struct {
	Phrase     int32
	Start, End int
}

func newWordMatcher(phrases [][]uint64) *wordMatcher {
	m := &wordMatcher{edges: map[edge]int32{}, fail: []int32{0}, out: [][]int32{nil}, first: map[uint64]bool{}}
	for id, p := range phrases {
		m.lengths = append(m.lengths, len(p))
		if len(p) == 0 {
			continue
		}
		m.first[p[0]] = true
		m.firstBits[(p[0]>>6)&(1<<10-1)] |= 1 << (p[0] & 63)
		s := int32(0)
		for _, w := range p {
			next, ok := m.edges[edge{s, w}]
			if !ok {
				next = int32(len(m.fail))
				m.fail = append(m.fail, 0)
				m.out = append(m.out, nil)
				m.edges[edge{s, w}] = next
			}
			s = next
		}
		m.out[s] = append(m.out[s], int32(id))
	}
	// Breadth-first: fail links and merged outputs.
	children := map[int32][]edge{}
	for e, to := range m.edges {
		children[e.state] = append(children[e.state], edge{to, e.word})
	}
	queue := []int32{}
	for _, c := range children[0] {
		queue = append(queue, c.state)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, c := range children[s] {
			child, w := c.state, c.word
			f := m.fail[s]
			for {
				if to, ok := m.edges[edge{f, w}]; ok && to != child {
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

// find appends every phrase occurrence in words to dst.
func (m *wordMatcher) find(words []uint64, dst []match) []match {
	s := int32(0)
	for i, w := range words {
		for {
			if to, ok := m.edges[edge{s, w}]; ok {
				s = to
				break
			}
			if s == 0 {
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

// mayMatch reports whether any word starts a phrase: a cheap test that lets
// most lines skip the detailed pass.
func (m *wordMatcher) mayMatch(words []uint64) bool {
	for _, w := range words {
		if m.firstBits[(w>>6)&(1<<10-1)]&(1<<(w&63)) != 0 && m.first[w] {
			return true
		}
	}
	return false
}
