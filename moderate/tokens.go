package moderate

import (
	"unicode"
	"unicode/utf8"

	"github.com/winnow-dev/winnow/dedupe"
)

// token is one word of the original text: its byte span and the hash of its
// fingerprint form (the same hash dedupe gives the word).
type token struct {
	dedupe.Span
	Hash uint64
}

// tokenizer splits original text into words with byte spans. Besides white
// space and punctuation it splits where two scraped blocks were glued
// together ("Subscribe for freeWhat they're saying"): a lower-case run of two
// or more letters followed by an upper-case letter and a lower-case one.
type tokenizer struct {
	n     *dedupe.Normalizer
	words []uint64
}

func newTokenizer() *tokenizer { return &tokenizer{n: dedupe.NewNormalizer()} }

func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// glue finds where two scraped blocks were glued together: an upper-case
// letter after a run of two or more lower-case ones, followed by a
// lower-case letter ("freeWhat"). Feed it every rune in order.
type glue struct{ lower int }

// step reports whether r starts a new part; next is the rune after r.
func (g *glue) step(r, next rune) bool {
	point := g.lower >= 2 && unicode.IsUpper(r) && unicode.IsLower(next)
	if unicode.IsLower(r) {
		g.lower++
	} else {
		g.lower = 0
	}
	return point
}

// tokens appends the words of text[span] to dst.
func (t *tokenizer) tokens(text string, span dedupe.Span, dst []token) []token {
	start := -1
	var g glue
	emit := func(end int) {
		if start >= 0 && end > start {
			t.words = t.n.HashWords(t.words[:0], text[start:end])
			for _, w := range t.words { // NFKC can make one token several words
				dst = append(dst, token{Span: dedupe.Span{Start: start, End: end}, Hash: w})
			}
		}
		start = -1
	}
	for i := span.Start; i < span.End; {
		r, size := utf8.DecodeRuneInString(text[i:span.End])
		next, _ := utf8.DecodeRuneInString(text[i+size : span.End])
		if g.step(r, next) {
			emit(i)
		}
		if !isWord(r) {
			emit(i)
		} else if start < 0 {
			start = i
		}
		i += size
	}
	emit(span.End)
	return dst
}

// splitGlue appends the parts of text[span] between glue points to dst:
// "Subscribe for freeWhat they're saying" is two sentences that lost their
// separator when the page was scraped.
func splitGlue(text string, span dedupe.Span, dst []dedupe.Span) []dedupe.Span {
	start := span.Start
	var g glue
	for i := span.Start; i < span.End; {
		r, size := utf8.DecodeRuneInString(text[i:span.End])
		next, _ := utf8.DecodeRuneInString(text[i+size : span.End])
		if g.step(r, next) {
			dst = append(dst, dedupe.Span{Start: start, End: i})
			start = i
		}
		i += size
	}
	return append(dst, dedupe.Span{Start: start, End: span.End})
}

// hasGlue reports a glue point in s; ASCII is tested byte by byte, the hot
// path of every line that might hold a pitch.
func hasGlue(s string) bool {
	var g glue
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			next := rune(0)
			if i+1 < len(s) {
				next = rune(s[i+1])
			}
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
				if g.step(rune(c), next) {
					return true
				}
			} else {
				g.lower = 0
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		next, _ := utf8.DecodeRuneInString(s[i+size:])
		if g.step(r, next) {
			return true
		}
		i += size - 1
	}
	return false
}
