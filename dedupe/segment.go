package dedupe

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Span is a half-open byte range [Start, End) into a document's original
// UTF-8 text.
type Span struct {
	Start, End int
}

// Len returns the span's length in bytes.
func (s Span) Len() int { return s.End - s.Start }

// Kind says what a block is.
type Kind uint8

// Block kinds. A document is split into lines; runs of non-blank lines form
// paragraphs; a line that starts with a bullet or list number is a list item.
// Sentences are cut inside a line on demand (see Sentences); a span is a run
// of words inside a line (see inline.go).
const (
	KindLine Kind = iota
	KindListItem
	KindParagraph
	KindSentence
	KindSpan
)

var kindNames = [...]string{"line", "list_item", "paragraph", "sentence", "span"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Block is one segment of a document.
type Block struct {
	Span
	Kind Kind
	// First and Last are the indices of the first and last line the block
	// covers (equal for a line).
	First, Last int
}

// Segment splits text into blocks and appends them to dst: first every line
// (ended by '\n', or by a '\r' no '\n' follows, as in classic Mac text; a
// line's span excludes its terminator, but keeps the '\r' of a "\r\n",
// white space to everything that reads it), in order, then every paragraph
// of two or more lines. Blank lines (white space only) are lines
// too, so line i of the result is line i of the text. Segment never fails:
// any byte string, valid UTF-8 or not, segments.
func Segment(text string, dst []Block) []Block {
	// Room for every line and the most paragraphs they can make (a
	// paragraph takes two lines and a blank one between it and the next):
	// appending one by one to a growing slice left several times its final
	// size behind as garbage, on a text of a million short lines hundreds
	// of megabytes.
	cr := strings.IndexByte(text, '\r') >= 0
	lines := strings.Count(text, "\n") + 1
	if cr {
		lines += strings.Count(text, "\r")
	}
	dst = slices.Grow(dst, lines+(lines+1)/3)
	start := len(dst)
	off := 0
	for i := 0; ; i++ {
		end, next := lineEnd(text, off, cr)
		k := KindLine
		if IsListItem(text[off:end]) {
			k = KindListItem
		}
		dst = append(dst, Block{Span: Span{off, end}, Kind: k, First: i, Last: i})
		if next < 0 {
			break
		}
		off = next
	}
	ls := dst[start:]
	for i := 0; i < len(ls); {
		if IsBlank(text[ls[i].Start:ls[i].End]) {
			i++
			continue
		}
		j := i
		for j+1 < len(ls) && !IsBlank(text[ls[j+1].Start:ls[j+1].End]) {
			j++
		}
		if j > i {
			dst = append(dst, Block{Span: Span{ls[i].Start, ls[j].End}, Kind: KindParagraph, First: i, Last: j})
		}
		i = j + 1
	}
	return dst
}

// FirstLine splits text after its first line as Segment ends lines:
// the line without its terminator, and what follows it.
func FirstLine(text string) (line, rest string) {
	end, next := lineEnd(text, 0, strings.IndexByte(text, '\r') >= 0)
	if next < 0 {
		return text, ""
	}
	return text[:end], text[next:]
}

// lineEnd returns where the line that starts at off ends and where the
// next one starts (-1: none). Only a text holding a '\r' (cr) is read a
// byte at a time, for the '\r' that ends a line.
func lineEnd(text string, off int, cr bool) (end, next int) {
	if !cr {
		j := strings.IndexByte(text[off:], '\n')
		if j < 0 {
			return len(text), -1
		}
		return off + j, off + j + 1
	}
	for i := off; i < len(text); i++ {
		switch text[i] {
		case '\n':
			return i, i + 1
		case '\r':
			if i+1 == len(text) || text[i+1] != '\n' {
				return i, i + 1
			}
		}
	}
	return len(text), -1
}

// IsBlank reports whether s holds only white space (including NBSP and the
// other Unicode spaces).
func IsBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' {
			continue
		}
		if c < utf8.RuneSelf {
			return false
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) && r != '\u200b' && r != '\ufeff' {
			return false
		}
		i += size - 1
	}
	return true
}

