package schemas

import (
	"slices"
	"testing"
)

// TestListingOrder: the first removal of every group, groups in the order
// they first appear, then the second of each, and so on; input order where
// every removal is its own group or all are one.
func TestListingOrder(t *testing.T) {
	ref := func(n int) *int { return &n }
	a := Removal{Reason: "exact_repeat", RefOffset: ref(0)}
	b := Removal{Reason: "exact_repeat", RefOffset: ref(40)}
	ad := Removal{Reason: "promotional"}
	other := Removal{Reason: "cross_repeat", RefDoc: "d1"}
	for _, c := range []struct {
		name string
		rs   []Removal
		want []int
	}{
		{"one group", []Removal{a, a, a}, []int{0, 1, 2}},
		{"every one its own", []Removal{a, b, ad, other}, []int{0, 1, 2, 3}},
		{"an ad after repeats", []Removal{a, a, a, a, ad}, []int{0, 4, 1, 2, 3}},
		{"in turn", []Removal{a, a, b, a, other, b, ad}, []int{0, 2, 4, 6, 1, 5, 3}},
		{"same reason, another block", []Removal{a, a, a, b}, []int{0, 3, 1, 2}},
		{"none", nil, []int{}},
	} {
		got := ListingOrder(len(c.rs), func(i int) RemovalGroup { return GroupOf(c.rs[i]) })
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
