package dedupe

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func analyze(t *testing.T, text string) *Analysis {
	t.Helper()
	c, err := NewCleaner(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var a Analysis
	c.Analyze(text, &a)
	return &a
}

// removedLines returns the indices of removed lines.
func removedLines(a *Analysis) []int {
	var out []int
	for i := range a.Lines {
		if !a.Kept(i) {
			out = append(out, i)
		}
	}
	return out
}

func TestAnalyzeDecisions(t *testing.T) {
	long := "The State Department on Tuesday ordered non-essential diplomats and their families to leave Myanmar, " +
		"as a deadly government crackdown on demonstrators protesting last month's coup intensifies"
	tests := []struct {
		name    string
		text    string
		removed []int
		reason  Reason
		ref     int // line index the first removal refers to
	}{
		{name: "exact caption", text: "China illustration\nChina illustration", removed: []int{1}, reason: ReasonExactRepeat, ref: 0},
		{name: "entity nbsp caption",
			text:    "Police patrol in Beijing&#xa0; - Thomas Peter/Reuters\nPolice patrol in Beijing - Thomas Peter/Reuters",
			removed: []int{1}, reason: ReasonExactRepeat, ref: 0},
		{name: "soft hyphens and joiners left in a caption",
			text:    "Der Not&shy;fall&shy;daten&shy;satz liegt in der ePA\nDer Not\u00adfall\u200ddaten\u2060satz liegt in der ePA\nDer Notfalldatensatz liegt in der ePA",
			removed: []int{1, 2}, reason: ReasonExactRepeat, ref: 0},
		{name: "curly quotes and bullets", text: "  • “They aren’t police,” she said\n- \"They aren't police,\" she said", removed: []int{1}, reason: ReasonExactRepeat},
		{name: "near repeat of a long line", text: long + ".\nOther text here.\n" + strings.Replace(long, "intensifies", "grows", 1) + " now.",
			removed: []int{2}, reason: ReasonNearRepeat, ref: 0},
		{name: "short lines repeat only exactly", text: "Read more about it\nRead more about this", removed: nil},
		{name: "different long lines stay", text: long + "\nThe department also reiterated an earlier warning for Americans not to travel to Myanmar", removed: nil},
		{name: "blank and punctuation lines never repeat", text: "a b\n\n----\n\n----\n", removed: nil},
		{name: "rewrapped paragraph", text: "one two three four five six seven\neight nine ten\n\none two three four\nfive six seven eight nine ten",
			removed: []int{3, 4}, reason: ReasonExactRepeat, ref: 0},
		{name: "first occurrence stays across three copies", text: "x y z\nq\nx y z\nx y z", removed: []int{2, 3}, reason: ReasonExactRepeat, ref: 0},
		{name: "line repeats a paragraph wrapped over lines", text: "To Collect Your\n$30 Cash Click Here!\n\nTo Collect Your $30 Cash Click Here!",
			removed: []int{3}, reason: ReasonExactRepeat, ref: 0},
		{name: "a short line is matched against lines only", text: "Download\nNow\n\nDownload Now", removed: nil},
		{name: "the earliest block stays the one repeated", text: "Buy\nNow\n\nBuy Now\n\nBuy\nNow", removed: []int{5, 6}, reason: ReasonExactRepeat, ref: 0},
		{name: "line repeats a line of a paragraph removed whole",
			text:    "See this product's web\npage\nCLICK\nHERE\n\nSee this product's web page\nCLICK HERE\n\nto be taken off of our list\nclick here",
			removed: []int{5, 6, 9}, reason: ReasonExactRepeat, ref: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyze(t, tt.text)
			got := removedLines(a)
			if !equalInts(got, tt.removed) {
				t.Fatalf("removed lines %v, want %v (removals %+v)", got, tt.removed, a.Removals)
			}
			if len(tt.removed) == 0 {
				return
			}
			r := a.Removals[0]
			if r.Reason != tt.reason {
				t.Errorf("reason %s, want %s", r.Reason, tt.reason)
			}
			if r.Ref.Start != a.Lines[tt.ref].Start {
				t.Errorf("ref offset %d, want %d (line %d)", r.Ref.Start, a.Lines[tt.ref].Start, tt.ref)
			}
			if r.Reason == ReasonExactRepeat && r.Similarity != 1 {
				t.Errorf("similarity %v for an exact repeat", r.Similarity)
			}
			if r.Reason == ReasonNearRepeat && (r.Similarity < 0.8 || r.Similarity >= 1) {
				t.Errorf("similarity %v for a near repeat", r.Similarity)
			}
		})
	}
}

