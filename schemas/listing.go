package schemas

import "slices"

// RemovalGroup is what ListingOrder groups a record's removals by: the
// reason and what they repeat (the block at RefOffset, or RefDoc; Ref is
// -1 for a removal that repeats nothing, a moderation cut).
type RemovalGroup struct {
	Reason string
	RefDoc string
	Ref    int
}

// GroupOf returns r's RemovalGroup.
func GroupOf(r Removal) RemovalGroup {
	g := RemovalGroup{Reason: r.Reason, RefDoc: r.RefDoc, Ref: -1}
	if r.RefOffset != nil {
		g.Ref = *r.RefOffset
	}
	return g
}

// ListingOrder returns 0..n-1, the positions of n removals in input order
// whose groups group gives, in the order a record that cannot list them
// all keeps them: the first removal of each group, groups in the order
// they first appear, then the second of each, and so on. A record that
// lists the first k of this order, put back in input order, shows an
// example of every group it can, so an ad dropped after 10,000 repeats of
// one line is listed, and not only the repeats. Where every removal is its
// own group, or all are one, it is input order.
func ListingOrder(n int, group func(i int) RemovalGroup) []int {
	rank := make([]int32, n)
	seen := make(map[RemovalGroup]int32)
	for i := range n {
		g := group(i)
		rank[i] = seen[g]
		seen[g]++
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(rank[a] - rank[b]) })
	return order
}
