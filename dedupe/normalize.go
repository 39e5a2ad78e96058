package dedupe

import (
	"html"
	"slices"

	"github.com/cespare/xxhash/v2"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// DecodeEntities decodes the HTML character references left in extracted
// text, named and numeric (&nbsp; &#xa0; &amp; &#8217;), for display. A
// name without its ';' is decoded only as an HTML attribute value's is:
// when it is a whole legacy name ("&amp", "&nbsp") not followed by a
// letter, a digit or '=', so the query of a URL in the text keeps its
// parameters ("?a=1&section=2&notFound=true" would read "§ion=2¬Found=true"
// as html.UnescapeString reads it), and "&notit;" is not "¬it;". Text
// without '&' is returned as is.
func DecodeEntities(s string) string {
	i := strings.IndexByte(s, '&')
	if i < 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i < len(s) {
		n, dec := referenceAt(s[i:])
		if n == 0 {
			i++
		} else {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last:i])
			b.WriteString(dec)
			i += n
			last = i
		}
		j := strings.IndexByte(s[i:], '&')
		if j < 0 {
			break
		}
		i += j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// maxEntityName is longer than the longest HTML entity name
// ("CounterClockwiseContourIntegral").
const maxEntityName = 40

// referenceAt reads a character reference at the start of s (which starts
// with '&') and returns its length and the text it stands for, or 0.
func referenceAt(s string) (n int, dec string) {
	j := 1
	if len(s) > 1 && s[1] == '#' { // numeric: read as html reads it, ';' or not
		j = 2
		hex := j < len(s) && (s[j] == 'x' || s[j] == 'X')
		if hex {
			j++
		}
		digits := j
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || hex && (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'f')) {
			j++
		}
		if j == digits {
			return 0, ""
		}
		if j < len(s) && s[j] == ';' {
			j++
		}
		return j, html.UnescapeString(s[:j])
	}
	for j < len(s) && j <= maxEntityName && isASCIIAlnum(s[j]) {
		j++
	}
	if j == 1 || j > maxEntityName {
		return 0, ""
	}
	semi := j < len(s) && s[j] == ';'
	if semi {
		j++
	} else if j < len(s) && s[j] == '=' {
		return 0, ""
	}
	ref := s[:j]
	dec = html.UnescapeString(ref)
	// html decodes the longest legacy name a name starts with and leaves
	// the rest ("&notit;" is "¬it;"): only a whole name counts.
	if dec == ref || dec == "" {
		return 0, ""
	}
	if c := dec[len(dec)-1]; semi && c == ';' && dec != ";" || !semi && isASCIIAlnum(c) {
		return 0, ""
	}
	return j, dec
}

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
}

// Tidy returns the display form of one line: entities decoded, NBSP and the
// other Unicode space characters mapped to an ASCII space, control characters
// other than tab dropped, trailing white space trimmed. The author's wording,
// case and punctuation are kept; invalid UTF-8 becomes U+FFFD.
func Tidy(line string) string {
	line = DecodeEntities(line)
	clean := true
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c >= utf8.RuneSelf || (c < ' ' && c != '\t') || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return trimRightSpace(line)
	}
	var b strings.Builder
	b.Grow(len(line))
	for _, r := range line {
		switch {
		case r == '\t':
			b.WriteByte('\t')
		case unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff':
			if r == '\u200b' || r == '\ufeff' { // zero-width: drop
				continue
			}
			b.WriteByte(' ')
		case unicode.IsControl(r):
			continue
		default:
			b.WriteRune(r)
		}
	}
	return trimRightSpace(b.String())
}

// trimRightSpace is strings.TrimRight(s, " \t\r") without building the
// cutset's table on every call (Tidy runs once per kept line).
func trimRightSpace(s string) string {
	i := len(s)
	for i > 0 && (s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] == '\r') {
		i--
	}
	return s[:i]
}

