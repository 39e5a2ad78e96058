package pipeline

import (
	"slices"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/moderate"
	"github.com/winnow-dev/winnow/schemas"
)

// moderation is the stage that applies a moderate.Moderator's findings:
// drop_block removes the line, redact cuts a span, flag adds a flag (one
// per rule), reject routes the document to docs.rejected.>.
type moderation struct {
	m        *moderate.Moderator
	findings []moderate.Finding
}

func (s *moderation) Process(d *Doc) {
	s.findings = s.m.ModerateSource(d.A, d.In.Source, s.findings[:0])
	for _, f := range s.findings {
		rm := schemas.Removal{Reason: f.Rule, Action: string(f.Action), Score: f.Score, Evidence: f.Evidence}
		switch f.Action {
		case moderate.ActionDropBlock:
			if !d.A.Kept(f.Line) {
				continue
			}
			l := d.A.Lines[f.Line]
			idx := d.A.Remove(f.Line, f.Line, dedupe.Removal{Span: l.Span, Kind: l.Kind})
			if d.Extra == nil {
				d.Extra = map[int]schemas.Removal{}
			}
			d.Extra[idx] = rm
		case moderate.ActionRedact:
			rm.Kind = "span"
			d.Cuts = append(d.Cuts, Cut{Span: f.Span, Replace: f.Replace, Masked: f.Masked, Removal: rm})
		case moderate.ActionFlag:
			if i := slices.IndexFunc(d.Flags, func(x schemas.Flag) bool { return x.Rule == f.Rule }); i >= 0 {
				d.Flags[i].Score += f.Score // one flag per rule; score counts PII matches
				continue
			}
			d.Flags = append(d.Flags, schemas.Flag{Rule: f.Rule, Score: f.Score, Evidence: f.Evidence})
		case moderate.ActionReject:
			if d.Rejected == nil {
				d.Rejected = &schemas.Rejection{Rule: f.Rule, Score: f.Score, Evidence: f.Evidence}
			}
		}
	}
}

// normalizeCuts sorts cuts, drops those in removed lines and merges
// overlapping ones (the first keeps its record).
func normalizeCuts(a *dedupe.Analysis, cuts []Cut) []Cut {
	slices.SortStableFunc(cuts, func(x, y Cut) int { return x.Start - y.Start })
	out := cuts[:0]
	for _, c := range cuts {
		if n := len(out); n > 0 && c.Start < out[n-1].End {
			if c.End > out[n-1].End {
				out[n-1].End = c.End
				out[n-1].Removal.Length = out[n-1].Len()
			}
			continue
		}
		if lineRemoved(a, c.Start) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func lineRemoved(a *dedupe.Analysis, off int) bool {
	i, _ := slices.BinarySearchFunc(a.Lines, off, func(l dedupe.Line, off int) int {
		switch {
		case l.End < off:
			return -1
		case l.Start > off:
			return 1
		}
		return 0
	})
	return i < len(a.Lines) && a.Lines[i].Start <= off && off <= a.Lines[i].End && !a.Kept(i)
}
