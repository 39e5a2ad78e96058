package evaluate

import (
	"html"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// normLine is EVALUATION.md's matching form of a line: entities decoded,
// NFKC, case-folded, '•' and '·' as spaces, the \w+ runs (Python's Unicode
// word characters: letters, digits, numerics, '_') joined by one space.
func normLine(s string) string {
	if strings.IndexByte(s, '&') >= 0 {
		s = html.UnescapeString(s)
	}
	s = norm.NFKC.String(s)
	s = cases.Fold().String(s)
	var b strings.Builder
	inWord := false
	for _, r := range s {
		if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) {
			if !inWord && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			inWord = true
			continue
		}
		inWord = false
	}
	return b.String()
}

// wordSet returns the distinct words of a normalised line.
func wordSet(s string) map[string]struct{} {
	m := map[string]struct{}{}
	for _, w := range strings.Fields(s) {
		m[w] = struct{}{}
	}
	return m
}

func jaccardWords(a, b map[string]struct{}) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	inter := 0
	for w := range a {
		if _, ok := b[w]; ok {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
