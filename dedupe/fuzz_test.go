package dedupe

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"", "\n", "a\nb\n", "China illustration\nChina illustration",
	"Beijing&#xa0; - Reuters\nBeijing - Reuters", "“quoted” – dash\u00a0nbsp", "\xff\xfe bad utf8 &amp;",
	"  • bullet\n1. item\n\n\npara one\npara two\n\npara one\npara two", "Ｆｕｌｌ ﬁ ² İ ß ς", "&#0; &#xD800; &#x110000;",
	"アプリKindle for PCの起動、中文字符　ｶﾀｶﾅー ㍿㈱ 한국어",
	"Photo: A B, STF / Associated&#xa0;Press Photo: A B, STF / Associated Press Photo: A B, STF / Associated Press x",
	"One two three four. Five six seven eight. Nine. One two three four. Five six seven eight. End",
}

func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NewNormalizer()
		got := n.String(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 from %q: %q", s, got)
		}
		if again := n.String(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
		if NewNormalizer().String(s) != got {
			t.Fatal("not deterministic")
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("untidy spacing: %q", got)
		}
		// Tidy decodes entities once (decoding twice would corrupt "&amp;lt;"),
		// so its invariant is clean output, not idempotence.
		tidy := Tidy(s)
		if !utf8.ValidString(tidy) || strings.HasSuffix(tidy, " ") {
			t.Fatalf("Tidy(%q) = %q: invalid UTF-8 or trailing space", s, tidy)
		}
		for _, r := range tidy {
			if r != '\t' && (r < ' ' || r == 0x7f) {
				t.Fatalf("Tidy(%q) = %q keeps control %U", s, tidy, r)
			}
		}
	})
}

func FuzzSegment(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	for _, s := range []string{"mac\rtext\r", "a\r\r\nb\r\n\r", "\r\n\r\r\n\n\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		blocks := Segment(s, nil)
		// The lines: split at '\n', then at each '\r' but the one of a
		// "\r\n", which stays in its line.
		var lines []string
		parts := strings.Split(s, "\n")
		for pi, part := range parts {
			crlf := pi < len(parts)-1 && strings.HasSuffix(part, "\r")
			if crlf {
				part = part[:len(part)-1]
			}
			sub := strings.Split(part, "\r")
			if crlf {
				sub[len(sub)-1] += "\r"
			}
			lines = append(lines, sub...)
		}
		i := 0
		for _, b := range blocks {
			if b.Start < 0 || b.End > len(s) || b.Start > b.End {
				t.Fatalf("block %+v outside text of %d bytes", b, len(s))
			}
			if b.Kind == KindParagraph {
				continue
			}
			if s[b.Start:b.End] != lines[i] {
				t.Fatalf("line %d: %q, want %q", i, s[b.Start:b.End], lines[i])
			}
			for _, sp := range Sentences(s, b.Span, nil) {
				if sp.Start < b.Start || sp.End > b.End || sp.Start >= sp.End {
					t.Fatalf("sentence %+v outside line %+v", sp, b.Span)
				}
			}
			i++
		}
		if i != len(lines) {
			t.Fatalf("%d lines, want %d", i, len(lines))
		}
	})
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, _ := NewCleaner(DefaultOptions())
		var a, b Analysis
		c.Analyze(s, &a)
		c.Analyze(s, &b)
		if len(a.Removals) != len(b.Removals) {
			t.Fatal("not deterministic")
		}
		for i, r := range a.Removals {
			if r != b.Removals[i] {
				t.Fatal("not deterministic")
			}
			if r.Ref.Start >= r.Start {
				t.Fatalf("removal %+v refers to a later block", r)
			}
		}
		// In-line cuts lie in kept lines, in order, each after the text it
		// repeats, which has its words.
		if len(a.Cuts) != len(b.Cuts) {
			t.Fatal("not deterministic")
		}
		end, line := 0, 0
		for i, r := range a.Cuts {
			if r != b.Cuts[i] {
				t.Fatal("not deterministic")
			}
			for line < len(a.Lines) && a.Lines[line].End < r.End {
				line++
			}
			if r.Start < end || line == len(a.Lines) || r.Start < a.Lines[line].Start || !a.Kept(line) {
				t.Fatalf("cut %+v out of order or not in one kept line", r)
			}
			if r.Ref.End > r.Start || r.Ref.Start < a.Lines[line].Start || Normalize(s[r.Ref.Start:r.Ref.End]) != Normalize(s[r.Start:r.End]) {
				t.Fatalf("cut %q does not repeat %q before it in its line", s[r.Start:r.End], s[r.Ref.Start:r.Ref.End])
			}
			end = r.End
		}
		// The first occurrence of every fingerprint is kept.
		first := map[uint64]bool{}
		for i, l := range a.Lines {
			if l.FP == 0 {
				continue
			}
			if !first[l.FP] && !a.Kept(i) && a.Removals[l.Removal].Kind != KindParagraph && a.Removals[l.Removal].Reason == ReasonExactRepeat {
				t.Fatalf("line %d is the first of its text but was removed as an exact repeat", i)
			}
			first[l.FP] = true
		}
	})
}

