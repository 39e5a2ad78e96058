package dedupe

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text repeated inside one line. Some extractors put a whole page, or a
// whole paragraph with its image captions and link teasers, on one line, so
// a caption or a teaser printed twice, or a cookie notice shown twice, never
// makes a line of its own that the line rules could see repeat. Inside a kept
// line, a run of words that repeats an earlier run of the same line goes (as
// a cut of the line, Analysis.Cuts) when either
//
//   - it follows its earlier copy directly (no word between them but copies
//     cut before), has at least tandemMinWords words and is printed alike,
//     case and punctuation included: "Photo: David Zalubowski, STF /
//     Associated Press Photo: David Zalubowski, STF / Associated Press", a
//     teaser's headline twice. "...a violist that plays in tune? A violist
//     that plays in tune is a mirage." is a sentence taking up the words
//     before it, and stays; or
//   - it is two or more whole sentences, at least sentenceRepeatMinWords
//     words, that the line held earlier: a cookie notice or a newsletter
//     form's text shown twice on a page. One sentence found twice is, as
//     often as not, an article giving a quote twice or restating a heading
//     or a "Highlights" box, and stays.
//
// Shorter repeats are how people write ("3 anos, 3 anos, 3 anos…", "No, no,
// no."), and so is a run of few distinct words ("ha ha ha ha ha ha") or of
// numbers (a table's header of dates), which stays whatever its length: a
// run needs minDistinctWords different words with letters. The first copy
// always stays. A run and its first copy start and end on white space, so a
// URL written twice in one tag (`href="http://x">http://x`) stays.
const (
	tandemMinWords         = 6
	sentenceRepeatMinWords = 8
	minDistinctWords       = 4
)

// inLine holds the buffers the in-line search reuses between lines.
type inLine struct {
	norm   *Normalizer
	words  []uint64 // the line's word hashes, field by field
	field  []int32  // word -> index into fields
	fields []field
	grams  []uint64
	seen   fpTable // gram -> first word index
	sents  []Span  // the line's sentences, once a run needs them
}

// field is a run of non-space bytes and the words hashed from it.
type field struct {
	Span
	w0, w1 int32
	letter bool // the field holds a letter
}

// mayRepeat is the cheap test every long kept line takes: whether any
// tandemMinWords consecutive words of it (as hashed for the line) come
// twice. Only a line that passes is read again, field by field.
func (x *inLine) mayRepeat(words []uint64) bool {
	if len(words) < 2*tandemMinWords {
		return false
	}
	x.grams = Shingles(words, tandemMinWords, x.grams[:0])
	x.seen.reset()
	for _, g := range x.grams {
		if _, dup := x.seen.put(g, 0); dup {
			return true
		}
	}
	return false
}

// find appends to a.Cuts the runs of line l that repeat earlier text of the
// line, as the comment above says.
func (x *inLine) find(a *Analysis, l *Line) {
	if !x.mayRepeat(a.Words[l.W0:l.W1]) {
		return
	}
	x.split(a.Text, l.Span)
	n := len(x.words)
	if n < 2*tandemMinWords {
		return
	}
	x.grams = Shingles(x.words, tandemMinWords, x.grams[:0])
	x.seen.reset()
	x.sents = x.sents[:0]
	// cuts is the run of words that cuts removed ending with the latest
	// cut: a copy after it follows its source directly when the words
	// between them are all cut ("A A A", "A A A A" taken in longer runs).
	cuts := Span{-1, -1}
	for p := 0; p+tandemMinWords <= n; p++ {
		first, ok := x.seen.get(x.grams[p])
		if !ok {
			x.seen.put(x.grams[p], int32(p))
			continue
		}
		i := int(first)
		if i+tandemMinWords > p || !x.same(i, p, tandemMinWords) {
			continue // overlapping copies are a run of few words, or a hash collision
		}
		length := tandemMinWords
		for p+length < n && i+length < p && x.words[i+length] == x.words[p+length] {
			length++
		}
		adjacent := i+length == p || (cuts.End == p && cuts.Start <= i+length)
		if c, w, ok := x.cut(a, l, i, p, length, adjacent); ok {
			a.Cuts = append(a.Cuts, c)
			if cuts.End != w.Start {
				cuts.Start = w.Start
			}
			cuts.End = w.End
		}
		// The rest of the run repeats the rest of its source: a part of a
		// run that was not cut is no more a repeat to cut than the run (and
		// trying each would make a long one quadratic).
		p += length - 1
	}
}

// cut decides the run of words [p, p+length) that repeats [i, i+length),
// and returns the removal and the words it takes.
func (x *inLine) cut(a *Analysis, l *Line, i, p, length int, adjacent bool) (Removal, Span, bool) {
	c0, c1, ok := x.trim(p, p+length)
	if !ok {
		return Removal{}, Span{}, false
	}
	kind := KindSpan
	if !adjacent {
		// Not a copy that directly follows its source: whole sentences only.
		var sents int
		c0, c1, sents = x.sentences(a.Text, l.Span, c0, c1)
		if sents < 2 || c1-c0 < sentenceRepeatMinWords {
			return Removal{}, Span{}, false
		}
		kind = KindSentence
	} else if c1-c0 < tandemMinWords {
		return Removal{}, Span{}, false
	}
	if !x.distinct(c0, c1) {
		return Removal{}, Span{}, false
	}
	s0, s1 := i+(c0-p), i+(c1-p)
	if int(x.fields[x.field[s0]].w0) != s0 || int(x.fields[x.field[s1-1]].w1) != s1 {
		return Removal{}, Span{}, false // the first copy is glued to other text: no block printed twice
	}
	cut := Span{x.fields[x.field[c0]].Start, x.fields[x.field[c1-1]].End}
	ref := Span{x.fields[x.field[s0]].Start, x.fields[x.field[s1-1]].End}
	if kind == KindSpan && !printedAlike(a.Text[ref.Start:ref.End], a.Text[cut.Start:cut.End]) {
		return Removal{}, Span{}, false
	}
	return Removal{Span: cut, Kind: kind, Reason: ReasonExactRepeat, Similarity: 1, Ref: ref}, Span{c0, c1}, true
}

