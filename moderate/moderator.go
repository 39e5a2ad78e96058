package moderate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/winnow-dev/winnow/dedupe"
)

// Rule ids, used as removal reasons and flag rules.
const (
	RulePromotional = "promotional"
	RuleSpam        = "spam"
	RuleBlocklist   = "blocklist"
	RuleBoilerplate = "boilerplate"
	rulePIIPrefix   = "pii."
)

// Finding is one rule's decision with its evidence.
type Finding struct {
	Rule   string
	Action Action
	// Line is the line a drop_block or redact applies to, -1 for the
	// document.
	Line int
	// Span is the redacted span (redact) or the line (drop_block).
	Span     dedupe.Span
	Score    float64
	Evidence string
	// Replace is written where a redacted span was ("" cuts it out).
	Replace string
	// Masked, when set, stands for the redacted text in the record, so
	// personal data is not copied into the evidence.
	Masked string
}

// Moderator applies a policy to documents. It keeps buffers: one per
// goroutine.
type Moderator struct {
	policy       Policy
	spam         *SpamModel
	spamThr      float64
	promoPhrases *compiledPhrases
	strong       *wordMatcher // the strong promotional phrases alone
	block        *compiledPhrases
	boiler       *compiledPhrases

	tok     *tokenizer
	toks    []token
	words   []uint64
	matches []match
	hits    map[blockHit]struct{} // a glued line's blocklist occurrences found by its first reading
	sents   []dedupe.Span
	parts   []dedupe.Span
	feats   []uint32
	seen    []uint64 // bitset over spam feature buckets, empty between documents
	piis    []piiFinding
	promos  []promoLine
}

// Options carry what a policy names but the pure package cannot read: the
// spam model and blocklist file contents, loaded by the caller.
type Options struct {
	// SpamModel replaces the embedded model when non-nil.
	SpamModel *SpamModel
	// ExtraBlocklist adds phrases (e.g. read from Policy.Blocklist.File).
	ExtraBlocklist []string
}

// New returns a Moderator for p.
func New(p Policy, o Options) (*Moderator, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	m := &Moderator{policy: p, tok: newTokenizer()}
	if p.Spam.Enabled {
		m.spam = o.SpamModel
		if m.spam == nil {
			var err error
			if m.spam, err = BuiltinSpamModel(); err != nil {
				return nil, err
			}
		}
		m.spamThr = float64(m.spam.Threshold)
		if p.Spam.Threshold > 0 {
			m.spamThr = p.Spam.Threshold
		}
	}
	m.promoPhrases = compilePhrases(phraseGroup{strongPromo, 1}, phraseGroup{p.Promotional.ExtraPhrases, 1}, phraseGroup{weakPromo, 0.5})
	m.strong = compilePhrases(phraseGroup{strongPromo, 1}, phraseGroup{p.Promotional.ExtraPhrases, 1}).m
	m.block = compilePhrases(phraseGroup{append(append([]string(nil), p.Blocklist.Phrases...), o.ExtraBlocklist...), 1})
	m.boiler = compilePhrases(phraseGroup{boilerplatePhrases, 1})
	return m, nil
}

// Fork returns a Moderator of m's policy for another goroutine: it shares
// what New compiled (the phrase matchers, read only once built: a blocklist
// of 200,000 phrases takes 38 MB) and the spam model, and keeps buffers of
// its own.
func (m *Moderator) Fork() *Moderator {
	return &Moderator{policy: m.policy, spam: m.spam, spamThr: m.spamThr, promoPhrases: m.promoPhrases, strong: m.strong,
		block: m.block, boiler: m.boiler, tok: newTokenizer()}
}