// bullets are the glyphs that open a list item.
const bullets = "•·●○◦▪▫■□►▸‣⁃-*–—+"

// IsListItem reports whether a line opens with a bullet glyph or a list number
// ("1." or "2)") followed by white space.
func IsListItem(line string) bool {
	s := strings.TrimLeft(line, " \t\u00a0")
	if s == "" {
		return false
	}
	r, size := utf8.DecodeRuneInString(s)
	if strings.ContainsRune(bullets, r) {
		return len(s) > size && (s[size] == ' ' || s[size] == '\t' || strings.HasPrefix(s[size:], "\u00a0"))
	}
	n := 0
	for n < len(s) && n < 3 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n > 0 && n+1 < len(s) && (s[n] == '.' || s[n] == ')') && s[n+1] == ' '
}

// Sentences appends to dst the sentence spans of text[span.Start:span.End],
// as offsets into text. A sentence ends after '.', '!', '?' or '…' (and any
// closing quotes or brackets) when white space or an upper-case letter
// follows; abbreviations of one letter ("U.S.") and decimal numbers do not end
// a sentence. Leading white space is not part of a sentence.
func Sentences(text string, span Span, dst []Span) []Span {
	s := text[span.Start:span.End]
	begin := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r != '.' && r != '!' && r != '?' && r != '…' {
			continue
		}
		end := i
		for end < len(s) {
			q, qs := utf8.DecodeRuneInString(s[end:])
			if !strings.ContainsRune(`"')]”’»`, q) && q != '.' && q != '!' && q != '?' {
				break
			}
			end += qs
		}
		if end >= len(s) {
			break
		}
		next, _ := utf8.DecodeRuneInString(s[end:])
		if !unicode.IsSpace(next) && !unicode.IsUpper(next) && next != '"' && next != '“' {
			continue
		}
		if r == '.' && (singleLetterBefore(s[:i-1]) || abbreviationBefore(s[:i-1]) || listNumberBefore(s[begin:i-1])) {
			continue
		}
		dst = appendTrimmed(dst, s, begin, end, span.Start)
		begin = end
		i = end
	}
	return appendTrimmed(dst, s, begin, len(s), span.Start)
}

func singleLetterBefore(s string) bool {
	r, size := utf8.DecodeLastRuneInString(s)
	if !unicode.IsLetter(r) {
		return false
	}
	prev, _ := utf8.DecodeLastRuneInString(s[:len(s)-size])
	return len(s) == size || !unicode.IsLetter(prev)
}

// abbreviations whose period does not end a sentence.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "st": true, "jr": true, "sr": true,
	"prof": true, "inc": true, "ltd": true, "co": true, "corp": true, "vs": true, "etc": true,
	"no": true, "gen": true, "gov": true, "sen": true, "rep": true, "mt": true, "ft": true,
}

func abbreviationBefore(s string) bool {
	i := len(s)
	for i > 0 && (s[i-1] >= 'a' && s[i-1] <= 'z' || s[i-1] >= 'A' && s[i-1] <= 'Z') {
		i--
	}
	if i == len(s) || len(s)-i > 4 || (i > 0 && s[i-1] != ' ' && s[i-1] != '(' && s[i-1] != '"') {
		return false
	}
	return abbreviations[strings.ToLower(s[i:])]
}

// listNumberBefore reports whether a sentence so far is only a list number
// ("1", "12") and white space.
func listNumberBefore(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func appendTrimmed(dst []Span, s string, begin, end, base int) []Span {
	for begin < end {
		r, size := utf8.DecodeRuneInString(s[begin:end])
		if !unicode.IsSpace(r) {
			break
		}
		begin += size
	}
	for end > begin {
		r, size := utf8.DecodeLastRuneInString(s[begin:end])
		if !unicode.IsSpace(r) {
			break
		}
		end -= size
	}
	if end > begin {
		dst = append(dst, Span{base + begin, base + end})
	}
	return dst
}