// split hashes the line field by field (runs between white space), so
// each word is known to lie in one field and runs can be cut at white space.
func (x *inLine) split(text string, line Span) {
	x.words, x.field, x.fields = x.words[:0], x.field[:0], x.fields[:0]
	s := text[line.Start:line.End]
	for i := 0; i < len(s); {
		for i < len(s) {
			r, size := rune(s[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(s[i:])
			}
			if !unicode.IsSpace(r) {
				break
			}
			i += size
		}
		start, letter := i, false
		for i < len(s) {
			r, size := rune(s[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(s[i:])
			}
			if unicode.IsSpace(r) {
				break
			}
			letter = letter || unicode.IsLetter(r)
			i += size
		}
		if i == start {
			break
		}
		w0 := len(x.words)
		x.words = x.norm.HashWords(x.words, s[start:i])
		if len(x.words) == w0 {
			continue // punctuation only
		}
		f := int32(len(x.fields))
		x.fields = append(x.fields, field{Span{line.Start + start, line.Start + i}, int32(w0), int32(len(x.words)), letter})
		for range len(x.words) - w0 {
			x.field = append(x.field, f)
		}
	}
}

func (x *inLine) same(i, p, n int) bool {
	for k := range n {
		if x.words[i+k] != x.words[p+k] {
			return false
		}
	}
	return true
}

// trim narrows the word range [w0, w1) to whole fields.
func (x *inLine) trim(w0, w1 int) (int, int, bool) {
	if f := x.fields[x.field[w0]]; int(f.w0) != w0 {
		w0 = int(f.w1)
	}
	if w1 > w0 {
		if f := x.fields[x.field[w1-1]]; int(f.w1) != w1 {
			w1 = int(f.w0)
		}
	}
	return w0, w1, w1 > w0
}

// sentences narrows the word range [w0, w1) to the whole sentences of the
// line it holds and counts them.
func (x *inLine) sentences(text string, line Span, w0, w1 int) (int, int, int) {
	if len(x.sents) == 0 {
		x.sents = Sentences(text, line, x.sents)
	}
	first, last := -1, -1
	for w0 < w1 {
		if first = x.sentenceAt(x.fields[x.field[w0]].Start, false); first >= 0 {
			break
		}
		w0 = int(x.fields[x.field[w0]].w1)
	}
	for w1 > w0 {
		if last = x.sentenceAt(x.fields[x.field[w1-1]].End, true); last >= 0 {
			break
		}
		w1 = int(x.fields[x.field[w1-1]].w0)
	}
	if w1 == w0 {
		return w0, w1, 0
	}
	return w0, w1, last - first + 1
}

// sentenceAt returns the index of the line's sentence that starts at off
// (with end, that ends at off), or -1. The sentences are in order and
// apart, so both their starts and their ends ascend.
func (x *inLine) sentenceAt(off int, end bool) int {
	i, ok := slices.BinarySearchFunc(x.sents, off, func(s Span, off int) int {
		if end {
			return s.End - off
		}
		return s.Start - off
	})
	if !ok {
		return -1
	}
	return i
}

// printedAlike reports whether two runs of text read the same, case and
// punctuation included, once entities are decoded, white space is made one
// space, invisible format characters are dropped (IsIgnorable: a soft
// hyphen) and curly quotes and dashes are made plain (an image's alt text
// and its link print a headline with different quotes): a block printed
// twice.
// A sentence that repeats the words of the one before it ("...and a violist
// that plays in tune? A violist that plays in tune is a mirage.") differs
// from it in case or punctuation.
func printedAlike(a, b string) bool {
	return printed(a) == printed(b)
}

var plainPunctuation = strings.NewReplacer("‘", "'", "’", "'", "“", `"`, "”", `"`, "–", "-", "—", "-")

func printed(s string) string {
	return plainPunctuation.Replace(strings.Join(strings.Fields(StripIgnorable(Tidy(s))), " "))
}

// distinct reports whether words [w0, w1) hold minDistinctWords different
// words with a letter in them: a run of a few words over and over, or of
// numbers (a table's header, "04/09/87 03/09/87  04/09/87 03/09/87"), is
// no text printed twice.
func (x *inLine) distinct(w0, w1 int) bool {
	var found [minDistinctWords]uint64
	n := 0
	for k, w := range x.words[w0:w1] {
		if !x.fields[x.field[w0+k]].letter {
			continue
		}
		seen := false
		for _, f := range found[:n] {
			seen = seen || f == w
		}
		if !seen {
			found[n] = w
			if n++; n == minDistinctWords {
				return true
			}
		}
	}
	return false
}