// asciiClass maps each ASCII byte to its fingerprint form: 0 for a separator,
// otherwise the byte to emit (letters lower-cased).
var asciiClass = func() (t [utf8.RuneSelf]byte) {
	for c := 0; c < utf8.RuneSelf; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			t[c] = byte(c)
		case c >= 'A' && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}()

// Normalizer produces the fingerprint form of text: entities decoded,
// invisible format characters dropped (see IsIgnorable), NFKC, case-folded,
// and reduced to its word-character runs (letters, digits, marks and '_')
// joined by single spaces. Quotes, dashes, bullets and all other
// punctuation become separators, so curly and straight quotes, the dash
// family and bullet glyphs all normalise alike. A Han ideograph or a kana
// is a word on its own (see IsRuneWord). The fingerprint form is for
// hashing only; it is never shown as cleaned text.
//
// A Normalizer holds reusable buffers; it is not safe for concurrent use.
type Normalizer struct {
	fold cases.Caser
	buf  []byte

	// Digits and At describe the text of the last HashWords (or
	// AppendWords) call: how many ASCII digits it held and whether it held
	// an '@'. Later stages (personal-data rules) use them to skip lines
	// without another pass.
	Digits int
	At     bool
	// NoGlue says the text is plain ASCII in which no run of two or more
	// lower-case letters runs into a capital followed by a lower-case
	// letter ("freeWhat", where a scraper joined two blocks): its words are
	// then the ones a reader splitting there would see. False for other
	// text, which is not looked at.
	NoGlue bool
}

// NewNormalizer returns a Normalizer ready for use.
func NewNormalizer() *Normalizer {
	return &Normalizer{fold: cases.Fold()}
}

// Append appends the fingerprint form of s to dst, preceded by one space when
// dst is non-empty and s has a word, and returns the result. The result never
// ends in a space.
func (n *Normalizer) Append(dst []byte, s string) []byte {
	dst, _ = n.appendWords(dst, nil, s, false)
	return dst
}

// AppendWords is Append that also appends the xxhash of every word it writes
// to words: the hashes Words would compute from the result, in one pass.
func (n *Normalizer) AppendWords(dst []byte, words []uint64, s string) ([]byte, []uint64) {
	return n.appendWords(dst, words, s, true)
}

func (n *Normalizer) appendWords(dst []byte, words []uint64, s string, hash bool) ([]byte, []uint64) {
	n.NoGlue = false
	if strings.IndexByte(s, '&') >= 0 {
		s = html.UnescapeString(s)
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return n.appendASCII(dst, words, s, hash)
	}
	n.Digits, n.At = 0, strings.IndexByte(s, '@') >= 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n.Digits++
		}
	}
	s = n.foldNFKC(StripIgnorable(s))
	word := -1 // start of the word being written, or -1
	for i := 0; i < len(s); {
		c := s[i]
		var m byte
		if c < utf8.RuneSelf {
			i++
			if m = asciiClass[c]; m == 0 {
				if word >= 0 {
					if hash {
						words = append(words, xxhash.Sum64(dst[word:]))
					}
					word = -1
				}
				continue
			}
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			split := IsRuneWord(r)
			if split || !IsWordRune(r) {
				if word >= 0 {
					if hash {
						words = append(words, xxhash.Sum64(dst[word:]))
					}
					word = -1
				}
				if !split {
					continue
				}
				if len(dst) > 0 {
					dst = append(dst, ' ')
				}
				w := len(dst)
				dst = utf8.AppendRune(dst, r)
				for i < len(s) { // with the marks NFKC left after it (a variation selector)
					m, size := utf8.DecodeRuneInString(s[i:])
					if !unicode.IsMark(m) {
						break
					}
					dst = utf8.AppendRune(dst, m)
					i += size
				}
				if hash {
					words = append(words, xxhash.Sum64(dst[w:]))
				}
				continue
			}
			if word < 0 {
				if len(dst) > 0 {
					dst = append(dst, ' ')
				}
				word = len(dst)
			}
			dst = utf8.AppendRune(dst, r)
			continue
		}
		if word < 0 {
			if len(dst) > 0 {
				dst = append(dst, ' ')
			}
			word = len(dst)
		}
		dst = append(dst, m)
	}
	if word >= 0 && hash {
		words = append(words, xxhash.Sum64(dst[word:]))
	}
	return dst, words
}

