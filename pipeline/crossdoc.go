package pipeline

import (
	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/schemas"
)

// crossStage applies cross-document dedup and holds the commit until the
// caller says the output is durable (Pipeline.Commit).
type crossStage struct {
	x       *dedupe.Cross
	mem     dedupe.Memory
	dec     dedupe.CrossDecision
	pending bool
}

func (s *crossStage) Process(d *Doc) {
	s.x.Decide(d.In.ID, d.A, &s.dec)
	if t, ok := schemas.ParseDateTime(d.In.FetchedAt); ok {
		s.dec.Commit.At = t.UnixNano()
	}
	if s.dec.Err != nil {
		d.Err = s.dec.Err
		return
	}
	if s.dec.DuplicateOf != "" {
		d.DuplicateOf, d.DuplicateSimilarity, d.DuplicateRule = s.dec.DuplicateOf, round4(s.dec.Similarity), s.dec.Rule
		return
	}
	s.pending = true
}
