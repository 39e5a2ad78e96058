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
	n           *dedupe.Normalizer
	words, want []uint64
	parts       []dedupe.Span

	// fallbacks counts the parts byField read: where scan and dedupe
	// disagreed.
	fallbacks int
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

func combinesOrIgnorable(r rune) bool { return combines(r) || dedupe.IsIgnorable(r) }

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

// tokens appends the words of text[span] to dst: those of each part
// between glue points (see glueParts).
func (t *tokenizer) tokens(text string, span dedupe.Span, dst []token) []token {
	t.parts = glueParts(text, span, t.parts[:0])
	for _, p := range t.parts {
		dst = t.part(text, p, dst)
	}
	return dst
}

// part appends the words of text[span], a part with no glue point in it
// (one of glueParts'), to dst, read by scan. Where the text is not plain
// ASCII, scan's reading is checked against dedupe's hashes of it, and a
// part they disagree on is read field by field (see byField): scan
// re-derives, character by character, what dedupe's normaliser does to
// whole text (entities, NFKC, case folding), and a Unicode corner it gets
// wrong must cost a wider span, never a missed phrase.
func (t *tokenizer) part(text string, span dedupe.Span, dst []token) []token {
	n := len(dst)
	dst = t.scan(text, span, dst)
	if s := text[span.Start:span.End]; !plain(s) && !t.agrees(s, dst[n:]) {
		dst = t.byField(text, span, dst[:n])
	}
	return dst
}

// plain reports text scan reads exactly as dedupe does: ASCII without an
// entity.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || s[i] == '&' {
			return false
		}
	}
	return true
}

// agrees reports whether toks hash as dedupe hashes s.
func (t *tokenizer) agrees(s string, toks []token) bool {
	t.want = t.n.HashWords(t.want[:0], s)
	if len(t.want) != len(toks) {
		return false
	}
	for i, tk := range toks {
		if tk.Hash != t.want[i] {
			return false
		}
	}
	return true
}

// byField appends the words of text[span] field by field, a field being a
// run between ASCII white space (which dedupe's normaliser never joins to
// anything: no entity holds it, NFKC composes nothing with it, folding
// leaves it), so the fields' words are the span's. A field scan reads as
// dedupe does keeps scan's words; the words of one it does not all take the
// field's span.
func (t *tokenizer) byField(text string, span dedupe.Span, dst []token) []token {
	t.fallbacks++
	for i := span.Start; i < span.End; {
		for i < span.End && isASCIISpace(text[i]) {
			i++
		}
		j := i
		for j < span.End && !isASCIISpace(text[j]) {
			j++
		}
		if j == i {
			break
		}
		f := dedupe.Span{Start: i, End: j}
		n := len(dst)
		dst = t.scan(text, f, dst)
		if !t.agrees(text[i:j], dst[n:]) {
			dst = dst[:n]
			for _, w := range t.want {
				dst = append(dst, token{Span: f, Hash: w})
			}
		}
		i = j
	}
	return dst
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// scan appends the words of text[span] to dst, with no glue point in it.
func (t *tokenizer) scan(text string, span dedupe.Span, dst []token) []token {
	start := -1
	emit := func(end int) {
		if start >= 0 && end > start {
			t.words = t.n.HashWords(t.words[:0], text[start:end])
			for _, w := range t.words { // NFKC can make one token several words
				dst = append(dst, token{Span: dedupe.Span{Start: start, End: end}, Hash: w})
			}
		}
		start = -1
	}
	// separator ends the word before text[i:j], no word character (an
	// entity standing for several: dec), and goes past the marks after
	// it; they start a word when NFKC leaves one of them standing (see
	// cluster).
	separator := func(i, j int, dec string) int {
		emit(i)
		k, word := cluster(text, i, j, span.End, utf8.RuneCountInString(dec) > 1)
		if word {
			start = i
		}
		return k
	}
	for i := span.Start; i < span.End; {
		if text[i] == '&' { // an HTML entity is one character, as dedupe decodes it
			if n, dec, ok := entityAt(text[i:span.End]); ok {
				if all(dec, dedupe.IsIgnorable) { // "&shy;": part of the word around it
					i += n
					continue
				}
				if !all(dec, isWord) {
					i = separator(i, i+n, dec)
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
		switch {
		case dedupe.IsIgnorable(r): // dedupe drops it: it splits no word
			i += size
			continue
		case !isWord(r):
			i = separator(i, i+size, "")
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
// most at end), written as they are or as entities ("&#800;"), and the
// ignorable characters among them, which dedupe drops before it composes
// (see dedupe.IsIgnorable).
func marksAfter(text string, i, end int) int {
	for i < end {
		if c := text[i]; c < utf8.RuneSelf && c != '&' {
			return i // no ASCII character combines
		}
		if text[i] == '&' {
			n, dec, ok := entityAt(text[i:end])
			if !ok || !all(dec, combinesOrIgnorable) {
				return i
			}
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:end])
		if !combinesOrIgnorable(r) {
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
// are "≯", a symbol) or leave it standing ("-" and U+0301). An entity may
// stand for a symbol and a mark itself (several: "&nvlt;" is "<" and
// U+20D2, which stands).
func cluster(text string, i, j, end int, several bool) (k int, word bool) {
	k = marksAfter(text, j, end)
	if k == j && !several {
		return k, false
	}
	for _, r := range norm.NFKC.String(dedupe.StripIgnorable(html.UnescapeString(text[i:k]))) {
		if isWord(r) {
			return k, true
		}
	}
	return k, false
}

// glueParts appends the parts of text[span] between glue points to dst:
// "Subscribe for freeWhat they're saying" is two sentences that lost their
// separator when the page was scraped. An HTML entity is one character,
// no letter of either case ("&DownBreve;" is a mark, not "Down" and
// "Breve").
func glueParts(text string, span dedupe.Span, dst []dedupe.Span) []dedupe.Span {
	start := span.Start
	var g glue
	for i := span.Start; i < span.End; {
		if text[i] == '&' {
			if n, _, ok := entityAt(text[i:span.End]); ok {
				g = glue{}
				i += n
				continue
			}
		}
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

// hasGlue reports a glue point in s: every point glueParts finds, and
// where an entity's name reads as one ("&LeftArrow;") a point it does not.
// It runs over every line the promotional, blocklist and boilerplate rules
// read that dedupe did not find plain (Line.NoGlue), so ASCII is tested
// byte by byte without glue.step's Unicode tables.
func hasGlue(s string) bool {
	lower := 0 // lower-case letters just before i
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			lower++
		case c >= 'A' && c <= 'Z':
			if lower >= 2 && i+1 < len(s) {
				if n := s[i+1]; n >= 'a' && n <= 'z' {
					return true
				} else if n >= utf8.RuneSelf { // "freeWθ": a lower-case letter all the same
					if r, _ := utf8.DecodeRuneInString(s[i+1:]); unicode.IsLower(r) {
						return true
					}
				}
			}
			lower = 0
		case c < utf8.RuneSelf:
			lower = 0
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			next, _ := utf8.DecodeRuneInString(s[i+size:])
			g := glue{lower}
			if g.step(r, next) {
				return true
			}
			lower = g.lower
			i += size - 1
		}
	}
	return false
}
