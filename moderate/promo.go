package moderate

import (
	"strings"

	"github.com/winnow-dev/winnow/dedupe"
)

// promoLine is the promotional verdict on one line.
type promoLine struct {
	line      int
	drop      bool          // the block is an ad
	redact    []dedupe.Span // pitch sentences or phrases to cut, when not dropped
	scores    []float64     // per redaction
	score     float64
	evidence  []string
	sentences int
}

// promo scores one line's sentences (split also where scraped blocks were
// glued together). A sentence is a pitch when it holds a strong phrase and
// is short (<= 30 words), or its phrase weight reaches 2.
func (m *Moderator) promo(text string, li int, span dedupe.Span) (promoLine, bool) {
	res := promoLine{line: li}
	m.sents = dedupe.Sentences(text, span, m.sents[:0])
	m.parts = m.parts[:0]
	for _, s := range m.sents {
		m.parts = glueParts(text, s, m.parts)
	}
	res.sentences = len(m.parts)
	pitches := 0
	for _, s := range m.parts {
		m.toks = m.tok.part(text, s, m.toks[:0])
		m.matches = m.promoPhrases.m.find(m.tokenWords(), m.matches[:0])
		score, strong := 0.0, false
		for _, mt := range m.matches {
			w := m.promoPhrases.weights[mt.Phrase]
			score += w
			strong = strong || w >= 1
		}
		if hasPrice(text[s.Start:s.End]) {
			score += 0.5
		}
		if score == 0 {
			continue
		}
		// A pitch is a short part with a pitch phrase, or any part with
		// several. A pitch phrase in a long sentence of content ("a pick
		// you can buy now") is not one; a pitch glued to content was cut
		// off as its own part by glueParts.
		if strong && (score >= 2 || len(m.toks) <= 30) {
			pitches++
			res.score += score
			res.redact = append(res.redact, s)
			res.scores = append(res.scores, score)
			res.evidence = append(res.evidence, m.matchedPhrases())
		}
	}
	if len(res.redact) == 0 {
		return res, false
	}
	res.drop = pitches > 0 && (float64(pitches)/float64(max(res.sentences, 1)) >= m.policy.Promotional.BlockRatio)
	return res, true
}

// matchedPhrases lists the phrases of the last find, strongest first.
func (m *Moderator) matchedPhrases() string {
	var strong, weak []string
	for _, mt := range m.matches {
		if m.promoPhrases.weights[mt.Phrase] >= 1 {
			strong = append(strong, m.promoPhrases.texts[mt.Phrase])
		} else {
			weak = append(weak, m.promoPhrases.texts[mt.Phrase])
		}
	}
	return strings.Join(append(strong, weak...), ", ")
}

// hasPrice reports a currency amount ("$19.99", "£5", "20 USD") or a
// discount ("50% off").
func hasPrice(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '$':
			if i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
				return true
			}
		case '%':
			if strings.HasPrefix(strings.ToLower(strings.TrimLeft(s[i+1:], " ")), "off") {
				return true
			}
		}
	}
	return strings.Contains(s, "£") || strings.Contains(s, "€")
}
