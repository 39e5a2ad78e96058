package moderate

import (
	"cmp"
	"math/bits"
	"regexp"
	"slices"
	"strings"

	"github.com/winnow-dev/winnow/dedupe"
)

// PII kinds, used in rule ids ("pii.email").
const (
	PIIEmail = "email"
	PIIPhone = "phone"
	PIICard  = "card"
)

var (
	// emailRe is what emailAround matches (the tests hold them equal): a
	// local part of at most 64 bytes, as RFC 5321 allows.
	emailRe = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}`)
	// Obfuscated: "jane [at] example [dot] com", "jane(at)example.com",
	// "jane at example dot com". A bare " at " needs a " dot " to count.
	obfuscatedRe = regexp.MustCompile(`(?i)\b[a-z0-9][a-z0-9._%+-]*\s*(?:(?:\[|\(|\{|<)\s*at\s*(?:\]|\)|\}|>)\s*[a-z0-9-]+(?:\s*(?:(?:\[|\(|\{|<)\s*dot\s*(?:\]|\)|\}|>)|\.)\s*[a-z0-9-]+)*\s*(?:(?:\[|\(|\{|<)\s*dot\s*(?:\]|\)|\}|>)|\.)\s*[a-z]{2,}|\s+at\s+[a-z0-9-]+(?:\s+dot\s+[a-z0-9-]+)*\s+dot\s+[a-z]{2,})\b`)
	// phoneRe: after a "+" country code the first group may be one digit
	// (+33 1 23 45 67 89, +61 2 9876 5432), elsewhere two to four.
	phoneRe = regexp.MustCompile(`(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}|(?:\(\d{2,4}\)[\s.-]?)?\d{2,4})(?:[\s.-]\d{2,5}){1,4}`)
	cardRe  = regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`)
)

// piiFinding is one personal-data match in a line.
type piiFinding struct {
	kind string
	span dedupe.Span
}

// emailAround matches an address around the '@' at s[at] without an
// expression: a local part of [A-Za-z0-9._%+-] (at most 64, not starting
// with a dot, not before lo) and a domain of dot-separated labels of
// letters, digits and inner hyphens ending in a TLD of 2+ letters. It is
// emailRe, written out, since mail carries an '@' on most header and
// signature lines.
func emailAround(s string, at, lo int) (start, end int, ok bool) {
	start = at
	for start > lo && at-start < 64 && isLocal(s[start-1]) {
		start--
	}
	for start < at && !isAlnum(s[start]) { // local part starts alphanumeric
		start++
	}
	if start == at {
		return 0, 0, false
	}
	// Domain labels: letters, digits and inner hyphens, dot-separated.
	end = at + 1
	var dots []int
	for {
		ls := end
		for end < len(s) && (isAlnum(s[end]) || s[end] == '-') {
			end++
		}
		if end == ls || s[ls] == '-' {
			end = ls
			break
		}
		for end > ls && s[end-1] == '-' {
			end--
		}
		if end < len(s) && s[end] == '.' && end+1 < len(s) && isAlnum(s[end+1]) {
			dots = append(dots, end)
			end++
			continue
		}
		break
	}
	// Like the expression, end after the last dot whose label starts with
	// two or more letters, at the end of those letters.
	for i := len(dots) - 1; i >= 0; i-- {
		n := dots[i] + 1
		for n < len(s) && (s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z') {
			n++
		}
		if n-dots[i]-1 >= 2 && s[at+1] != '-' {
			return start, n, true
		}
	}
	return 0, 0, false
}

// isScaledImage reports whether the domain of an address-shaped match is
// an image's density suffix and extension ("2x.png" of logo@2x.png,
// "1.5x.webp"): the name of a picture for high-density screens, not mail.
// None of the extensions is a top-level domain.
func isScaledImage(domain string) bool {
	i := strings.IndexByte(domain, 'x')
	if i <= 0 || strings.Trim(domain[:i], "0123456789.") != "" || !isDigit(domain[0]) {
		return false
	}
	switch strings.ToLower(domain[i+1:]) {
	case ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg":
		return true
	}
	return false
}

func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// Hashes of the words an obfuscated address is spelled with.
var atWord, dotWord = wordHash("at"), wordHash("dot")

func wordHash(w string) uint64 {
	h := dedupe.NewNormalizer().HashWords(nil, w)
	return h[0]
}