// Byte kinds for HashWords' ASCII scan.
const (
	kindSep   = iota // separator
	kindWord         // lower-case letter or '_': hashed as it stands
	kindDigit        // counted in Digits
	kindUpper        // the word is lower-cased before hashing
	kindAt           // a separator that sets At
	kindSlow         // non-ASCII or '&' (an entity): the general path
)

var byteKind = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c >= 'a' && c <= 'z', c == '_':
			t[c] = kindWord
		case c >= '0' && c <= '9':
			t[c] = kindDigit
		case c >= 'A' && c <= 'Z':
			t[c] = kindUpper
		case c == '@':
			t[c] = kindAt
		case c == '&' || c >= utf8.RuneSelf:
			t[c] = kindSlow
		}
	}
	return t
}()

// HashWords appends to words the xxhash of every word of s's fingerprint
// form, as AppendWords does, and sets Digits and At, without building the
// form: a word of plain ASCII text is hashed where it stands (lower-cased
// into a scratch buffer only when it holds a capital), one tight loop over
// the separators and one over the word. Other text takes AppendWords' way.
func (n *Normalizer) HashWords(words []uint64, s string) []uint64 {
	n0 := len(words)
	digits, at, glued := 0, false, false
	for i := 0; i < len(s); {
		for i < len(s) {
			k := byteKind[s[i]]
			if k != kindSep && k != kindAt {
				break
			}
			at = at || k == kindAt
			i++
		}
		if i == len(s) {
			break
		}
		start, upper := i, false
	word:
		for ; i < len(s); i++ {
			switch byteKind[s[i]] {
			case kindWord:
			case kindDigit:
				digits++
			case kindUpper:
				upper = true
			case kindSlow:
				n.buf, words = n.appendWords(n.buf[:0], words[:n0], s, true)
				if cap(n.buf) > 1<<17 { // one huge line must not pin its buffer
					n.buf = nil
				}
				return words
			default:
				break word
			}
		}
		if !upper {
			words = append(words, xxhash.Sum64String(s[start:i]))
			continue
		}
		n.buf = append(n.buf[:0], s[start:i]...)
		for j, c := range n.buf {
			n.buf[j] = asciiClass[c]
		}
		words = append(words, xxhash.Sum64(n.buf))
		glued = glued || joined(s[start:i])
	}
	n.Digits, n.At, n.NoGlue = digits, at, !glued
	return words
}

// joined reports, in an ASCII word, two lower-case letters followed by a
// capital and a lower-case letter ("freeWhat").
func joined(w string) bool {
	lower := func(c byte) bool { return c >= 'a' && c <= 'z' }
	for k := 2; k+1 < len(w); k++ {
		if c := w[k]; c >= 'A' && c <= 'Z' && lower(w[k-1]) && lower(w[k-2]) && lower(w[k+1]) {
			return true
		}
	}
	return false
}

// appendASCII is appendWords for ASCII text: one table lookup a byte, into
// a buffer grown once.
func (n *Normalizer) appendASCII(dst []byte, words []uint64, s string, hash bool) ([]byte, []uint64) {
	j := len(dst)
	dst = slices.Grow(dst, len(s)+1)
	dst = dst[:cap(dst)]
	word, digits, at := -1, 0, false
	for i := 0; i < len(s); i++ {
		m := asciiClass[s[i]]
		if m <= '9' { // 0 (a separator) or a digit: letters and '_' map above '9'
			if m != 0 {
				digits++
			} else if s[i] == '@' {
				at = true
			}
		}
		if m == 0 {
			if word >= 0 {
				if hash {
					words = append(words, xxhash.Sum64(dst[word:j]))
				}
				word = -1
			}
			continue
		}
		if word < 0 {
			if j > 0 {
				dst[j] = ' '
				j++
			}
			word = j
		}
		dst[j] = m
		j++
	}
	if word >= 0 && hash {
		words = append(words, xxhash.Sum64(dst[word:j]))
	}
	n.Digits, n.At = digits, at
	return dst[:j], words
}

