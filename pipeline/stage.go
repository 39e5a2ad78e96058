package pipeline

import (
	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/schemas"
)

// Doc is one document on its way through the stages: the input, the
// in-document analysis (lines and their removals) and what later stages add.
type Doc struct {
	In schemas.Document
	A  *dedupe.Analysis

	// Cuts are spans to remove inside kept lines (redactions, and text a
	// line repeats inside itself, from dedupe), each with its removal
	// record. The record drops those in lines a later stage removed.
	Cuts []Cut
	// Extra holds removals decided by stages after dedupe, aligned with the
	// dedupe.Analysis removals they added (Analysis.Removals index -> record).
	Extra map[int]schemas.Removal

	Flags    []schemas.Flag
	Rejected *schemas.Rejection

	DuplicateOf         string
	DuplicateSimilarity float64
	DuplicateRule       string

	// Err, set by a stage, stops the pipeline: a fault outside the
	// document (shared state unreachable), so the caller retries it later.
	Err error
}

// Cut is a span removed from inside a kept line, and why. Replace is
// written in its place; Masked, when set, stands for the removed text in
// the record (personal data is not copied into evidence).
type Cut struct {
	dedupe.Span
	Replace string
	Masked  string
	Removal schemas.Removal
}

// Stage is one step of the pipeline. A stage reads and annotates the Doc; it
// never renders text.
type Stage interface {
	Process(d *Doc)
}

// StageFunc adapts a function to Stage.
type StageFunc func(d *Doc)

// Process calls f(d).
func (f StageFunc) Process(d *Doc) { f(d) }
