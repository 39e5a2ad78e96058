package pipeline

import (
	"slices"
	"strings"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/schemas"
)

// record renders the kept text and builds the record for p.doc.
func (p *Pipeline) record() schemas.Record {
	d, a := &p.doc, p.doc.A
	d.Cuts = normalizeCuts(a, d.Cuts)
	in := d.In
	rec := schemas.Record{
		Schema: schemas.RecordV1, ID: in.ID, URL: in.URL, Source: in.Source, Title: in.Title,
		Lang: in.Lang, FetchedAt: in.FetchedAt, ContentType: in.ContentType, Metadata: in.Metadata,
		DuplicateOf: d.DuplicateOf, DuplicateSimilarity: d.DuplicateSimilarity, DuplicateRule: d.DuplicateRule,
		Rejected: d.Rejected, Flags: d.Flags,
	}
	if rec.Flags == nil {
		rec.Flags = []schemas.Flag{}
	}
	// Every removal is counted by its reason; max_removals of them are
	// listed with their text and evidence (an example of every reason and
	// repeated block first, see schemas.ListingOrder), the rest counted in
	// removed_omitted: a page of many tiny repeats made a record 60 times
	// its size (250,000 one-letter lines, a 30 MB record).
	byReason := map[string]int{}
	order := p.order[:0]
	for i, r := range a.Removals {
		reason := string(r.Reason)
		if rm, ok := d.Extra[i]; ok {
			reason = rm.Reason
		}
		byReason[reason]++
		order = append(order, removalRef{r.Start, i})
	}
	for i, c := range d.Cuts {
		byReason[c.Removal.Reason]++
		order = append(order, removalRef{c.Start, len(a.Removals) + i})
	}
	slices.SortStableFunc(order, func(x, y removalRef) int { return x.start - y.start })
	listed := order
	if m := p.cfg.MaxRemovals; m > 0 && len(order) > m {
		keep := schemas.ListingOrder(len(order), func(j int) schemas.RemovalGroup { return p.group(order[j].i) })[:m]
		slices.Sort(keep)
		listed = make([]removalRef, m)
		for j, k := range keep {
			listed[j] = order[k]
		}
		rec.RemovedOmitted = len(order) - m
	}
	rec.Removed = make([]schemas.Removal, 0, len(listed))
	for _, o := range listed {
		rec.Removed = append(rec.Removed, p.removal(o.i))
	}
	if cap(order) > 1<<14 {
		order = nil // one page of many tiny repeats must not pin its list
	}
	p.order = order

	var linesOut int
	p.out, linesOut = render(p.out[:0], a, d.Cuts)
	rec.Text = string(p.out)
	rec.Stats = schemas.Stats{BytesIn: len(in.Text), BytesOut: len(rec.Text), LinesIn: len(a.Lines), LinesOut: linesOut}
	if len(byReason) > 0 {
		rec.Stats.RemovedByReason = byReason
	}
	return rec
}

// removalRef is a removal's place in the input and its index: below
// len(Analysis.Removals) one of those, else a cut of Doc.Cuts.
type removalRef struct{ start, i int }

// removal builds the record's entry for removal i (see removalRef).
func (p *Pipeline) removal(i int) schemas.Removal {
	d, a := &p.doc, p.doc.A
	if i >= len(a.Removals) {
		c := &d.Cuts[i-len(a.Removals)]
		rm := c.Removal
		rm.Text, rm.Offset, rm.Length = c.Masked, c.Start, c.Len()
		if c.Masked == "" {
			rm.Text = p.quote(c.Span)
		}
		return rm
	}
	r := a.Removals[i]
	rm, ok := d.Extra[i]
	if !ok {
		rm = inDocRemoval(a.Text, r)
	}
	rm.Text, rm.Offset, rm.Length = p.quote(r.Span), r.Start, r.Len()
	if rm.Kind == "" {
		rm.Kind = r.Kind.String()
	}
	return rm
}

