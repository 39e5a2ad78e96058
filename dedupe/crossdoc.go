package dedupe

import (
	"errors"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CrossOptions tune the cross-document decisions.
type CrossOptions struct {
	// MinBlockWords: blocks (lines, paragraphs) shorter than this are not
	// remembered or removed across documents (default 6).
	MinBlockWords int `yaml:"min_block_words" json:"min_block_words"`
	// RecurringDocs: a block already held by this many distinct earlier
	// documents is boilerplate (a widget, a trailer) and does not count
	// towards document similarity (default 3).
	RecurringDocs int `yaml:"recurring_docs" json:"recurring_docs"`
	// BoilerplateDocs: a block held by more distinct documents than this
	// (a list trailer, a signature, a site's footer) is nobody's content:
	// a document made of such blocks is not a copy of the first to hold
	// them (default 10). Copies of a story rarely get there, since a
	// document judged a duplicate adds nothing to the memory.
	BoilerplateDocs int `yaml:"boilerplate_docs" json:"boilerplate_docs"`
	// DupJaccard and DupContainment: a document whose own text reaches
	// either against an earlier document's is its duplicate. Containment is
	// of this document's text in the earlier one's: a later document that
	// holds an earlier one and adds more than it repeats (a story expanded,
	// a reply pasting its parent) has more to say and is no duplicate; its
	// repeated lines go as cross-document repeats (default 0.5 and 0.8).
	DupJaccard     float64 `yaml:"dup_jaccard" json:"dup_jaccard"`
	DupContainment float64 `yaml:"dup_containment" json:"dup_containment"`
	// MinDupShingles: documents with fewer own shingles are not judged as
	// duplicates (a headline alone is not a story) (default 20).
	MinDupShingles int `yaml:"min_dup_shingles" json:"min_dup_shingles"`
	// QuoteContainment: a quoted passage whose shingles are at least this
	// contained in one earlier document is removed (default 0.5).
	QuoteContainment float64 `yaml:"quote_containment" json:"quote_containment"`
	// Memory bounds the in-memory state.
	Memory MemoryOptions `yaml:"memory" json:"memory"`
}

// DefaultCrossOptions returns the documented defaults.
func DefaultCrossOptions() CrossOptions {
	return CrossOptions{MinBlockWords: 6, RecurringDocs: 3, BoilerplateDocs: 10, DupJaccard: 0.5, DupContainment: 0.8,
		MinDupShingles: 20, QuoteContainment: 0.5, Memory: DefaultMemoryOptions()}
}

// Validate reports the first bad field (an *OptionError).
func (o CrossOptions) Validate() error {
	unit := func(f string, v float64) error {
		if v > 0 && v <= 1 {
			return nil
		}
		return badOption(f, "%v: want (0, 1]", v)
	}
	switch {
	case o.MinBlockWords < 1:
		return badOption("min_block_words", "%d: want >= 1", o.MinBlockWords)
	case o.RecurringDocs < 1:
		return badOption("recurring_docs", "%d: want >= 1", o.RecurringDocs)
	case o.BoilerplateDocs < o.RecurringDocs:
		return badOption("boilerplate_docs", "%d: want >= recurring_docs (%d)", o.BoilerplateDocs, o.RecurringDocs)
	case o.MinDupShingles < 1:
		return badOption("min_dup_shingles", "%d: want >= 1", o.MinDupShingles)
	case o.Memory.MaxDocs < 1:
		return badOption("memory.max_docs", "%d: want >= 1", o.Memory.MaxDocs)
	case o.Memory.MaxBlocks < 1:
		return badOption("memory.max_blocks", "%d: want >= 1", o.Memory.MaxBlocks)
	case o.Memory.MaxShingles < 1:
		return badOption("memory.max_shingles", "%d: want >= 1", o.Memory.MaxShingles)
	}
	for _, err := range []error{unit("dup_jaccard", o.DupJaccard), unit("dup_containment", o.DupContainment),
		unit("quote_containment", o.QuoteContainment)} {
		if err != nil {
			return err
		}
	}
	return nil
}

// Cross-document block keys. A line is keyed by its fingerprint; a
// paragraph by its lines' fingerprints in order, so across documents a
// paragraph repeats only with its line breaks (a mailing-list trailer) and a
// re-wrapped one is matched, if at all, as quoted text. (Inside a document
// paragraphs match however they are wrapped.)
const lineKeySalt = 0x6a09e667f3bcc909

func lineKey(fp uint64) uint64 { return fp ^ lineKeySalt }

func (x *Cross) paraKey(a *Analysis, p *Paragraph) uint64 {
	x.keys = x.keys[:0]
	for i := p.First; i <= p.Last; i++ {
		x.keys = append(x.keys, a.Lines[i].FP)
	}
	return Combine(x.keys)
}

// keyParagraphs fills x.paraKeys with every paragraph's key, once per
// document: the lookups, the repeats and the commit all ask for them.
func (x *Cross) keyParagraphs(a *Analysis) {
	x.paraKeys = x.paraKeys[:0]
	for pi := range a.Paragraphs {
		x.paraKeys = append(x.paraKeys, x.paraKey(a, &a.Paragraphs[pi]))
	}
}

// shingleSampled keeps a consistent half of all shingles in the memory's
// shingle index: enough to estimate a quoted passage's containment, at
// half the memory.
func shingleSampled(h uint64) bool { return h&1 == 0 }

// The rules by which Decide finds a duplicate.
const (
	// RuleExact: the same kept, unquoted words as an earlier document
	// (similarity 1).
	RuleExact = "exact"
	// RuleNear: the sketches' Jaccard, or the containment of the
	// document's text in the earlier one's (the similarity is the larger of
	// the two).
	RuleNear = "near"
	// RuleBlocks: the blocks one earlier document held first cover the
	// document (see covered; the similarity is the share covered).
	RuleBlocks = "blocks"
)

// CrossDecision is the outcome of Decide for one document: whether it
// duplicates an earlier one, the removals it added to the analysis, and
// what to commit once its output is durable.
type CrossDecision struct {
	DuplicateOf string
	Similarity  float64
	// Rule says which rule found the duplicate: RuleExact, RuleNear or
	// RuleBlocks.
	Rule   string
	Commit Commit
	// Err reports a shared memory that could not be reached; nothing was
	// decided.
	Err error
}

// Cross decides, for one document at a time, against a Memory of earlier
// ones. Not safe for concurrent use (buffers); several Cross may share one
// Memory.
type Cross struct {
	opts   CrossOptions
	k      int
	mem    Memory
	quoted []bool
	own    []uint64
	all    []uint64
	sh     []uint64
	qwords []uint64
	norm   *Normalizer
	counts map[DocRef]int
	keys   []uint64
	// paraKeys[i] is paragraph i's key (see keyParagraphs).
	paraKeys []uint64
	// lines[i] is line i's block as Decide first looked it up, for
	// repeats to reuse.
	lines []blockLookup
	// paras[i] is paragraph i's block as covered looked it up, for
	// repeats to reuse.
	paras  []blockLookup
	lookup []uint64
	// found holds the lines repeats finds repeated, in order; widths[p]
	// is paragraph p's width in runes once lonePhrase needed it, else -1.
	found  []lineRepeat
	widths []int
	// closing is the first line of the document's closing zone (see
	// ClosingStart).
	closing int
	// self is the document's own earlier commit (a redelivery), 0 if none.
	self DocRef
}

// blockLookup is a Memory.Block answer.
type blockLookup struct {
	info BlockInfo
	ok   bool
}

// ErrNoMemory is returned by NewCross without a Memory.
var ErrNoMemory = errors.New("dedupe: cross-document dedup needs a Memory")

// NewCross returns a Cross over mem; k is the shingle size.
func NewCross(o CrossOptions, k int, mem Memory) (*Cross, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if mem == nil {
		return nil, ErrNoMemory
	}
	return &Cross{opts: o, k: k, mem: mem, norm: NewNormalizer(), counts: map[DocRef]int{}}, nil
}

// Decide judges document id (analysed in a) against the memory. A
// duplicate of an earlier document (an exact copy of one that committed,
// by its claim; else by its sketch, else by the blocks it repeats: see
// covered; else an exact copy of one that committed nothing) is decided
// first: d.DuplicateOf is set and nothing else changes. Otherwise blocks
// that repeat an earlier document's, and quoted passages contained in one,
// are removed from a as cross_repeat. The decision's Commit is for the
// caller to pass to Memory.Commit once the output is durable (never for a
// duplicate).
func (x *Cross) Decide(id string, a *Analysis, d *CrossDecision) {
	*d = CrossDecision{Commit: Commit{ID: id, Blocks: d.Commit.Blocks[:0], Shingles: d.Commit.Shingles[:0]}}
	x.quoted = QuotedLines(a, x.quoted)
	x.own, x.all = x.own[:0], x.all[:0]
	x.lines = slices.Grow(x.lines[:0], len(a.Lines))[:len(a.Lines)]
	clear(x.lines)
	x.keyParagraphs(a)
	pf, _ := x.mem.(Prefetcher)
	if pf != nil {
		x.lookup = x.lookup[:0]
		for i := range a.Lines {
			if x.blockLine(a, i) {
				x.lookup = append(x.lookup, lineKey(a.Lines[i].FP))
			}
		}
		for pi := range a.Paragraphs {
			if x.blockPara(a, pi) {
				x.lookup = append(x.lookup, x.paraKeys[pi])
			}
		}
		pf.Prefetch(x.lookup, nil)
	}
	x.closing = ClosingStart(a)
	x.self, _ = x.mem.CommitOf(id)
	for i := range a.Lines {
		l := &a.Lines[i]
		if !a.Kept(i) || x.quoted[i] || l.W1 == l.W0 {
			continue
		}
		recurring := x.recurring(id, lineKey(l.FP), a, i)
		if i >= x.closing {
			continue // a signature or a list's trailer is nobody's content
		}
		words := a.Words[l.W0:l.W1]
		x.all = append(x.all, words...)
		if !recurring {
			x.own = append(x.own, words...)
		}
	}
	x.sh = Shingles(x.own, x.k, x.sh[:0])
	owner := "" // of the content, when another document claimed it first
	if len(x.all) >= x.opts.MinBlockWords {
		// An exact copy is settled by a claim on its content (all its kept,
		// unquoted words: not the own text, which depends on what the
		// memory holds), atomically in a shared memory: two copies in
		// flight on two workers cannot both be the original.
		o, err := x.mem.Claim(Combine(x.all), id)
		if err != nil {
			d.Err = err
			return
		}
		if o != id {
			if _, ok := x.mem.CommitOf(o); ok {
				d.DuplicateOf, d.Similarity, d.Rule = o, 1, RuleExact
				return
			}
			// The owner committed nothing: a copy still in flight, or
			// one found a duplicate itself (or rejected). An original
			// the rules below find is named instead of such a copy;
			// failing that, the owner is. (An owner the memory forgot
			// by age is no owner: Claim gave the content to id.)
			owner = o
		}
	}
	if len(x.sh) >= x.opts.MinDupShingles {
		sk := NewSketch(x.sh, len(x.sh))
		d.Commit.Sketch, d.Commit.Bands, d.Commit.Sketched = sk, sk.BandKeys(), true
		if pf != nil {
			pf.Prefetch(nil, d.Commit.Bands[:])
		}
		if dupID, sim, ok := x.duplicate(id, &sk, &d.Commit.Bands); ok {
			d.DuplicateOf, d.Similarity, d.Rule = dupID, sim, RuleNear
			return
		}
	}
	if dupID, sim, ok := x.covered(id, a); ok {
		d.DuplicateOf, d.Similarity, d.Rule = dupID, sim, RuleBlocks
		return
	}
	if owner != "" {
		d.DuplicateOf, d.Similarity, d.Rule = owner, 1, RuleExact
		return
	}
	x.repeats(id, a)
	x.truncated(id, a)
	x.quotes(id, a)
	x.commitSet(a, &d.Commit)
}

// covered finds a copy that the sketches miss: the blocks (paragraphs,
// else lines) one earlier document held first cover at least
// DupContainment of its kept, unquoted words, and the words no earlier
// document holds would not make MinDupShingles shingles (nothing of its own
// is left). Sketches miss such a copy when its blocks all recur (a story on
// more than RecurringDocs pages before it leaves no own text to sketch) or
// when it is a small part of a larger document (LSH finds candidates by
// Jaccard, not containment). Words in blocks held by more than
// BoilerplateDocs documents count for neither side, so a page of its own
// text beside boilerplate, or a one-line message above a list trailer,
// keeps its text. The similarity is the share covered.
//
// It looks up the paragraph blocks for repeats too (x.paras).
func (x *Cross) covered(id string, a *Analysis) (string, float64, bool) {
	x.paras = slices.Grow(x.paras[:0], len(a.Paragraphs))[:len(a.Paragraphs)]
	clear(x.paras)
	for pi := range a.Paragraphs {
		if x.blockPara(a, pi) {
			b, ok := x.mem.Block(x.paraKeys[pi])
			x.paras[pi] = blockLookup{b, ok}
		}
	}
	if len(x.all)-x.k+1 < x.opts.MinDupShingles {
		return "", 0, false
	}
	clear(x.counts)
	var best DocRef
	bestN, held, total := 0, 0, len(x.all)
	count := func(b blockLookup, i int) {
		if !b.ok || !a.Kept(i) || x.quoted[i] || i >= x.closing {
			return
		}
		n := a.Lines[i].NWords()
		if l := x.lines[i]; max(x.others(b.info), x.others(l.info)) > x.opts.BoilerplateDocs {
			total -= n // a trailer's line is boilerplate in any paragraph
			return
		}
		held += n
		c := x.counts[b.info.First] + n
		x.counts[b.info.First] = c
		if c > bestN || (c == bestN && b.info.First < best) {
			best, bestN = b.info.First, c
		}
	}
	next := 0 // the first line not yet counted
	for pi := range a.Paragraphs {
		p := &a.Paragraphs[pi]
		if !x.paras[pi].ok {
			continue
		}
		for ; next < p.First; next++ {
			count(x.lines[next], next) // looked up by recurring
		}
		for ; next <= p.Last; next++ {
			count(x.paras[pi], next)
		}
	}
	for ; next < len(a.Lines); next++ {
		count(x.lines[next], next)
	}
	share := float64(bestN) / float64(total)
	if bestN == 0 || total-x.k+1 < x.opts.MinDupShingles || share < x.opts.DupContainment ||
		total-held-x.k+1 >= x.opts.MinDupShingles {
		return "", 0, false
	}
	first, _, ok := x.mem.Doc(best)
	if !ok || first == id {
		return "", 0, false
	}
	return first, share, true
}

// blockLine reports whether line i is matched against the memory as a
// block: long enough, kept and not quoted.
func (x *Cross) blockLine(a *Analysis, i int) bool {
	return a.Lines[i].NWords() >= x.opts.MinBlockWords && a.Kept(i) && !x.quoted[i]
}

// blockPara is blockLine for paragraph pi.
func (x *Cross) blockPara(a *Analysis, pi int) bool {
	p := &a.Paragraphs[pi]
	return p.NWords() >= x.opts.MinBlockWords && a.Kept(p.First) && !x.quoted[p.First]
}

// recurring reports whether line i (or its paragraph) is a block that
// distinct earlier documents other than id already hold often enough to be
// boilerplate.
func (x *Cross) recurring(id string, fp uint64, a *Analysis, i int) bool {
	if a.Lines[i].NWords() < x.opts.MinBlockWords {
		return false
	}
	b, ok := x.mem.Block(fp)
	x.lines[i] = blockLookup{b, ok}
	if !ok || x.others(b) < x.opts.RecurringDocs {
		return false
	}
	first, _, _ := x.mem.Doc(b.First)
	return first != id
}

// others is how many documents other than the one being decided hold
// block b. A redelivered document committed every block Decide looks up
// (kept, unquoted, long enough: see commitSet), so its own commit is among
// b's holders when b's first holder is not later than it; without this a
// redelivery would find its own lines one holder more recurring, and its
// sketch, made of fewer words, could match what the first delivery's did
// not. (A document sent again under its id with other text is counted one
// holder short on the blocks its first version lacked.)
func (x *Cross) others(b BlockInfo) int {
	if x.self != 0 && b.Docs > 0 && b.First <= x.self {
		return b.Docs - 1
	}
	return b.Docs
}

// duplicate finds the most similar earlier document among the LSH
// candidates and verifies it on the sketches: Jaccard, or the containment
// of this document in the earlier one (never the other way: see
// CrossOptions.DupContainment).
func (x *Cross) duplicate(id string, sk *Sketch, bands *[Bands]uint64) (string, float64, bool) {
	best, bestSim := "", 0.0
	seen := [Bands]DocRef{}
	for b, key := range bands {
		ref, ok := x.mem.Band(key)
		if !ok {
			continue
		}
		dup := false
		for _, r := range seen[:b] {
			dup = dup || r == ref
		}
		seen[b] = ref
		if dup {
			continue
		}
		otherID, other, ok := x.mem.Doc(ref)
		if !ok || other == nil || otherID == id {
			continue
		}
		j := sk.Jaccard(other)
		c := sk.Containment(other)
		sim := max(j, c)
		if (j >= x.opts.DupJaccard || c >= x.opts.DupContainment) && sim > bestSim {
			best, bestSim = otherID, sim
		}
	}
	return best, bestSim, best != ""
}

// repeats removes paragraphs and lines that an earlier document held.
// '>'-quoted text is left to quotes, which matches passages whole; text
// under a quote header loses only exact repeats (see headerQuoted).
func (x *Cross) repeats(id string, a *Analysis) {
	for pi := range a.Paragraphs {
		p := &a.Paragraphs[pi]
		look := x.paras[pi] // looked up by covered
		switch {
		case x.blockPara(a, pi):
		case p.NWords() >= x.opts.MinBlockWords && a.Kept(p.First) && x.headerQuoted(a, p.First):
			b, ok := x.mem.Block(x.paraKeys[pi])
			look = blockLookup{b, ok}
		default:
			continue
		}
		if ref, ok := x.earlier(id, look); ok {
			a.Remove(p.First, p.Last, Removal{Span: p.Span, Kind: KindParagraph, Reason: ReasonCrossRepeat, RefDoc: ref, Similarity: 1})
		}
	}
	x.found = x.found[:0]
	for i := range a.Lines {
		l := &a.Lines[i]
		look := x.lines[i] // looked up by recurring: the line was kept then too
		switch {
		case x.blockLine(a, i):
		case l.NWords() >= x.opts.MinBlockWords && a.Kept(i) && x.headerQuoted(a, i):
			b, ok := x.mem.Block(lineKey(l.FP))
			look = blockLookup{b, ok}
		default:
			continue
		}
		if ref, ok := x.earlier(id, look); ok {
			x.found = append(x.found, lineRepeat{i, ref})
		}
	}
	if len(x.found) == 0 {
		return
	}
	x.widths = slices.Grow(x.widths[:0], len(a.Paragraphs))[:len(a.Paragraphs)]
	for i := range x.widths {
		x.widths[i] = -1
	}
	for k, f := range x.found {
		if f.line < x.closing && x.lonePhrase(a, f.line, k) {
			continue
		}
		l := &a.Lines[f.line]
		a.Remove(f.line, f.line, Removal{Span: l.Span, Kind: l.Kind, Reason: ReasonCrossRepeat, RefDoc: f.ref, Similarity: 1})
	}
}

// lonePhrase reports a repeated line that is only a phrase of wrapped
// prose: one line of a paragraph whose sentence runs on across the line
// break (it wraps into the next line, or the line before wraps into it),
// and whose neighbours in the paragraph are no repeats. A newswire's "In a
// filing with the Securities and Exchange Commission," is a common phrase
// that fills a line in many stories; cut alone it would leave their
// sentences broken. A block copied from an earlier document (a footer, a
// pasted paragraph) repeats line after line, and one in the closing zone
// (a trailer glued to the text) is removed even alone: the caller does not
// ask.
func (x *Cross) lonePhrase(a *Analysis, i, k int) bool {
	l := &a.Lines[i]
	if l.Para < 0 {
		return false // a block of its own
	}
	p := &a.Paragraphs[l.Para]
	if (k > 0 && x.found[k-1].line == i-1 && i-1 >= p.First) || (k+1 < len(x.found) && x.found[k+1].line == i+1 && i+1 <= p.Last) {
		return false
	}
	text := func(j int) string { return trimRightSpace(a.Text[a.Lines[j].Start:a.Lines[j].End]) }
	width := x.widths[l.Para]
	if width < 0 { // once a paragraph: a long one may hold many repeats
		width = 0
		for j := p.First; j <= p.Last; j++ {
			width = max(width, utf8.RuneCountInString(text(j)))
		}
		x.widths[l.Para] = width
	}
	return wraps(text, p, i, width) || wraps(text, p, i-1, width)
}

// wraps reports that line j of paragraph p runs on into the next line: it
// fills at least 3/5 of the paragraph's width and stops at a comma, or at
// a word the next line continues in lower case or with a figure (not a
// link on a line of its own).
func wraps(text func(int) string, p *Paragraph, j, width int) bool {
	if j < p.First || j >= p.Last {
		return false
	}
	s, next := text(j), text(j+1)
	if 5*utf8.RuneCountInString(s) < 3*width {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(s)
	if last == ',' {
		return true
	}
	first, _ := utf8.DecodeRuneInString(next)
	link := strings.Contains(strings.SplitN(next, " ", 2)[0], "://") || strings.HasPrefix(next, "www.")
	return (unicode.IsLetter(last) || unicode.IsDigit(last)) && (unicode.IsLower(first) || unicode.IsDigit(first)) && !link
}

// lineRepeat is a line that repeats an earlier document's block (ref).
type lineRepeat struct {
	line int
	ref  string
}

// headerQuoted reports a line quoted by a quote header or an attribution,
// not by a '>' mark. It is no part of the document's own text and no block
// of its own, but an exact repeat of an earlier document's block is still
// removed: a list's trailer inside a quoted original, the parent's lines
// under an "-----Original Message-----" header.
func (x *Cross) headerQuoted(a *Analysis, i int) bool {
	return x.quoted[i] && !isQuoteMarker(indentless(a, i))
}

// markQuoted reports a quoted line that opens with a quote mark ('>', or
// a short attribution prefix such as "SL>").
func (x *Cross) markQuoted(a *Analysis, i int) bool {
	return x.quoted[i] && isQuoteMarker(indentless(a, i))
}

// truncationMarks end a teaser cut short of the block it repeats.
var truncationMarks = []string{"…", "...", "read more", "continue reading", "more »", "[...]", "(more)"}

// truncatedAt returns where a line's text ends before a truncation mark,
// or -1 when it has none.
func truncatedAt(line string) int {
	t := trimRightSpace(line)
	if t == "" || !strings.ContainsRune(".…eEgG»])", rune(t[len(t)-1])) && t[len(t)-1] != 0xa6 && t[len(t)-1] != 0xbb {
		return -1 // no mark ends like this (0xa6, 0xbb: last bytes of "…", "»")
	}
	for _, m := range truncationMarks {
		if len(t) >= len(m) && strings.EqualFold(t[len(t)-len(m):], m) {
			return len(t) - len(m)
		}
	}
	return -1
}

// truncated removes teasers cut short of an earlier document's block ("…",
// "Read more"): their shingles, but for the last word (often cut mid-way),
// must be contained in earlier documents, like a quoted passage.
func (x *Cross) truncated(id string, a *Analysis) {
	for i := range a.Lines {
		l := &a.Lines[i]
		if !a.Kept(i) || x.quoted[i] || l.NWords() < x.opts.MinBlockWords+1 {
			continue
		}
		s := a.Text[l.Start:l.End]
		cut := truncatedAt(s)
		if cut < 0 {
			continue
		}
		x.qwords = x.norm.HashWords(x.qwords[:0], s[:cut])
		if len(x.qwords) < x.opts.MinBlockWords+1 {
			continue
		}
		words := x.qwords[:len(x.qwords)-1] // the last word may be cut
		x.sh = Shingles(words, x.k, x.sh[:0])
		if ref, c, ok := x.contained(id, x.sh, 0.8); ok {
			a.Remove(i, i, Removal{Span: l.Span, Kind: l.Kind, Reason: ReasonCrossRepeat, RefDoc: ref, Similarity: round4(c)})
		}
	}
}

// earlier names the first document holding a looked-up block, unless
// that is document id itself.
func (x *Cross) earlier(id string, b blockLookup) (string, bool) {
	if !b.ok {
		return "", false
	}
	first, _, ok := x.mem.Doc(b.info.First)
	return first, ok && first != id
}

// quotes removes quoted passages (runs of quoted lines, blank lines
// inside allowed) contained in an earlier document, matched as a whole on
// sampled shingles since quoting re-wraps lines.
//
// Only '>'-marked runs are removed: text under an "Original Message"
// header or an attribution line is left out of similarity but kept as a
// passage, since it is often re-wrapped or edited and so not reliably the
// parent's (repeats still takes its exact repeats).
func (x *Cross) quotes(id string, a *Analysis) {
	marked := func(i int) bool { return x.markQuoted(a, i) }
	for i := 0; i < len(a.Lines); {
		if !marked(i) {
			i++
			continue
		}
		j := i
		for j+1 < len(a.Lines) && (marked(j+1) || IsBlank(a.Text[a.Lines[j+1].Start:a.Lines[j+1].End])) {
			j++
		}
		for j > i && !marked(j) {
			j--
		}
		x.quotePassage(id, a, i, j)
		i = j + 1
	}
}

// contained measures how much of a shingle list (its sampled half) earlier
// documents other than id hold together, a quote of a quote spanning a
// parent and a grandparent, and names the document holding most of it.
func (x *Cross) contained(id string, shingles []uint64, threshold float64) (string, float64, bool) {
	clear(x.counts)
	n, found := 0, 0
	for _, h := range shingles {
		if !shingleSampled(h) {
			continue
		}
		n++
		if ref, ok := x.mem.Shingle(h); ok {
			if rid, _, _ := x.mem.Doc(ref); rid != id {
				x.counts[ref]++
				found++
			}
		}
	}
	if n < 2 || float64(found)/float64(n) < threshold {
		return "", 0, false
	}
	var best DocRef
	bestN := 0
	for ref, k := range x.counts {
		if k > bestN || (k == bestN && ref < best) {
			best, bestN = ref, k
		}
	}
	ref, _, ok := x.mem.Doc(best)
	return ref, float64(found) / float64(n), ok
}

func (x *Cross) quotePassage(id string, a *Analysis, first, last int) {
	x.qwords = x.qwords[:0]
	for i := first; i <= last; i++ {
		s := a.Text[a.Lines[i].Start:a.Lines[i].End]
		x.qwords = x.norm.HashWords(x.qwords, s[quotePrefixLen(s):])
	}
	x.sh = Shingles(x.qwords, x.k, x.sh[:0])
	ref, c, ok := x.contained(id, x.sh, x.opts.QuoteContainment)
	if !ok {
		return
	}
	a.Remove(first, last, Removal{Span: Span{Start: a.Lines[first].Start, End: a.Lines[last].End}, Kind: KindParagraph,
		Reason: ReasonCrossRepeat, RefDoc: ref, Similarity: round4(c)})
}

// commitSet fills what the document adds to the memory: the fingerprints of
// its kept, unquoted blocks and the sampled shingles of its unquoted text.
func (x *Cross) commitSet(a *Analysis, c *Commit) {
	for pi := range a.Paragraphs {
		p := &a.Paragraphs[pi]
		if p.NWords() >= x.opts.MinBlockWords && !x.quoted[p.First] && (a.Kept(p.First) ||
			a.Removals[a.Lines[p.First].Removal].Reason == ReasonCrossRepeat) {
			c.Blocks = append(c.Blocks, x.paraKeys[pi])
		}
	}
	for i := range a.Lines {
		l := &a.Lines[i]
		// Lines removed as cross-document repeats count too: how many
		// documents hold a block is what tells boilerplate from content.
		if !x.quoted[i] && l.NWords() >= x.opts.MinBlockWords &&
			(a.Kept(i) || a.Removals[l.Removal].Reason == ReasonCrossRepeat) {
			c.Blocks = append(c.Blocks, lineKey(l.FP))
		}
	}
	slices.Sort(c.Blocks) // each document counts once per block
	c.Blocks = slices.Compact(c.Blocks)
	// The shingle index holds quoted text too (markers stripped): a reply
	// to a reply quotes its parent's quote.
	x.qwords = x.qwords[:0]
	for i := range a.Lines {
		if !a.Kept(i) && a.Removals[a.Lines[i].Removal].Reason != ReasonCrossRepeat {
			continue
		}
		if !x.quoted[i] {
			x.qwords = append(x.qwords, a.Words[a.Lines[i].W0:a.Lines[i].W1]...)
			continue
		}
		s := a.Text[a.Lines[i].Start:a.Lines[i].End]
		x.qwords = x.norm.HashWords(x.qwords, s[quotePrefixLen(s):])
	}
	x.sh = Shingles(x.qwords, x.k, x.sh[:0])
	for _, h := range x.sh {
		if shingleSampled(h) {
			c.Shingles = append(c.Shingles, h)
		}
	}
}

func round4(f float64) float64 { return float64(int64(f*10000+0.5)) / 10000 }