// pii finds e-mail addresses, phone numbers and payment cards in
// text[span]; sig, when known, says whether the words "at" and "dot" occur.
// Cheap tests decide which expressions run at all.
func pii(text string, span dedupe.Span, sig *lineSignals, dst []piiFinding) []piiFinding {
	s := text[span.Start:span.End]
	first := len(dst) // dst[first:] are this line's findings
	add := func(kind string, locs [][]int) {
		for _, l := range locs {
			dst = append(dst, piiFinding{kind: kind, span: dedupe.Span{Start: span.Start + l[0], End: span.Start + l[1]}})
		}
	}
	var digitCount int
	var hasAt bool
	if sig != nil {
		digitCount, hasAt = sig.digits, sig.hasAt
	} else {
		digitCount, hasAt = countDigitsAt(s)
	}
	// Each '@' is matched around it, so a long line costs its '@'s, not
	// its length.
	for off := 0; hasAt; {
		j := strings.IndexByte(s[off:], '@')
		if j < 0 {
			break
		}
		at := off + j
		if start, end, ok := emailAround(s, at, off); ok {
			if !isScaledImage(s[at+1 : end]) {
				add(PIIEmail, [][]int{{start, end}})
			}
			off = end
		} else {
			off = at + 1
		}
	}
	if mayBeObfuscated(s, sig) {
		add(PIIEmail, obfuscatedRe.FindAllStringIndex(s, -1))
	}
	digits := 0
	if digitCount >= 10 { // most lines stop here, after a word-at-a-time count
		digits = longestDigitRun(s)
	}
	if digits >= 13 {
		for _, l := range cardRe.FindAllStringIndex(s, -1) {
			if isCard(s[l[0]:l[1]]) {
				dst = append(dst, piiFinding{kind: PIICard, span: dedupe.Span{Start: span.Start + l[0], End: span.Start + l[1]}})
			}
		}
	}
	if digits >= 10 {
		// A phone number inside an address or a card number is neither.
		// The phone matches come left to right, so one pass over the
		// earlier findings' spans, merged and in order, finds the overlaps.
		taken, k := mergedSpans(dst[first:]), 0
		for _, l := range phoneRe.FindAllStringIndex(s, -1) {
			start, end := span.Start+l[0], span.Start+l[1]
			for k < len(taken) && taken[k].End <= start {
				k++
			}
			if isPhone(s, l[0], l[1]) && (k == len(taken) || taken[k].Start >= end) {
				dst = append(dst, piiFinding{kind: PIIPhone, span: dedupe.Span{Start: start, End: end}})
			}
		}
	}
	return dst
}

// mergedSpans returns the union of the findings' spans as disjoint spans
// in order (nil for none).
func mergedSpans(fs []piiFinding) []dedupe.Span {
	if len(fs) == 0 {
		return nil
	}
	spans := make([]dedupe.Span, len(fs))
	for i, f := range fs {
		spans[i] = f.span
	}
	slices.SortFunc(spans, func(a, b dedupe.Span) int { return cmp.Compare(a.Start, b.Start) })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		if last := &merged[len(merged)-1]; sp.Start < last.End {
			last.End = max(last.End, sp.End)
		} else {
			merged = append(merged, sp)
		}
	}
	return merged
}

// isPhone accepts 10 to 15 digits in at least two groups, not glued to
// other digits or letters (nor is the run of digits and dots it stops
// inside: "V6.00.2600.0000"), and not a date or a decimal number,
// nor one that runs into a time ("2002-10-03 13:57").
// Where a dot parts two groups, dots part them all (555.123.4567, +1
// 949.833.2800), so a row of prices ("239.10 231.10", "420.00-423.00") is
// no phone number.
func isPhone(s string, start, end int) bool {
	a, b, ok := digitDotRun(s, start, end)
	if (start > 0 && isAlnum(s[start-1])) || (end < len(s) && isAlnum(s[end])) ||
		!ok || a > 0 && isAlnum(s[a-1]) || b < len(s) && isAlnum(s[b]) || // a run glued to a letter
		end+1 < len(s) && s[end] == ':' && isDigit(s[end+1]) {
		return false
	}
	m := s[start:end]
	digits := 0
	for i := 0; i < len(m); i++ {
		if m[i] >= '0' && m[i] <= '9' {
			digits++
		}
	}
	if digits < 10 || digits > 15 {
		return false
	}
	if !strings.Contains(m, ".") {
		return true
	}
	return strings.Count(m, ".") >= 2 && onlyDots(m) && !isIPv4(s[a:b])
}

// digitDotRun widens s[start:end] to the run of digits and dots around it,
// reading at most 16 bytes either way (a dotted-quad address and its full
// stop); ok is false when the run goes on beyond that, longer than a phone
// number's. A dash parts a label from a number ("Fax-253-660-3853") and is
// no part of the run.
func digitDotRun(s string, start, end int) (a, b int, ok bool) {
	const most = len("255.255.255.255.")
	inRun := func(c byte) bool { return c == '.' || isDigit(c) }
	for n := 0; start > 0 && inRun(s[start-1]); n++ {
		if n == most {
			return 0, 0, false
		}
		start--
	}
	for n := 0; end < len(s) && inRun(s[end]); n++ {
		if n == most {
			return 0, 0, false
		}
		end++
	}
	return start, end, true
}

