package dedupe

import (
	"slices"

	"github.com/cespare/xxhash/v2"
)

// Words hashes each word of a fingerprint-form string (words separated by
// single spaces, as Normalizer produces) with xxhash and appends the hashes to
// dst.
func Words(norm []byte, dst []uint64) []uint64 {
	start := 0
	for i := 0; i <= len(norm); i++ {
		if i == len(norm) || norm[i] == ' ' {
			if i > start {
				dst = append(dst, xxhash.Sum64(norm[start:i]))
			}
			start = i + 1
		}
	}
	return dst
}

const (
	mixSeed  = 0x9e3779b97f4a7c15
	mixPrime = 0xbf58476d1ce4e5b9
)

// fmix64 is the MurmurHash3 finaliser: it spreads every input bit over the
// whole output, so combined word hashes stay uniformly distributed.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// Combine hashes a sequence of word hashes, order-sensitively. Two blocks with
// the same fingerprint form have the same Combine of their word hashes; it is
// the block's exact fingerprint. An empty sequence hashes to 0.
func Combine(words []uint64) uint64 {
	if len(words) == 0 {
		return 0
	}
	h := uint64(mixSeed)
	for _, w := range words {
		h = (h ^ w) * mixPrime
		h ^= h >> 29
	}
	return fmix64(h ^ uint64(len(words)))
}

// rollBase is the multiplier of the rolling shingle hash (odd, so powers of
// it are invertible mod 2^64 and no word's contribution vanishes).
const rollBase = 0x100000001b3*2 + 1

// Shingles appends the k-shingle hashes of a word-hash sequence to dst: one
// per window of k consecutive words, or one (the block's fingerprint,
// Combine) when the sequence is shorter than k. A window's hash depends only
// on its k words and their order: it is a polynomial rolling hash of the
// word hashes (O(1) a window, whatever k), finalised by fmix64.
func Shingles(words []uint64, k int, dst []uint64) []uint64 {
	if len(words) == 0 {
		return dst
	}
	if len(words) < k {
		return append(dst, Combine(words))
	}
	var h, top uint64 = 0, 1 // top = rollBase^(k-1)
	for i := 0; i < k; i++ {
		h = h*rollBase + words[i]
		if i > 0 {
			top *= rollBase
		}
	}
	dst = append(dst, fmix64(h^uint64(k)))
	for i := k; i < len(words); i++ {
		h = (h-words[i-k]*top)*rollBase + words[i]
		dst = append(dst, fmix64(h^uint64(k)))
	}
	return dst
}

// ShingleSet is Shingles sorted with repeats removed: the set whose Jaccard
// similarity and containment the near-duplicate decisions use.
func ShingleSet(words []uint64, k int, dst []uint64) []uint64 {
	n := len(dst)
	dst = Shingles(words, k, dst)
	set := dst[n:]
	slices.Sort(set)
	return dst[:n+len(slices.Compact(set))]
}

// Overlap counts the elements two sorted sets share.
func Overlap(a, b []uint64) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			n++
			i++
			j++
		}
	}
	return n
}

// Jaccard returns |a ∩ b| / |a ∪ b| for two sorted sets (0 when both are
// empty).
func Jaccard(a, b []uint64) float64 {
	inter := Overlap(a, b)
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// Containment returns |a ∩ b| / |a|: the share of a found in b.
func Containment(a, b []uint64) float64 {
	if len(a) == 0 {
		return 0
	}
	return float64(Overlap(a, b)) / float64(len(a))
}
