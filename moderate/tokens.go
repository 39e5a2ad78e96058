package moderate

import (
	"html"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/winnow-dev/winnow/dedupe"
)

// token is one word of the original text: its byte span and the hash of its
// fingerprint form (the same hash dedupe gives the word).
type token struct {
	dedupe.Span
	Hash uint64
}

// tokenizer splits original text into words with byte spans. Besides white
// space and punctuation it splits around each Han or kana character (a word
// of its own: dedupe.IsRuneWord) and where two scraped blocks were glued
// together ("Subscribe for freeWhat they're saying"): a lower-case run of two
// or more letters followed by an upper-case letter and a lower-case one.
type tokenizer struct {
	n     *dedupe.Normalizer
	words []uint64
}

func newTokenizer() *tokenizer { return &tokenizer{n: dedupe.NewNormalizer()} }

// isWord reports a rune of a word as dedupe normalises text: a letter,
// digit or other number, a mark or '_', or a compatibility form that NFKC
// makes one ("™", "㍿", "ﬁ").
func isWord(r rune) bool {
	if dedupe.IsWordRune(r) {
		return true
	}
	if r < utf8.RuneSelf {
		return false
	}
	for _, d := range string(norm.NFKC.PropertiesString(string(r)).Decomposition()) {
		if dedupe.IsWordRune(d) {
			return true
		}
	}
	return false
}

// entityAt reads an HTML character reference at the start of s as
// html.UnescapeString (which dedupe applies) reads it: "&nbsp;", "&#8217;",
// and the forms it takes without the ';' ("&amp", "&#39", "&notit;" for
// "¬it;"). It returns the reference's length and the text it stands for;
// ok is false when s does not start with one.
func entityAt(s string) (n int, dec string, ok bool) {
	j := 1 // the longest candidate: '#' and digits, or a name, then ';'
	numeric := len(s) > 1 && s[1] == '#'
	if numeric {
		j = 2
		hex := j < len(s) && (s[j] == 'x' || s[j] == 'X')
		if hex {
			j++
		}
		// every digit, as html reads them: "&#0000…0065;" is "A"
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || hex && (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'f')) {
			j++
		}
	} else {
		for j < len(s) && j < maxEntity && (s[j] >= '0' && s[j] <= '9' || s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') {
			j++
		}
	}
	if j < len(s) && s[j] == ';' {
		j++
	}
	ref := s[:j]
	dec = html.UnescapeString(ref)
	if dec == ref {
		return 0, "", false
	}
	// A name may be decoded in part, the rest left as it was ("it;" of
	// "&notit;", since "&not" is a legacy name); a numeric reference is
	// read whole.
	n = j
	for !numeric && len(dec) > 1 && dec[len(dec)-1] == ref[n-1] {
		n--
		dec = dec[:len(dec)-1]
	}
	return n, dec, true
}

// all reports whether is holds for every rune of s.
func all(s string, is func(rune) bool) bool {
	for _, r := range s {
		if !is(r) {
			return false
		}
	}
	return true
}

// maxEntity bounds the bytes a named HTML character reference may take
// ("&CounterClockwiseContourIntegral;" is the longest name).
const maxEntity = 40

// combines reports a rune that NFKC may join to the one before it: a
// combining mark, or a form that decomposes to one (the half-width kana
// sound marks). Not a mark that case folding makes a letter (U+0345 folds
// to "ι"): dedupe, which folds, reads that one as a letter.
func combines(r rune) bool {
	if unicode.SimpleFold(r) != r {
		return false
	}
	return unicode.IsMark(r) || norm.NFKC.PropertiesString(string(r)).LeadCCC() != 0
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
	// separator ends the word before text[i:j], no word character, and
	// goes past the marks after it; they start a word when NFKC leaves
	// one of them standing (see cluster).
	separator := func(i, j int) int {
		emit(i)
		k, word := cluster(text, i, j, span.End)
		if word {
			start = i
		}
		return k
	}
	for i := span.Start; i < span.End; {
		if text[i] == '&' { // an HTML entity is one character, as dedupe decodes it
			if n, dec, ok := entityAt(text[i:span.End]); ok {
				g = glue{}
				if !all(dec, isWord) {
					i = separator(i, i+n)
					continue
				}
				if start < 0 {
					start = i
				}
				i += n
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(text[i:span.End])
		next, _ := utf8.DecodeRuneInString(text[i+size : span.End])
		if g.step(r, next) {
			emit(i)
		}
		switch {
		case !isWord(r):
			i = separator(i, i+size)
			continue
		case dedupe.IsRuneWord(r): // a word on its own, as dedupe hashes it
			// with the marks after it, which NFKC may compose into it
			// (か and U+3099, ｶ and the half-width ﾞ are all ガ)
			emit(i)
			start = i
			i = marksAfter(text, i+size, span.End)
			emit(i)
			continue
		case start < 0:
			start = i
		}
		i += size
	}
	emit(span.End)
	return dst
}

// marksAfter returns where the combining marks from text[i] on end (at
// most at end), written as they are or as entities ("&#800;").
func marksAfter(text string, i, end int) int {
	for i < end {
		if c := text[i]; c < utf8.RuneSelf && c != '&' {
			return i // no ASCII character combines
		}
		if text[i] == '&' {
			n, dec, ok := entityAt(text[i:end])
			if !ok || !all(dec, combines) {
				return i
			}
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:end])
		if !combines(r) {
			return i
		}
		i += size
	}
	return i
}

// cluster reads text[i:j], a character that is no word character, with
// the marks after it: it returns where they end, and whether NFKC leaves
// a word character among them, which then starts a word as dedupe reads
// the text. NFKC may compose a mark into the character (">" and U+0338
// are "≯", a symbol) or leave it standing ("-" and U+0301).
func cluster(text string, i, j, end int) (k int, word bool) {
	k = marksAfter(text, j, end)
	if k == j {
		return k, false
	}
	for _, r := range norm.NFKC.String(html.UnescapeString(text[i:k])) {
		if isWord(r) {
			return k, true
		}
	}
	return k, false
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
				if next >= utf8.RuneSelf { // "freeWθ": a lower-case letter all the same
					next, _ = utf8.DecodeRuneInString(s[i+1:])
				}
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
