package dedupe

// fpTable maps 64-bit fingerprints to int32 values with open addressing. It
// empties in O(1) by bumping a generation stamp, so a Cleaner can reuse one
// table for every document without paying to clear it.
type fpTable struct {
	slots []fpSlot
	gen   uint32
	n     int
}

type fpSlot struct {
	key uint64
	val int32
	gen uint32
}

const fpTableMin = 256

func (t *fpTable) reset() {
	// A table that grew for one huge document is dropped rather than kept,
	// and one far larger than the last document needed shrinks to fit it:
	// its probes would scatter over memory the cache cannot hold for them
	// (a worker runs a Cleaner per core, beside the NATS client and server).
	if len(t.slots) > 1<<13 {
		t.slots = nil
	} else if len(t.slots) > fpTableMin && 16*t.n < len(t.slots) {
		size := fpTableMin
		for size < 4*t.n {
			size <<= 1
		}
		t.slots = make([]fpSlot, size)
		t.gen = 1
	}
	t.n = 0
	t.gen++
	if t.gen == 0 { // wrapped: stale stamps could look current
		clear(t.slots)
		t.gen = 1
	}
}

func (t *fpTable) get(key uint64) (int32, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := fmix64(key) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.gen != t.gen {
			return 0, false
		}
		if s.key == key {
			return s.val, true
		}
	}
}

// put sets key to val and returns the previous value, if any.
func (t *fpTable) put(key uint64, val int32) (int32, bool) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := fmix64(key) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.gen != t.gen {
			*s = fpSlot{key: key, val: val, gen: t.gen}
			t.n++
			return 0, false
		}
		if s.key == key {
			old := s.val
			s.val = val
			return old, true
		}
	}
}

func (t *fpTable) grow() {
	old, gen := t.slots, t.gen
	size := max(fpTableMin, 2*len(old))
	t.slots = make([]fpSlot, size)
	t.n = 0
	if t.gen == 0 {
		t.gen = 1
	}
	for _, s := range old {
		if s.gen == gen {
			t.put(s.key, s.val)
		}
	}
}
