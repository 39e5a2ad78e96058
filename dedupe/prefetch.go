package dedupe

// prefetchIn starts loading, for each key, the cache lines a probe of t
// starts on: its home slot's and the next, where a probe runs on. In a
// table far larger than the cache every probe misses; announced together,
// the misses overlap instead of each probe waiting on main memory in turn.
// It changes nothing in t.
func prefetchIn(t []slot, keys []uint64) {
	if len(t) == 0 {
		return
	}
	mask := uint64(len(t) - 1)
	var idx [64]uint64
	for len(keys) > 0 {
		n := min(len(keys), len(idx))
		for j, k := range keys[:n] {
			idx[j] = fmix64(slotKey(k)) & mask
		}
		prefetchSlots(t, idx[:n])
		keys = keys[n:]
	}
}