// String returns the fingerprint form of s.
func (n *Normalizer) String(s string) string {
	n.buf = n.Append(n.buf[:0], s)
	return string(n.buf)
}

func (n *Normalizer) foldNFKC(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\ufffd")
	}
	s = norm.NFKC.String(s)
	n.fold.Reset()
	s = cherokeeFolded(n.fold.String(s))
	// Folding can produce sequences that are no longer NFKC (e.g. "ß" -> "ss"
	// is fine, but some compatibility characters fold into decomposable
	// forms); a second pass keeps Append idempotent.
	if !norm.NFKC.IsNormalString(s) {
		s = norm.NFKC.String(s)
	}
	return s
}

// cherokeeFolded maps Cherokee letters to the capitals Unicode's case
// folding takes them to (CaseFolding.txt folds the small letters, added in
// Unicode 8, to the older capitals). x/text's Fold turns small letters into
// capitals but capitals into small letters, so "ᏣᎳᎩ" and "ꮳꮃꭹ" would not
// match, and text folded twice would not match text folded once.
func cherokeeFolded(s string) string {
	if !strings.ContainsFunc(s, isCherokee) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isCherokee(r) {
			return unicode.ToUpper(r)
		}
		return r
	}, s)
}

func isCherokee(r rune) bool {
	return (r >= 0x13a0 && r <= 0x13fd) || (r >= 0xab70 && r <= 0xabbf)
}

// IsRuneWord reports whether r is a word on its own (with any combining
// marks after it): a Han ideograph or a kana (a letter, number or mark of
// those scripts; their radicals and other symbols separate words, as all
// symbols do). Chinese and Japanese are written without spaces, so their
// word-character runs are whole clauses, and a changed character or a space
// taken out beside a Latin name would change the clause's one "word"; one
// word a character keeps shingles as local as they are in spaced scripts
// (5 characters, the common shingle for CJK near-duplicate detection).
// Tokenizers that give words their spans in the original text (moderate's)
// split there too.
func IsRuneWord(r rune) bool {
	// 0x2e80, CJK Radicals Supplement, is the first rune of the three
	// scripts: most text never reaches the table lookups.
	return r >= 0x2e80 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) && IsWordRune(r)
}

// IsIgnorable reports an invisible format character (Unicode's Cf) other
// than the zero-width space: the soft hyphen ("Not\u00adfall" is "Notfall"
// with a hyphenation hint), the zero-width joiner and non-joiner, the
// bidirectional marks, the word joiner and the byte-order mark. The
// fingerprint form leaves them out, so they neither split a word nor make
// one copy of a line differ from another without them. The zero-width
// space marks a word break (in Thai and Khmer text it is the only one): it
// is a separator, as Unicode's word boundaries (UAX #29) read it.
func IsIgnorable(r rune) bool {
	return r >= 0xad && r != '\u200b' && unicode.Is(unicode.Cf, r)
}

// StripIgnorable returns s without its ignorable characters (IsIgnorable).
func StripIgnorable(s string) string {
	if !strings.ContainsFunc(s, IsIgnorable) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if IsIgnorable(r) {
			return -1
		}
		return r
	}, s)
}

// IsWordRune reports a rune of a word in the fingerprint form: a letter, a
// number (digit, letter-like or other), a mark or '_'. Tokenizers that must
// find the same words in the original text (moderate's) use it too.
func IsWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) ||
		unicode.Is(unicode.Nl, r) || unicode.Is(unicode.No, r)
}

// Normalize returns the fingerprint form of s. It allocates; hot paths use a
// Normalizer.
func Normalize(s string) string {
	return NewNormalizer().String(s)
}
