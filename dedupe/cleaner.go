package dedupe

import "slices"

// Cleaner finds the blocks of one document that repeat an earlier block of
// the same document. It keeps buffers between calls, so it is not safe for
// concurrent use: give each goroutine its own. Its decisions depend only on
// the document and the Options, never on earlier calls.
type Cleaner struct {
	opts Options
	norm *Normalizer
	set  []uint64 // shingles of the block being decided

	seenPara fpTable // paragraph (or line) fingerprint -> key, see paraKey
	seenLine fpTable // line fingerprint -> first line index
	lineNear nearIndex
	paraNear nearIndex
	inLine   inLine
}

// NewCleaner returns a Cleaner for opts, or the error Validate reports.
func NewCleaner(opts Options) (*Cleaner, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	norm := NewNormalizer()
	return &Cleaner{
		opts:     opts,
		norm:     norm,
		lineNear: newNearIndex(opts),
		paraNear: newNearIndex(opts),
		inLine:   inLine{norm: norm},
	}, nil
}

// Options returns the options the Cleaner was built with.
func (c *Cleaner) Options() Options { return c.opts }

// Analyze segments and hashes text into a and decides which blocks repeat an
// earlier block of the document: a paragraph equal to (or near) an earlier
// paragraph goes whole; otherwise each line equal to an earlier line, or near
// one when it has at least NearMinWords words, goes. The first occurrence
// always stays. Then, with Options.InLine, text a kept line repeats inside
// itself is cut (Analysis.Cuts; see inline.go).
func (c *Cleaner) Analyze(text string, a *Analysis) {
	a.reset(text)
	c.resetState()
	c.hash(a)

	paraOfFirst := 0 // next paragraph index to visit
	for i := 0; i < len(a.Lines); i++ {
		l := &a.Lines[i]
		if l.Para >= 0 && paraOfFirst < len(a.Paragraphs) && a.Paragraphs[paraOfFirst].First == i {
			p := &a.Paragraphs[paraOfFirst]
			paraOfFirst++
			if c.paragraph(a, p) {
				i = p.Last
				continue
			}
		}
		if l.W1 > l.W0 {
			c.line(a, i)
		}
	}
	if c.opts.InLine {
		for i := range a.Lines {
			if l := &a.Lines[i]; l.Removal < 0 {
				c.inLine.find(a, l)
			}
		}
	}
}

// paragraph decides a multi-line paragraph; it reports whether the whole
// paragraph was removed.
func (c *Cleaner) paragraph(a *Analysis, p *Paragraph) bool {
	if ref, ok := c.seenPara.get(p.FP); ok {
		a.Remove(p.First, p.Last, Removal{Span: p.Span, Kind: KindParagraph, Reason: ReasonExactRepeat,
			Ref: c.paraSpan(a, int(ref)), Similarity: 1})
		c.seeLines(a, p)
		return true
	}
	words := a.Words[p.W0:p.W1]
	if len(words) >= c.opts.NearMinWords && len(words) <= c.opts.MaxNearWords {
		c.shingle(words)
		if ref, sim, ok := c.paraNear.match(c.set); ok {
			a.Remove(p.First, p.Last, Removal{Span: p.Span, Kind: KindParagraph, Reason: ReasonNearRepeat,
				Ref: c.paraSpan(a, ref), Similarity: sim})
			c.seeLines(a, p)
			return true
		}
		c.paraNear.add(c.paraKey(a, p), c.set, true)
	}
	c.seenPara.put(p.FP, int32(c.paraKey(a, p)))
	return false
}

// seeLines records the lines of a paragraph removed whole, wrapped unlike
// the one it repeats, as seen: a later line equal to one of them repeats it
// as surely as if the paragraph had stayed ("CLICK HERE" after a removed
// "See this product's web page\nCLICK HERE").
func (c *Cleaner) seeLines(a *Analysis, p *Paragraph) {
	for j := p.First; j <= p.Last; j++ {
		if l := &a.Lines[j]; l.W1 > l.W0 {
			if _, ok := c.seenLine.get(l.FP); !ok {
				c.seenLine.put(l.FP, int32(j))
			}
		}
	}
}

// Paragraph keys in seenPara and paraNear: a paragraph index p is stored as
// -(p+1), a single line's index as itself, so a re-wrapped paragraph matches a
// single-line one.
func (c *Cleaner) paraKey(a *Analysis, p *Paragraph) int {
	return -(a.Lines[p.First].Para + 1)
}