// FuzzAppendWords checks the fused word hashing against hashing the result.
func FuzzAppendWords(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add("prefix", s)
	}
	f.Fuzz(func(t *testing.T, prefix, s string) {
		n := NewNormalizer()
		base := n.Append(nil, prefix)
		got, words := n.AppendWords(append([]byte(nil), base...), nil, s)
		if want := n.Append(append([]byte(nil), base...), s); string(got) != string(want) {
			t.Fatalf("AppendWords text %q, Append %q", got, want)
		}
		tail := got[len(base):]
		if len(tail) > 0 && tail[0] == ' ' {
			tail = tail[1:]
		}
		want := Words(tail, nil)
		if len(words) != len(want) {
			t.Fatalf("%d word hashes, want %d", len(words), len(want))
		}
		for i := range want {
			if words[i] != want[i] {
				t.Fatalf("word %d hash differs", i)
			}
		}
	})
}

// FuzzHashWords checks HashWords against AppendWords: the same hashes,
// digit count and '@'.
func FuzzHashWords(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Add("Hello, World_42 & co@x.org")
	f.Fuzz(func(t *testing.T, s string) {
		a, b := NewNormalizer(), NewNormalizer()
		_, want := a.AppendWords(nil, []uint64{7}, s)
		got := b.HashWords([]uint64{7}, s)
		if !slices.Equal(got, want) {
			t.Fatalf("HashWords %x, AppendWords %x", got, want)
		}
		if a.Digits != b.Digits || a.At != b.At {
			t.Fatalf("HashWords digits %d at %v, AppendWords %d %v", b.Digits, b.At, a.Digits, a.At)
		}
	})
}

// FuzzCross decides a stream of documents (the input split at '\x00')
// against one memory: a duplicate names an earlier document at a
// similarity in (0, 1]; removals lie inside the text; a document
// redelivered after its commit is decided as it was the first time (not a
// duplicate, the same removals, none naming itself).
func FuzzCross(f *testing.F) {
	story := strings.Repeat("the committee will meet again next week in the capital\n", 3)
	for _, s := range fuzzSeeds {
		f.Add(s + "\x00" + s + "\x00" + s)
	}
	f.Add("Re: x\n----- Original Message -----\nFrom: Bob\n\n> " + story + "Agreed.\x00" + story + "\x00" + story + "more\x00" + story)
	// A story beside three others, then alone: a copy found by its blocks.
	var lines []string
	for i := range 8 {
		lines = append(lines, fmt.Sprintf("line %d of the story says something else about item %d today", i, i*7))
	}
	st := strings.Join(lines, "\n")
	f.Add(st + "\n\nfirst other text of some length here and there\x00" + st + "\n\nsecond other text of some length\x00" +
		st + "\n\nthird other text of some length\x00" + st)
	f.Fuzz(func(t *testing.T, in string) {
		c, _ := NewCleaner(DefaultOptions())
		m := NewMemory(DefaultMemoryOptions())
		x, err := NewCross(DefaultCrossOptions(), 5, m)
		if err != nil {
			t.Fatal(err)
		}
		var a Analysis
		var d CrossDecision
		seen := map[string]bool{} // committed
		dups := map[string]bool{} // found duplicates
		for i, text := range strings.Split(in, "\x00") {
			id := fmt.Sprint("d", i)
			c.Analyze(text, &a)
			x.Decide(id, &a, &d)
			if d.DuplicateOf != "" {
				// A duplicate names a committed document, or, as an exact
				// copy of an earlier duplicate whose original the other
				// rules do not find for it, that duplicate.
				named := seen[d.DuplicateOf] || (dups[d.DuplicateOf] && d.Rule == RuleExact)
				if !named || !(d.Similarity > 0 && d.Similarity <= 1) {
					t.Fatalf("%s: duplicate of %q (similarity %v, rule %s), not an earlier document", id, d.DuplicateOf, d.Similarity, d.Rule)
				}
				dups[id] = true
				continue
			}
			for _, r := range a.Removals {
				if r.Start < 0 || r.End > len(text) || r.Start > r.End || (r.RefDoc != "" && !seen[r.RefDoc]) {
					t.Fatalf("%s: removal %+v of a %d-byte text", id, r, len(text))
				}
			}
			m.Commit(&d.Commit)
			seen[id] = true
			firstRemovals := fmt.Sprint(a.Removals)
			c.Analyze(text, &a)
			x.Decide(id, &a, &d)
			if d.DuplicateOf == "" && fmt.Sprint(a.Removals) != firstRemovals {
				t.Fatalf("%s redelivered: removals %s, first %s", id, fmt.Sprint(a.Removals), firstRemovals)
			}
			if d.DuplicateOf != "" {
				t.Fatalf("%s redelivered: duplicate of %s", id, d.DuplicateOf)
			}
			for _, r := range a.Removals {
				if r.RefDoc == id {
					t.Fatalf("%s redelivered: removal %+v refers to itself", id, r)
				}
			}
		}
	})
}
