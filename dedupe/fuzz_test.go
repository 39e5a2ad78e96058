package dedupe

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"", "\n", "a\nb\n", "China illustration\nChina illustration",
	"Beijing&#xa0; - Reuters\nBeijing - Reuters", "“quoted” – dash\u00a0nbsp", "\xff\xfe bad utf8 &amp;",
	"  • bullet\n1. item\n\n\npara one\npara two\n\npara one\npara two", "Ｆｕｌｌ ﬁ ² İ ß ς", "&#0; &#xD800; &#x110000;",
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
	f.Fuzz(func(t *testing.T, s string) {
		blocks := Segment(s, nil)
		lines := strings.Split(s, "\n")
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
