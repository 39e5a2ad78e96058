package dedupe

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// QuotedLines marks the lines of a mail that quote another message: lines
// opening with '>' (or a short attribution prefix such as "SL>"), a "...
// wrote:" line that introduces such lines or a run marked by another quote
// mark (see otherQuoteMarks), and a quoted message under an
// "-----Original Message-----" header (see isQuoteHeader). Under a header
// the header and its fields (From:, Sent:, …) are quoted, then the
// original up to a rule line (where a mailing list's trailer starts) or
// the end, unless the reply wrote nothing above the header (past its first
// line, a subject) and the original is '>'-marked: then the marks say what
// is quoted, and the reply follows below. A reply is judged on what it
// adds, so these lines are left out of its similarity to other documents;
// '>' runs are matched as whole passages against earlier ones, the rest
// loses only exact repeats (see Cross.repeats).
func QuotedLines(a *Analysis, dst []bool) []bool {
	dst = slices.Grow(dst[:0], len(a.Lines))[:len(a.Lines)]
	clear(dst)
	const (
		none     = iota
		fields   // the header's fields
		original // an unmarked original
	)
	under := none
	above := false // a reply's own line before the header (past the first)
	topPost := false
	mark := "" // another quote mark an attribution introduced, while its run lasts
	for i := range a.Lines {
		t := indentless(a, i)
		if mark != "" && trimRightSpace(t) != "" && !strings.HasPrefix(t, mark) {
			mark = ""
		}
		switch {
		case isQuoteHeader(t):
			under, topPost = fields, above
		case under != none && isRule(t):
			under = none
		case under == fields && !isBlankOrField(t):
			under = original
			if isQuoteMarker(t) && !topPost {
				under = none
			}
		}
		next, nextMark := "", "" // what an attribution introduces, and its other mark
		if strings.HasSuffix(trimRightSpace(t), "wrote:") {
			next = nextNonBlank(a, i+1)
			nextMark = otherMark(next)
		}
		switch {
		case under != none || isQuoteMarker(t) || (mark != "" && strings.HasPrefix(t, mark)):
			dst[i] = true
		case isQuoteMarker(next):
			dst[i] = true
		case nextMark != "":
			dst[i], mark = true, nextMark
		default:
			above = above || (i > 0 && trimRightSpace(t) != "")
		}
	}
	return dst
}

// indentless returns line i's text without its leading spaces and tabs.
func indentless(a *Analysis, i int) string {
	return strings.TrimLeft(a.Text[a.Lines[i].Start:a.Lines[i].End], " \t")
}

// isBlankOrField reports a blank line or a mail header field ("From: …",
// "Reply-To: …").
func isBlankOrField(t string) bool {
	t = trimRightSpace(t)
	if t == "" {
		return true
	}
	for i := 0; i < len(t) && i < 20; i++ {
		c := t[i]
		switch {
		case c == ':':
			return i > 0
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-':
		default:
			return false
		}
	}
	return false
}

// isRule reports a line opening with a rule of at least ten '-', '_' or
// '=' ("------------------------ Yahoo! Groups Sponsor", "_______").
func isRule(t string) bool {
	if len(t) < 10 || !strings.ContainsRune("-_=", rune(t[0])) {
		return false
	}
	for i := 1; i < 10; i++ {
		if t[i] != t[0] {
			return false
		}
	}
	return true
}

// isQuoteHeader reports a line that opens a quoted or forwarded message:
// "-----Original Message-----" (Outlook), "----- Original Message -----"
// (Outlook Express), "---------- Forwarded message ---------" (Gmail),
// "----- Forwarded message from … -----" (mutt).
func isQuoteHeader(t string) bool {
	if !strings.HasPrefix(t, "-----") {
		return false
	}
	s := strings.TrimLeft(t, "- ")
	hasPrefixFold := func(p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }
	return hasPrefixFold("Original Message") || hasPrefixFold("Forwarded message")
}

// otherQuoteMarks quote a message in some mailers instead of '>'. A line
// opening with one is taken for a quote only in a run that a "... wrote:"
// line introduces: alone, '|' opens table rows and ')' smileys.
var otherQuoteMarks = []string{"|", ")", "--]"}

// nextNonBlank returns the first non-blank line from i without its indent,
// or "" when there is none.
func nextNonBlank(a *Analysis, i int) string {
	for ; i < len(a.Lines); i++ {
		if t := indentless(a, i); trimRightSpace(t) != "" {
			return t
		}
	}
	return ""
}

// otherMark returns the other quote mark (see otherQuoteMarks) that t opens
// with, or "".
func otherMark(t string) string {
	for _, m := range otherQuoteMarks {
		if strings.HasPrefix(t, m) {
			return m
		}
	}
	return ""
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

// closingLines bounds the closing zone of a mail (see ClosingStart).
const closingLines = 20

// ClosingStart returns the first line of a mail's closing zone: from the
// earliest signature delimiter ("-- ") or rule line (where a list's trailer
// starts) among its last closingLines lines, to the end; len(a.Lines) when
// there is none. A rule no longer than the line above it underlines a
// heading and opens nothing. Signatures and trailers repeat across a
// sender's or a list's mails, so they are left out of a document's own
// text.
func ClosingStart(a *Analysis) int {
	line := func(i int) string {
		return trimRightSpace(indentless(a, i))
	}
	start := len(a.Lines)
	for i := len(a.Lines) - 1; i >= 0 && i >= len(a.Lines)-closingLines; i-- {
		t := line(i)
		if t == "--" || (isRule(t) && !(i > 0 && len(t) <= utf8.RuneCountInString(line(i-1))+3)) {
			start = i
		}
	}
	return start
}