// ReadPhrases parses a blocklist file's contents: one phrase a line, blank
// lines and lines starting with # ignored. A UTF-8 byte order mark (which
// Windows editors write) is no part of the first line: before it, a
// comment there would be read as a phrase.
func ReadPhrases(b []byte) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimPrefix(string(b), "\ufeff"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Moderate appends the findings for the document a describes (its kept
// lines only) to dst, for a document without a source (see ModerateSource).
func (m *Moderator) Moderate(a *dedupe.Analysis, dst []Finding) []Finding {
	return m.ModerateSource(a, "", dst)
}

// ModerateSource is Moderate for a document whose `source` field is
// source: the spam rule judges it only if the policy's spam.sources is
// empty or names it.
func (m *Moderator) ModerateSource(a *dedupe.Analysis, source string, dst []Finding) []Finding {
	spam := false
	if m.spam != nil && (len(m.policy.Spam.Sources) == 0 || slices.Contains(m.policy.Spam.Sources, source)) {
		n := len(dst)
		dst = m.spamFinding(a, dst)
		spam = len(dst) > n
	}
	text := a.Text
	m.promos = m.promos[:0]
	content := 0
	for i := range a.Lines {
		l := &a.Lines[i]
		if !a.Kept(i) || l.W1 == l.W0 {
			continue
		}
		words := a.LineWords(i)
		if len(words) >= 3 {
			content++
		}
		sig := m.wordSignals(words)
		sig.digits, sig.hasAt = l.Digits, l.At
		promo, block := m.policy.Promotional.Enabled, m.policy.Blocklist.Enabled && len(m.block.texts) > 0
		boiler := m.policy.Boilerplate.Enabled && len(words) <= boilerplateMaxWords
		// Where scraped blocks were glued ("the weekendSubscribe now"), a
		// phrase may start inside one of the line's words: such a line is
		// read token by token whatever its words hold.
		glued := (promo || block || boiler) && !l.NoGlue && hasGlue(text[l.Span.Start:l.Span.End])
		if promo && (glued || sig.promo && m.strongMatch(words)) {
			if p, ok := m.promo(text, i, l.Span); ok {
				m.promos = append(m.promos, p)
			}
		}
		if block {
			dst = m.blocklist(text, i, l.Span, words, glued, dst)
		}
		if boiler {
			m.matches = m.boiler.m.find(words, m.matches[:0])
			if len(m.matches) == 0 && glued { // a footer's links run together: "NewsPrivacy PolicyCareers"
				m.matches = m.boiler.m.find(m.tokenHashes(text, l.Span), m.matches[:0])
			}
			if len(m.matches) > 0 {
				dst = append(dst, Finding{Rule: RuleBoilerplate, Action: m.policy.Boilerplate.Action, Line: i, Span: l.Span,
					Score: 1, Evidence: m.boiler.texts[m.matches[0].Phrase]})
			}
		}
		if m.policy.PII.Enabled {
			dst = m.piiFindings(text, i, l.Span, sig, dst)
		}
	}
	return m.promoFindings(content, spam, dst)
}

// lineSignals is what one pass over a line's word hashes tells the rules.
type lineSignals struct {
	promo   bool // a strong promotional phrase may start here
	at, dot bool // the words "at" and "dot": an obfuscated address may be here
	// From the analysis: ASCII digits in the line and whether it has '@'.
	digits int
	hasAt  bool
}

func (m *Moderator) wordSignals(words []uint64) lineSignals {
	var s lineSignals
	for _, w := range words {
		s.promo = s.promo || m.strong.starts(w)
		s.at = s.at || w == atWord
		s.dot = s.dot || w == dotWord
	}
	return s
}

// strongMatch reports a strong promotional phrase among words: the cheap
// test before the sentence-level pass.
func (m *Moderator) strongMatch(words []uint64) bool {
	m.matches = m.strong.find(words, m.matches[:0])
	return len(m.matches) > 0
}

func (m *Moderator) spamFinding(a *dedupe.Analysis, dst []Finding) []Finding {
	if len(a.Words) == 0 {
		// No words, no evidence: the model's bias alone (p 0.83) would
		// flag every empty or blank document.
		return dst
	}
	var subject, body []uint64
	if len(a.Lines) > 0 {
		subject, body = a.LineWords(0), a.Words[a.Lines[0].W1:]
	}
	m.feats = m.spamFeatures(subject, body, m.feats[:0])
	p := m.spam.Score(m.feats)
	if p < m.spamThr {
		return dst
	}
	return append(dst, Finding{Rule: RuleSpam, Action: m.policy.Spam.Action, Line: -1, Score: round3(p),
		Evidence: fmt.Sprintf("%s p=%.3f >= %.3f", m.spam.Version, p, m.spamThr)})
}

// promoFindings turns the promotional lines into drops and redactions, or
// into one document flag when the document is an ad as a whole: most of it
// is promotional, or the spam model judged it spam (cutting its pitches one
// by one would leave a mangled ad; the flags say what it is).
func (m *Moderator) promoFindings(content int, spam bool, dst []Finding) []Finding {
	if len(m.promos) == 0 {
		return dst
	}
	ratio := float64(len(m.promos)) / float64(max(content, 1))
	if spam || (len(m.promos) >= 2 && ratio > m.policy.Promotional.DocumentRatio) {
		evidence := fmt.Sprintf("%d of %d content lines promotional", len(m.promos), content)
		if spam {
			evidence += " in a spam document"
		}
		return append(dst, Finding{Rule: RulePromotional, Action: ActionFlag, Line: -1, Score: round3(ratio), Evidence: evidence})
	}
	for _, p := range m.promos {
		if p.drop {
			dst = append(dst, Finding{Rule: RulePromotional, Action: ActionDropBlock, Line: p.line, Score: round3(p.score),
				Evidence: strings.Join(p.evidence, "; ")})
			continue
		}
		for k, s := range p.redact {
			dst = append(dst, Finding{Rule: RulePromotional, Action: ActionRedact, Line: p.line, Span: s, Score: round3(p.scores[k]),
				Evidence: p.evidence[min(k, len(p.evidence)-1)]})
		}
	}
	return dst
}

// blocklist finds the operator's phrases in a line whose words are words;
// glued says whether it has a glue point (hasGlue). The line is read as
// dedupe reads it, where "YouTube" is one word as the phrase "YouTube" is,
// and where it has a glue point also as the tokenizer splits it there, so
// "spinsCasino bonus" holds "casino bonus"; an occurrence both readings
// find is reported once. Tokens are read (for the spans a redaction cuts)
// only when a phrase is there: with a long list nearly every line holds a
// phrase's first word, and reading them all cost more than the rest of the
// cleaning (BenchmarkLargeBlocklist).
func (m *Moderator) blocklist(text string, li int, span dedupe.Span, words []uint64, glued bool, dst []Finding) []Finding {
	if len(m.hits) > 1<<12 { // a huge line's set is not kept for the next line
		m.hits = nil
	} else if len(m.hits) > 0 {
		clear(m.hits)
	}
	if m.matches = m.block.m.find(words, m.matches[:0]); len(m.matches) > 0 {
		// part reads the line whole, without glue points: its tokens hash
		// as dedupe's words do (FuzzTokensHashLikeDedupe), one for one.
		if m.toks = m.tok.part(text, span, m.toks[:0]); len(m.toks) == len(words) {
			if glued && m.hits == nil {
				m.hits = map[blockHit]struct{}{}
			}
			dst = m.blockFindings(li, span, glued, dst)
		}
	}
	if glued {
		m.matches = m.block.m.find(m.tokenHashes(text, span), m.matches[:0])
		dst = m.blockFindings(li, span, false, dst)
	}
	return dst
}

// blockHit is one occurrence of a blocklist phrase: the phrase and the
// text its words cover.
type blockHit struct {
	phrase int32
	span   dedupe.Span
}

// blockFindings turns the matches of the last find over m.toks into
// findings, skipping occurrences in m.hits (the line's first reading found
// them); record puts those it reports there. A set, not a list: a line of
// a megabyte can hold a hundred thousand occurrences.
func (m *Moderator) blockFindings(li int, span dedupe.Span, record bool, dst []Finding) []Finding {
	for _, mt := range m.matches {
		hit := blockHit{mt.Phrase, dedupe.Span{Start: m.toks[mt.Start].Start, End: m.toks[mt.End-1].End}}
		if _, seen := m.hits[hit]; seen {
			continue
		}
		if record {
			m.hits[hit] = struct{}{}
		}
		f := Finding{Rule: RuleBlocklist, Action: m.policy.Blocklist.Action, Line: li, Score: 1, Evidence: m.block.texts[mt.Phrase]}
		switch f.Action {
		case ActionRedact:
			f.Span = hit.span
		case ActionDropBlock:
			f.Span = span
		default:
			f.Line = -1
		}
		dst = append(dst, f)
	}
	return dst
}

// tokenHashes reads text[span]'s tokens into m.toks and returns their
// hashes (in m.words).
func (m *Moderator) tokenHashes(text string, span dedupe.Span) []uint64 {
	m.toks = m.tok.tokens(text, span, m.toks[:0])
	return m.tokenWords()
}

// tokenWords returns the hashes of m.toks, in m.words.
func (m *Moderator) tokenWords() []uint64 {
	m.words = m.words[:0]
	for _, t := range m.toks {
		m.words = append(m.words, t.Hash)
	}
	return m.words
}

// Mask returns text[span] with each e-mail address, phone number and card
// number of a kind the policy redacts written as a redaction writes it
// ("[card]"), or text[span] as it is when there is none. Moderation reads
// kept lines only; the pipeline masks with it the text a record quotes
// from lines and spans removed for other reasons (a repeated line, a
// dropped block), so data the policy redacts reaches no part of a record.
func (m *Moderator) Mask(text string, span dedupe.Span) string {
	s, p := text[span.Start:span.End], m.policy.PII
	if !p.Enabled || p.Email != ActionRedact && p.Phone != ActionRedact && p.Card != ActionRedact {
		return s
	}
	m.piis = pii(text, span, nil, m.piis[:0])
	m.piis = slices.DeleteFunc(m.piis, func(f piiFinding) bool { return m.piiAction(f.kind) != ActionRedact })
	if len(m.piis) == 0 {
		return s
	}
	slices.SortFunc(m.piis, func(x, y piiFinding) int { return x.span.Start - y.span.Start })
	var b strings.Builder
	pos := span.Start
	for _, f := range m.piis {
		if f.span.Start < pos { // overlaps the one before: one mask for both
			pos = max(pos, f.span.End)
			continue
		}
		b.WriteString(text[pos:f.span.Start])
		b.WriteString("[" + f.kind + "]")
		pos = f.span.End
	}
	b.WriteString(text[pos:span.End])
	return b.String()
}

func (m *Moderator) piiAction(kind string) Action {
	switch kind {
	case PIIEmail:
		return m.policy.PII.Email
	case PIIPhone:
		return m.policy.PII.Phone
	case PIICard:
		return m.policy.PII.Card
	}
	return ActionOff
}

func (m *Moderator) piiFindings(text string, li int, span dedupe.Span, sig lineSignals, dst []Finding) []Finding {
	m.piis = pii(text, span, &sig, m.piis[:0])
	for _, p := range m.piis {
		action := m.piiAction(p.kind)
		if action == ActionOff {
			continue
		}
		f := Finding{Rule: rulePIIPrefix + p.kind, Action: action, Line: li, Span: p.span, Score: 1,
			Evidence: maskPII(p.kind, text[p.span.Start:p.span.End]), Masked: "[" + p.kind + "]"}
		if action == ActionRedact {
			f.Replace = "[" + p.kind + "]"
		} else {
			f.Line = -1
		}
		dst = append(dst, f)
	}
	return dst
}

// spamFeatures is SpamFeaturesFromWords without the sort: repeats are
// dropped with a bitset (8 KiB at 2^16 buckets, cleared through the list
// it built), so scoring costs one pass over the words.
func (m *Moderator) spamFeatures(subject, body []uint64, dst []uint32) []uint32 {
	bits := m.spam.Bits
	if len(m.seen) != 1<<bits/64 {
		m.seen = make([]uint64, 1<<bits/64)
	}
	seen := m.seen
	n0 := len(dst)
	dst = appendNew(seen, dst, subject, subjectSalt, bits)
	dst = appendNew(seen, dst, body, 0, bits)
	for _, f := range dst[n0:] { // leave the bitset empty for the next document
		seen[f>>6] = 0
	}
	return dst
}

// appendNew appends the unigram and bigram buckets of words not yet in
// seen. It is branch-free: every bucket is written and the length advances
// by one only when the bucket was new, since whether a word repeats is a
// coin toss the branch predictor cannot learn.
func appendNew(seen []uint64, dst []uint32, words []uint64, salt uint64, bits uint8) []uint32 {
	n := len(dst)
	dst = slices.Grow(dst, 2*len(words))[:n+2*len(words)]
	prev := uint64(0)
	for i, w := range words {
		f := unigramBucket(w, salt, bits)
		word := seen[f>>6]
		dst[n] = f
		n += int(^word >> (f & 63) & 1)
		seen[f>>6] = word | 1<<(f&63)
		if i > 0 {
			f = bigramBucket(prev, w, salt, bits)
			word = seen[f>>6]
			dst[n] = f
			n += int(^word >> (f & 63) & 1)
			seen[f>>6] = word | 1<<(f&63)
		}
		prev = w
	}
	return dst[:n]
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// spamFeaturesSorted is SpamFeaturesFromWords; kept beside spamFeatures so a
// test can hold them equal.
var spamFeaturesSorted = SpamFeaturesFromWords
