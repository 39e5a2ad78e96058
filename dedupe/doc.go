// Package dedupe finds repeated text inside one document: it normalises text
// for fingerprinting, segments a document into lines, list items and
// paragraphs with byte offsets, hashes words and k-word shingles with xxhash,
// and decides which blocks repeat an earlier block exactly or nearly, with
// the evidence (the block repeated and the similarity).
//
// It is pure: it takes strings and returns decisions. It must not import
// NATS, zap, prometheus, read the clock, start goroutines or do I/O; a test
// holds that line.
package dedupe
