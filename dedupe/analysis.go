package dedupe

// Reason says why a block was removed.
type Reason string

// Reasons for in-document removals.
const (
	// ReasonExactRepeat: the block equals an earlier block of the same
	// document after normalisation.
	ReasonExactRepeat Reason = "exact_repeat"
	// ReasonNearRepeat: the block's shingle set is at least NearThreshold
	// Jaccard-similar to an earlier block's.
	ReasonNearRepeat Reason = "near_repeat"
	// ReasonCrossRepeat: the block repeats a block of an earlier document
	// (RefDoc), or a quoted passage is contained in one.
	ReasonCrossRepeat Reason = "cross_repeat"
)

// Removal is one removed block with its evidence.
type Removal struct {
	Span
	Kind   Kind
	Reason Reason
	// Ref is the span of the earlier block this one repeats.
	Ref Span
	// Similarity is 1 for an exact repeat, else the measured Jaccard (or,
	// for a quoted passage, its containment in RefDoc).
	Similarity float64
	// RefDoc names the earlier document of a cross-document repeat; Ref is
	// then zero.
	RefDoc string
}

// Line is what the analysis knows about one line.
type Line struct {
	Span
	Kind Kind
	// At says the line holds an '@' (with Digits below, gathered while
	// normalising, for rules that look for numbers and addresses). Beside
	// Kind, so the bytes share one word of padding.
	At bool
	// NoGlue says the line is plain ASCII with no word joined to the next
	// without a space ("freeWhat"); false when not known. See
	// Normalizer.NoGlue.
	NoGlue bool
	// Para is the index of the paragraph holding the line, or -1.
	Para int
	// W0, W1 delimit the line's word hashes in Analysis.Words.
	W0, W1 int
	// FP is the exact fingerprint of the line's normalised text (0 when it
	// has no words).
	FP uint64
	// Digits counts the line's ASCII digits.
	Digits int
	// Removal is the index into Analysis.Removals of the removal covering the
	// line, or -1 while the line is kept.
	Removal int
}

// NWords returns the number of words in the line's fingerprint form.
func (l *Line) NWords() int { return l.W1 - l.W0 }

// Paragraph is a run of two or more non-blank lines.
type Paragraph struct {
	Span
	First, Last int
	W0, W1      int
	FP          uint64
}

// NWords returns the number of words in the paragraph's fingerprint form.
func (p *Paragraph) NWords() int { return p.W1 - p.W0 }

// Analysis is the segmentation, hashes and decisions for one document. An
// Analysis can be reused: Cleaner.Analyze resets it.
type Analysis struct {
	Text       string
	Lines      []Line
	Paragraphs []Paragraph
	// Words holds the xxhash of every word of the document's fingerprint
	// form, in order; lines and paragraphs index into it.
	Words    []uint64
	Removals []Removal
	// Cuts are removals inside lines that stay (text a line repeats inside
	// itself), in order of offset; a stage that removes such a line later
	// leaves its cuts to be ignored.
	Cuts []Removal

	blocks []Block
}

// Kept reports whether line i is kept.
func (a *Analysis) Kept(i int) bool { return a.Lines[i].Removal < 0 }

// LineWords returns the word hashes of line i.
func (a *Analysis) LineWords(i int) []uint64 { l := &a.Lines[i]; return a.Words[l.W0:l.W1] }

// Remove records a removal covering lines first..last (inclusive) that are
// still kept, and returns its index. Lines already removed keep their earlier
// removal.
func (a *Analysis) Remove(first, last int, r Removal) int {
	idx := len(a.Removals)
	a.Removals = append(a.Removals, r)
	for i := first; i <= last; i++ {
		if a.Lines[i].Removal < 0 {
			a.Lines[i].Removal = idx
		}
	}
	return idx
}

func (a *Analysis) reset(text string) {
	if cap(a.Words) > retainWords || cap(a.Lines) > retainWords {
		*a = Analysis{}
	}
	a.Text = text
	a.Lines = a.Lines[:0]
	a.Paragraphs = a.Paragraphs[:0]
	a.Words = a.Words[:0]
	a.Removals = a.Removals[:0]
	a.Cuts = a.Cuts[:0]
	a.blocks = a.blocks[:0]
}
