// Package moderate holds winnow's content rules: promotional blurbs and
// pitches, spam, personal data, operator blocklists and boilerplate lines.
// Each rule reports findings with an action (drop_block, redact, flag,
// reject), a score and its evidence; the pipeline applies them.
//
// It is pure: it reads a document's text and its dedupe.Analysis and returns
// findings. It must not import NATS, zap, prometheus, read the clock, start
// goroutines or do I/O (the spam model is embedded; operator files are read
// by the caller).
package moderate