// TestRepeatOfARemovedParagraphsLine: a line equal to a line of a
// paragraph that went whole (it repeated one wrapped otherwise) repeats
// that line, as it would had the paragraph stayed.
func TestRepeatOfARemovedParagraphsLine(t *testing.T) {
	a := analyze(t, "CLICK\nHERE to order\n\nCLICK HERE\nto order\n\nor call\nCLICK HERE")
	if got := removedLines(a); !equalInts(got, []int{3, 4, 7}) {
		t.Fatalf("removed lines %v (removals %+v)", got, a.Removals)
	}
	if r := a.Removals[a.Lines[7].Removal]; r.Reason != ReasonExactRepeat || r.Ref != a.Lines[3].Span {
		t.Errorf("line 7: %+v, want an exact repeat of line 3 %+v", r, a.Lines[3].Span)
	}
}

func TestCleanerReuseIsIndependent(t *testing.T) {
	c, err := NewCleaner(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var a Analysis
	c.Analyze("shared line here\nunique one", &a)
	c.Analyze("shared line here\nunique two", &a)
	if got := removedLines(&a); len(got) != 0 {
		t.Fatalf("second document lost lines %v: state leaked between documents", got)
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []func(*Options){
		func(o *Options) { o.ShingleSize = 0 },
		func(o *Options) { o.NearThreshold = 1.5 },
		func(o *Options) { o.NearThreshold = 0 },
		func(o *Options) { o.NearMinWords = 0 },
		func(o *Options) { o.MaxPostings = 0 },
	}
	for i, mut := range bad {
		o := DefaultOptions()
		mut(&o)
		if _, err := NewCleaner(o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("case %d: err %v, want ErrInvalidOptions", i, err)
		}
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestShinglesAndJaccard(t *testing.T) {
	n := NewNormalizer()
	w := func(s string) []uint64 { return Words(n.Append(nil, s), nil) }
	a := ShingleSet(w("a b c d e f g"), 5, nil)
	b := ShingleSet(w("a b c d e f h"), 5, nil)
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("want 3 shingles each, got %d and %d", len(a), len(b))
	}
	if j := Jaccard(a, b); j != 0.5 {
		t.Errorf("Jaccard %v, want 0.5 (2 shared of 4)", j)
	}
	short := Shingles(w("two words"), 5, nil)
	if len(short) != 1 || short[0] != Combine(w("two words")) || Shingles(w("x a b c d e"), 5, nil)[1] != Shingles(w("a b c d e"), 5, nil)[0] {
		t.Errorf("a block shorter than k is one shingle equal to its fingerprint, and a window hashes alike in any block")
	}
	if Combine(w("a b")) == Combine(w("b a")) {
		t.Error("Combine must be order-sensitive")
	}
	if c := Containment(ShingleSet(w("a b c d e f"), 5, nil), a); c != 1 {
		t.Errorf("containment %v, want 1", c)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLineDigitsAndAt(t *testing.T) {
	a := analyze(t, "call 555-0100 now\nmail a@b.org\nÜber 42 Straße @home\nnone")
	want := []struct {
		digits int
		at     bool
	}{{7, false}, {0, true}, {2, true}, {0, false}}
	for i, w := range want {
		if l := a.Lines[i]; l.Digits != w.digits || l.At != w.at {
			t.Errorf("line %d: digits %d at %v, want %d %v", i, l.Digits, l.At, w.digits, w.at)
		}
	}
}

func TestGenTableGrowsThenForgetsOldest(t *testing.T) {
	g := newGenTable(4096)
	for k := uint64(1); k <= 10000; k++ {
		v, _ := g.upsert(k)
		*v = k * 2
	}
	if len(g.young) != 4096 {
		t.Fatalf("young table %d slots, want it grown to 4096", len(g.young))
	}
	if v, _, ok, _ := g.get(10000); !ok || v != 20000 {
		t.Fatal("newest entry lost")
	}
	if _, _, inYoung, inOld := g.get(1); inYoung || inOld {
		t.Fatal("oldest entry kept past two generations")
	}
	if n := g.Len(); n > 2*4096*7/10 || n < 4096*7/10 {
		t.Fatalf("%d entries held; want between one and two generations", n)
	}
}

func TestQuotedLines(t *testing.T) {
	for _, tc := range []struct {
		text   string
		quoted []int
	}{
		{"Agreed.\n\n-----Original Message-----\nFrom: Bob\nThe figures.", []int{2, 3, 4}},
		{"Agreed.\n\n----- Original Message -----\nFrom: Bob\nThe figures.", []int{2, 3, 4}},
		{"FYI\n---------- Forwarded message ---------\nFrom: Bob", []int{1, 2}},
		{"FYI\n----- Forwarded message from Bob <b@x.org> -----\nHi", []int{1, 2}},
		{"Yes.\n----- Original Message -----\nFrom: Bob\n\n_______________\nlist@example.org", []int{1, 2, 3}},
		{"Re: x\n----- Original Message -----\nFrom: Bob\n\n> the figures\n> are late\nNot here.", []int{1, 2, 3, 4, 5}},
		{"Re: x\nNot here.\n----- Original Message -----\nFrom: Bob\n> the figures\nare late.", []int{2, 3, 4, 5}},
		{"Bob wrote:\n> the figures\nAgreed.", []int{0, 1}},
		// A mail with CRLF line ends: the blank line under the attribution
		// is "\r".
		{"Bob wrote:\r\n\r\n> the figures\r\nAgreed.", []int{0, 2}},
		{"Bob wrote:\r\n\r\n| the figures\r\nAgreed.", []int{0, 2}},
		{"Bob wrote:\n| the figures\n|\n|> are late\n\nAgreed.", []int{0, 1, 2, 3}},
		{"On Monday, Bob wrote:\n) the figures\n) are late\nAgreed.\n) not a quote", []int{0, 1, 2}},
		{"| a | table |\n| 1 | 2 |", nil},
		{"Results\n-----------------\nOriginal message ids are kept.", nil},
		{"-- \nBob, Original Message Systems Ltd", nil},
	} {
		var got []int
		for i, q := range QuotedLines(analyze(t, tc.text), nil) {
			if q {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, tc.quoted) {
			t.Errorf("%q: quoted lines %v, want %v", tc.text, got, tc.quoted)
		}
	}
}

func TestClosingStart(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
	}{
		{"Thanks.\n-- \nBob\nbob@example.org", 1},
		{"Thanks.\n\n____________________\nlist@example.org\n-- \nsig", 2},
		{"A heading\n===========\nbody", 3},
		{"Bob\n\n===========\nlist footer", 2},
		{"no closing\nat all", 2},
		{"--DeathToSpam--\nnot a rule", 2},
	} {
		if got := ClosingStart(analyze(t, tc.text)); got != tc.want {
			t.Errorf("%q: closing zone from line %d, want %d", tc.text, got, tc.want)
		}
	}
	long := "-- \nsig\n" + strings.Repeat("line\n", closingLines)
	if got, n := ClosingStart(analyze(t, long)), len(analyze(t, long).Lines); got != n {
		t.Errorf("a delimiter %d lines from the end opened a closing zone at %d", n, got)
	}
}

// TestManyLinesAllocateOnce: a document's line and block slices are sized
// before they are filled. Grown by appending, a text of 1,000,000 blank
// lines (a 1 MB document) allocated 638 MB on the way to its 130 MB of
// lines and blocks, and `winnow clean` peaked at 281 MB of RSS on it (182
// MB now); Segment made 32 allocations of 100,000 lines, Analyze 64.
func TestManyLinesAllocateOnce(t *testing.T) {
	per := 1.0
	if raceEnabled {
		per = 2 // the race build keeps slices.Grow's temporary slice
	}
	blank := strings.Repeat("\n", 100000)
	prose := strings.Repeat("A line\nand its neighbour.\n\n", 20000) // paragraphs too
	for _, text := range []string{blank, prose} {
		if n := testing.AllocsPerRun(3, func() { Segment(text, nil) }); n != per {
			t.Errorf("Segment of %d bytes: %v allocations, want %v", len(text), n, per)
		}
	}
	c, err := NewCleaner(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Blocks and lines; blank lines have no words, shingles or fingerprints.
	if n := testing.AllocsPerRun(3, func() { c.Analyze(blank, &Analysis{}) }); n != 2*per {
		t.Errorf("Analyze of %d blank lines: %v allocations, want %v", len(blank), n, 2*per)
	}
}
