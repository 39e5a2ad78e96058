package dedupe

import (
	"slices"
	"strings"
)

// QuotedLines marks the lines of a mail that quote another message: lines
// opening with '>' (or a short attribution prefix such as "SL>"), and
// everything from an "-----Original Message-----" header or a "... wrote:"
// line that introduces quoted lines. A reply is judged on what it adds, so
// these lines are left out of its similarity to other documents and matched
// as whole passages against earlier ones.
func QuotedLines(a *Analysis, dst []bool) []bool {
	dst = slices.Grow(dst[:0], len(a.Lines))[:len(a.Lines)]
	clear(dst)
	for i := range a.Lines {
		s := a.Text[a.Lines[i].Start:a.Lines[i].End]
		t := strings.TrimLeft(s, " \t")
		switch {
		case isQuoteMarker(t):
			dst[i] = true
		case strings.HasPrefix(t, "-----") && (strings.Contains(t, "-----Original Message-----") ||
			strings.HasPrefix(t, "-----Forwarded message") || strings.HasPrefix(t, "---------- Forwarded message")):
			for j := i; j < len(dst); j++ {
				dst[j] = true
			}
			return dst
		case strings.HasSuffix(trimRightSpace(t), "wrote:") && i+1 < len(a.Lines) && nextQuoted(a, i+1):
			dst[i] = true
		}
	}
	return dst
}

func nextQuoted(a *Analysis, i int) bool {
	for ; i < len(a.Lines); i++ {
		t := strings.TrimLeft(a.Text[a.Lines[i].Start:a.Lines[i].End], " \t")
		if t == "" {
			continue
		}
		return isQuoteMarker(t)
	}
	return false
}

// isQuoteMarker reports '>' or up to four letters then '>' at the start.
func isQuoteMarker(t string) bool {
	for i := 0; i < len(t) && i <= 4; i++ {
		c := t[i]
		if c == '>' {
			return true
		}
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return false
}

// quotePrefixLen is the length of a quoted line's marker ("> > ", "SL> ").
func quotePrefixLen(s string) int {
	i := 0
	for {
		j := i
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		k := j
		for k < len(s) && k-j < 4 && (s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z') {
			k++
		}
		if k < len(s) && s[k] == '>' {
			i = k + 1
			continue
		}
		return i
	}
}
