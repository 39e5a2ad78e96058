package dedupe

// prefetchSlots issues a PREFETCHT0 for slot i of t and for slot
// (i+4)&(len(t)-1) (the next cache line) for each i in idx, which must be
// below len(t), a power of two. A prefetch instruction retires at once, so
// one call keeps as many misses in flight as the processor allows, where
// loads would stall it once its reorder buffer filled.
//
//go:noescape
func prefetchSlots(t []slot, idx []uint64)
