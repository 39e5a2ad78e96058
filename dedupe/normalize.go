package dedupe

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// DecodeEntities decodes HTML character references, named and numeric
// (&nbsp; &#xa0; &amp; &#8217;). Text without '&' is returned as is.
func DecodeEntities(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	return html.UnescapeString(s)
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
		return strings.TrimRight(line, " \t\r")
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
	return strings.TrimRight(b.String(), " \t\r")
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

// Normalizer produces the fingerprint form of text: entities decoded, NFKC,
// case-folded, and reduced to its word-character runs (letters, digits, marks
// and '_') joined by single spaces. Quotes, dashes, bullets and all other
// punctuation become separators, so curly and straight quotes, the dash family
// and bullet glyphs all normalise alike. The fingerprint form is for hashing
// only; it is never shown as cleaned text.
//
// A Normalizer holds reusable buffers; it is not safe for concurrent use.
type Normalizer struct {
	fold cases.Caser
	buf  []byte
}

// NewNormalizer returns a Normalizer ready for use.
func NewNormalizer() *Normalizer {
	return &Normalizer{fold: cases.Fold()}
}

// Append appends the fingerprint form of s to dst, preceded by one space when
// dst is non-empty and does not already end in one, and returns the result.
// The result never ends in a space.
func (n *Normalizer) Append(dst []byte, s string) []byte {
	if strings.IndexByte(s, '&') >= 0 {
		s = html.UnescapeString(s)
	}
	pending := true
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(s); i++ {
			c := asciiClass[s[i]]
			if c == 0 {
				pending = true
				continue
			}
			if pending && len(dst) > 0 && dst[len(dst)-1] != ' ' {
				dst = append(dst, ' ')
			}
			pending = false
			dst = append(dst, c)
		}
		return trimSpace(dst)
	}
	s = n.foldNFKC(s)
	for _, r := range s {
		if r < utf8.RuneSelf {
			c := asciiClass[r]
			if c == 0 {
				pending = true
				continue
			}
			if pending && len(dst) > 0 && dst[len(dst)-1] != ' ' {
				dst = append(dst, ' ')
			}
			pending = false
			dst = append(dst, c)
			continue
		}
		if !isWordRune(r) {
			pending = true
			continue
		}
		if pending && len(dst) > 0 && dst[len(dst)-1] != ' ' {
			dst = append(dst, ' ')
		}
		pending = false
		dst = utf8.AppendRune(dst, r)
	}
	return trimSpace(dst)
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
	s = n.fold.String(s)
	// Folding can produce sequences that are no longer NFKC (e.g. "ß" -> "ss"
	// is fine, but some compatibility characters fold into decomposable
	// forms); a second pass keeps Append idempotent.
	if !norm.NFKC.IsNormalString(s) {
		s = norm.NFKC.String(s)
	}
	return s
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) ||
		unicode.Is(unicode.Nl, r) || unicode.Is(unicode.No, r)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// Normalize returns the fingerprint form of s. It allocates; hot paths use a
// Normalizer.
func Normalize(s string) string {
	return NewNormalizer().String(s)
}