// onlyDots reports whether every separator between two digits of m is a
// dot, the one after a "+" country code aside.
func onlyDots(m string) bool {
	i := 1
	if strings.HasPrefix(m, "+") {
		for i < len(m) && isDigit(m[i]) {
			i++
		}
		i++ // the country code's separator
	}
	for ; i+1 < len(m); i++ {
		if m[i] != '.' && !isDigit(m[i]) && isDigit(m[i-1]) && isDigit(m[i+1]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIPv4 reports whether run, digits and dots, is a dotted-quad address
// (four numbers of at most 255, as in a mail's Received line or
// http://211.78.96.11/): twelve digits in four groups read as a phone
// number otherwise. A dot that ends the sentence is not part of the
// address.
func isIPv4(run string) bool {
	run = strings.TrimSuffix(run, ".")
	parts, n, digits := 0, 0, 0 // n: the number read so far, of digits
	for i := 0; i <= len(run); i++ {
		if i == len(run) || run[i] == '.' {
			if digits == 0 {
				return false
			}
			parts, n, digits = parts+1, 0, 0
			continue
		}
		n, digits = n*10+int(run[i]-'0'), digits+1
		if n > 255 || digits > 3 {
			return false
		}
	}
	return parts == 4
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isCard reports a 13-19 digit number with a card network's prefix that
// passes the Luhn check.
func isCard(s string) bool {
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i]-'0')
		}
	}
	if len(d) < 13 || len(d) > 19 || !cardPrefix(d) {
		return false
	}
	return luhn(d)
}

func cardPrefix(d []byte) bool {
	p2 := int(d[0])*10 + int(d[1])
	p4 := p2*100 + int(d[2])*10 + int(d[3])
	switch {
	case d[0] == 4: // Visa
		return true
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return len(d) == 16
	case p2 == 34 || p2 == 37: // Amex
		return len(d) == 15
	case p4 == 6011 || p2 == 65 || (p4 >= 6440 && p4 <= 6499): // Discover
		return true
	case p2 == 35: // JCB
		return true
	case p2 == 36 || p2 == 38 || (p4 >= 3000 && p4 <= 3059): // Diners
		return true
	}
	return false
}

// luhn is the mod-10 check of payment card numbers.
func luhn(d []byte) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i])
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// mayBeObfuscated is the cheap test before the obfuscated-address
// expression: the word "at", and either "dot" or a bracket that could hold
// the "at".
func mayBeObfuscated(s string, sig *lineSignals) bool {
	if sig != nil {
		if !sig.at {
			return false
		}
		if sig.dot {
			return true
		}
	}
	for _, b := range []byte("[({<") {
		for off := 0; ; {
			i := strings.IndexByte(s[off:], b)
			if i < 0 {
				break
			}
			off += i + 1
			j := off
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j+1 < len(s) && s[j]|0x20 == 'a' && s[j+1]|0x20 == 't' {
				return true
			}
		}
	}
	return strings.Contains(s, " dot ") || strings.Contains(s, " DOT ") || strings.Contains(s, " Dot ")
}

// countDigitsAt counts ASCII digits eight bytes at a time (SWAR) and
// reports an '@': a byte is a digit when adding 0x50 sets its high bit
// (>= '0') and adding 0x46 does not (<= '9'), and its own high bit is
// clear; a byte equal to '@' is one whose XOR with '@' is zero. Used when
// a line's counts did not come from normalisation.
func countDigitsAt(s string) (int, bool) {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	n, i, at := 0, 0, uint64(0)
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		low := x &^ high // high bits cleared so the additions cannot carry across bytes
		ge0 := low + (0x80-'0')*ones
		gt9 := low + (0x80-'9'-1)*ones
		n += bits.OnesCount64(ge0 &^ gt9 &^ x & high)
		y := x ^ '@'*ones
		at |= (y - ones) &^ y & high
	}
	for ; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
		if s[i] == '@' {
			at = 1
		}
	}
	return n, at != 0
}

// longestDigitRun returns the most digits in one run of characters a phone
// or card number is written with (digits, spaces, '-', '.', '(', ')', '+'):
// the cheap test before any expression runs.
// Two separators in a row at most, never two spaces: numbers in a table
// are not one phone number.
func longestDigitRun(s string) int {
	best, cur, seps := 0, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			cur++
			seps = 0
			best = max(best, cur)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+' || c == '/':
			seps++
			if seps > 2 || (c == ' ' && i > 0 && s[i-1] == ' ') {
				cur, seps = 0, 0
			}
		default:
			cur, seps = 0, 0
		}
	}
	return best
}

// maskPII hides a matched value in evidence: the kind and the length.
func maskPII(kind string, s string) string {
	return "[" + kind + ", " + itoa(len(s)) + " bytes]"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
