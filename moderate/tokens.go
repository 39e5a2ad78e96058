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
	buf   []byte
	words []uint64
}

func newTokenizer() *tokenizer { return &tokenizer{n: dedupe.NewNormalizer()} }

func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// tokens appends the words of text[span] to dst.
func (t *tokenizer) tokens(text string, span dedupe.Span, dst []token) []token {
	start, lower := -1, 0
	emit := func(end int) {
		if start >= 0 && end > start {
			t.words = t.words[:0]
			t.buf, t.words = t.n.AppendWords(t.buf[:0], t.words, text[start:end])
			for _, w := range t.words { // NFKC can make one token several words
				dst = append(dst, token{Span: dedupe.Span{Start: start, End: end}, Hash: w})
			}
		}
		start, lower = -1, 0
	}
	for i := span.Start; i < span.End; {
		r, size := utf8.DecodeRuneInString(text[i:span.End])
		if !isWord(r) {
			emit(i)
			i += size
			continue
		}
		if start >= 0 && unicode.IsUpper(r) && lower >= 2 {
			if next, _ := utf8.DecodeRuneInString(text[i+size : span.End]); unicode.IsLower(next) {
				emit(i)
			}
		}
		if start < 0 {
			start = i
		}
		if unicode.IsLower(r) {
			lower++
		} else {
			lower = 0
		}
		i += size
	}
	emit(span.End)
	return dst
}

// splitGlue appends the parts of text[span] between glue points (see
// tokenizer) to dst: "Subscribe for freeWhat they're saying" is two
// sentences that lost their separator when the page was scraped.
func splitGlue(text string, span dedupe.Span, dst []dedupe.Span) []dedupe.Span {
	start, lower := span.Start, 0
	for i := span.Start; i < span.End; {
		r, size := utf8.DecodeRuneInString(text[i:span.End])
		if unicode.IsUpper(r) && lower >= 2 {
			if next, _ := utf8.DecodeRuneInString(text[i+size : span.End]); unicode.IsLower(next) {
				dst = append(dst, dedupe.Span{Start: start, End: i})
				start = i
			}
		}
		if unicode.IsLower(r) {
			lower++
		} else {
			lower = 0
		}
		i += size
	}
	return append(dst, dedupe.Span{Start: start, End: span.End})
}

// hasGlue reports a glue point (see splitGlue) in s.
func hasGlue(s string) bool {
	lower := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			lower++
		case c >= 'A' && c <= 'Z':
			if lower >= 2 && i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z' {
				return true
			}
			lower = 0
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if unicode.IsUpper(r) && lower >= 2 {
				if next, _ := utf8.DecodeRuneInString(s[i+size:]); unicode.IsLower(next) {
					return true
				}
			}
			if unicode.IsLower(r) {
				lower++
			} else {
				lower = 0
			}
			i += size - 1
		default:
			lower = 0
		}
	}
	return false
}
