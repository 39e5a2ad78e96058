//go:build !amd64

package dedupe

import "sync/atomic"

// prefetchSlots loads slot i of t and the slot a cache line on for each i
// in idx, which must be below len(t), a power of two. The loads are
// independent, so the processor overlaps their misses as far as its
// reorder buffer allows.
func prefetchSlots(t []slot, idx []uint64) {
	var s uint64
	mask := uint64(len(t) - 1)
	for _, i := range idx {
		s += t[i].key + t[(i+4)&mask].key
	}
	keep(s)
}

// keep makes the loads observable, so the compiler cannot drop them as
// unused; the branch is practically never taken.
func keep(s uint64) {
	if s == 0x9e3779b97f4a7c15 {
		keepSink.Store(s)
	}
}

var keepSink atomic.Uint64