// group returns removal i's schemas.RemovalGroup (see removalRef): that of
// its record entry, built without quoting its text.
func (p *Pipeline) group(i int) schemas.RemovalGroup {
	d, a := &p.doc, p.doc.A
	if i >= len(a.Removals) {
		return schemas.GroupOf(d.Cuts[i-len(a.Removals)].Removal)
	}
	if rm, ok := d.Extra[i]; ok {
		return schemas.GroupOf(rm)
	}
	return schemas.GroupOf(inDocRemoval(a.Text, a.Removals[i]))
}

// quote returns the text of a removed span for its removal's record, with
// the personal data the moderation policy redacts masked: moderation read
// only the lines that stayed, and a repeated line or a dropped block may
// hold a card number the record must not carry.
func (p *Pipeline) quote(s dedupe.Span) string {
	if p.mod == nil {
		return p.doc.A.Text[s.Start:s.End]
	}
	return p.mod.Mask(p.doc.A.Text, s)
}

func inDocRemoval(text string, r dedupe.Removal) schemas.Removal {
	if r.RefDoc != "" {
		return schemas.Removal{Reason: string(r.Reason), RefDoc: r.RefDoc, Similarity: round4(r.Similarity)}
	}
	refOff, refLen := r.Ref.Start, r.Ref.Len()
	return schemas.Removal{Reason: string(r.Reason), RefOffset: &refOff, RefLength: &refLen, Similarity: round4(r.Similarity)}
}

func round4(f float64) float64 {
	return float64(int64(f*10000+0.5)) / 10000
}

// render appends the kept lines of a, tidied and with cuts removed, in
// original order joined by '\n', and returns the number of lines written.
// Blank lines stay as they were except where a removal would leave two in a
// row (or one at either end of the text): there one goes.
func render(dst []byte, a *dedupe.Analysis, cuts []Cut) ([]byte, int) {
	lines, lastBlank, removedSince := 0, false, false
	trailing := 0 // bytes of blank lines written since the last non-blank one
	ci := 0
	for i := range a.Lines {
		l := &a.Lines[i]
		if l.Removal >= 0 {
			removedSince = true
			continue
		}
		raw := a.Text[l.Start:l.End]
		for ci < len(cuts) && cuts[ci].End <= l.Start {
			ci++
		}
		if ci < len(cuts) && cuts[ci].Start < l.End {
			raw = cutLine(a.Text, l.Span, cuts[ci:])
		}
		s := dedupe.Tidy(raw)
		blank := dedupe.IsBlank(s)
		if blank && removedSince && (lines == 0 || lastBlank) {
			continue
		}
		n := len(dst)
		if lines > 0 {
			dst = append(dst, '\n')
		}
		dst = append(dst, s...)
		lines++
		if blank {
			trailing += len(dst) - n
		} else {
			trailing, removedSince = 0, false
		}
		lastBlank = blank
	}
	if removedSince && trailing > 0 {
		for ; trailing > 0 && lines > 0; lines-- {
			j := len(dst) - 1
			for j >= 0 && dst[j] != '\n' {
				j--
			}
			if j < 0 {
				j = 0
			}
			trailing -= len(dst) - j
			dst = dst[:j]
		}
	}
	return dst, lines
}

// cutLine returns the line with every cut inside it removed; the text around
// a cut is joined with one space (added where both sides are non-space,
// the second of two dropped), and a cut at the start of a line takes the
// spaces after it.
func cutLine(text string, line dedupe.Span, cuts []Cut) string {
	var b strings.Builder
	pos := line.Start
	for _, c := range cuts {
		if c.Start >= line.End {
			break
		}
		s, e := max(c.Start, pos), min(c.End, line.End)
		if s > pos {
			b.WriteString(text[pos:s])
		}
		if e > pos {
			pos = e
		}
		switch {
		case c.Replace != "":
			b.WriteString(c.Replace)
		case b.Len() == 0 || isSpaceByte(b.String()[b.Len()-1]):
			for pos < line.End && isSpaceByte(text[pos]) {
				pos++ // one space stands where the cut was, none at the start of a line
			}
		case pos < line.End && !isSpaceByte(text[pos]):
			b.WriteByte(' ')
		}
	}
	b.WriteString(text[pos:line.End])
	return b.String()
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' }
