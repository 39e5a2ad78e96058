// Package pipeline is the one composition of winnow's stages: decode ->
// in-document dedupe -> moderation -> record. Both the NATS worker and
// `winnow clean` call it, so stream and batch decide identically.
//
// It is pure: no NATS, logging, metrics, clock or goroutines. Cross-document
// state, when a later stage needs it, sits behind an interface the caller
// provides. A Pipeline keeps reusable buffers and is not safe for concurrent
// use; build one per goroutine.
package pipeline