func (c *Cleaner) paraSpan(a *Analysis, key int) Span {
	if key < 0 {
		return a.Paragraphs[-key-1].Span
	}
	return a.Lines[key].Span
}

func (c *Cleaner) line(a *Analysis, i int) {
	l := &a.Lines[i]
	if ref, ok := c.seenLine.get(l.FP); ok {
		a.Remove(i, i, Removal{Span: l.Span, Kind: l.Kind, Reason: ReasonExactRepeat,
			Ref: a.Lines[ref].Span, Similarity: 1})
		return
	}
	if l.Para < 0 { // a block of its own: it may repeat a paragraph wrapped over lines
		ref, ok := c.seenPara.get(l.FP)
		if ok && l.NWords() >= minRewrappedWords {
			a.Remove(i, i, Removal{Span: l.Span, Kind: l.Kind, Reason: ReasonExactRepeat,
				Ref: c.paraSpan(a, int(ref)), Similarity: 1})
			return
		}
		if !ok { // the earliest block keeps the key
			c.seenPara.put(l.FP, int32(i))
		}
	}
	words := a.Words[l.W0:l.W1]
	if len(words) < c.opts.NearMinWords || len(words) > c.opts.MaxNearWords {
		c.seenLine.put(l.FP, int32(i))
		return
	}
	c.shingle(words)
	if ref, sim, ok := c.lineNear.match(c.set); ok {
		a.Remove(i, i, Removal{Span: l.Span, Kind: l.Kind, Reason: ReasonNearRepeat,
			Ref: a.Lines[ref].Span, Similarity: sim})
		return
	}
	c.seenLine.put(l.FP, int32(i))
	c.lineNear.add(i, c.set, true)
	if l.Para < 0 {
		c.paraNear.add(i, c.set, false)
	}
}

// minRewrappedWords is the fewest words a line needs to be taken for a
// repeat of an earlier paragraph that held its words over several lines
// ("To Collect Your\n$30 Cash Click Here!"), as a block of text repeated is
// counted from six words (a mail's repeated paragraph in EVALUATION.md's
// gold, a block across documents here). A shorter line is matched against
// lines only: "Download Now" after a button's "Download\nNow" is no
// repeated line, and stays.
const minRewrappedWords = 6

// shingle fills c.set with the shingles of words.
func (c *Cleaner) shingle(words []uint64) {
	c.set = Shingles(words, c.opts.ShingleSize, c.set[:0])
}

// hash segments the text and fills lines, paragraphs and word hashes.
func (c *Cleaner) hash(a *Analysis) {
	a.blocks = Segment(a.Text, a.blocks)
	lines := len(a.blocks) // a Line a line block: the blocks before the paragraphs
	for lines > 0 && a.blocks[lines-1].Kind == KindParagraph {
		lines--
	}
	a.Lines = slices.Grow(a.Lines, lines)
	a.Paragraphs = slices.Grow(a.Paragraphs, len(a.blocks)-lines)
	for _, b := range a.blocks {
		if b.Kind == KindParagraph {
			first, last := &a.Lines[b.First], &a.Lines[b.Last]
			idx := len(a.Paragraphs)
			a.Paragraphs = append(a.Paragraphs, Paragraph{Span: b.Span, First: b.First, Last: b.Last, W0: first.W0, W1: last.W1})
			p := &a.Paragraphs[idx]
			p.FP = Combine(a.Words[p.W0:p.W1])
			for i := b.First; i <= b.Last; i++ {
				a.Lines[i].Para = idx
			}
			continue
		}
		w0 := len(a.Words)
		a.Words = c.norm.HashWords(a.Words, a.Text[b.Start:b.End])
		a.Lines = append(a.Lines, Line{Span: b.Span, Kind: b.Kind, Para: -1, W0: w0, W1: len(a.Words),
			FP: Combine(a.Words[w0:]), Removal: -1, Digits: c.norm.Digits, At: c.norm.At, NoGlue: c.norm.NoGlue})
	}
}

// retainWords bounds the per-document buffers a Cleaner keeps between
// documents (in words or shingles); one huge document must not pin its
// buffers for the life of the process.
const retainWords = 1 << 14

func (c *Cleaner) resetState() {
	if cap(c.set) > retainWords {
		c.set = nil
	}
	if cap(c.inLine.words) > retainWords || cap(c.inLine.grams) > retainWords {
		c.inLine = inLine{norm: c.norm}
	}
	c.seenPara.reset()
	c.seenLine.reset()
	c.lineNear.reset()
	c.paraNear.reset()
}
