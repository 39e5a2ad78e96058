package moderate

import (
	"cmp"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/winnow-dev/winnow/dedupe"
)

func line(s string) (string, dedupe.Span) { return s, dedupe.Span{Start: 0, End: len(s)} }

// analyzed returns text analysed with the default cleaning options, as the
// pipeline hands documents to the moderator.
func analyzed(text string) *dedupe.Analysis {
	c, _ := dedupe.NewCleaner(dedupe.DefaultOptions())
	var a dedupe.Analysis
	c.Analyze(text, &a)
	return &a
}

// tokenHashes returns the tokenizer's word hashes over all of s and how
// many parts it read field by field (scan and dedupe disagreed), failing on
// a token outside s or out of order.
func tokenHashes(t *testing.T, s string) (hs []uint64, fallbacks int) {
	t.Helper()
	tk := newTokenizer()
	end := 0
	for _, tok := range tk.tokens(s, dedupe.Span{Start: 0, End: len(s)}, nil) {
		if tok.Start < 0 || tok.End > len(s) || tok.Start >= tok.End || tok.End < end {
			t.Fatalf("%q: token span %+v outside %d bytes or before the last one's end %d", s, tok.Span, len(s), end)
		}
		end = tok.End
		hs = append(hs, tok.Hash)
	}
	return hs, tk.fallbacks
}

// dedupeHashes returns dedupe's word hashes of s's parts between glue
// points: the words the tokenizer must find.
func dedupeHashes(s string) []uint64 {
	n := dedupe.NewNormalizer()
	var hs []uint64
	for _, p := range glueParts(s, dedupe.Span{Start: 0, End: len(s)}, nil) {
		hs = n.HashWords(hs, s[p.Start:p.End])
	}
	return hs
}

func TestPII(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // kind:matched text, in order found
	}{
		{"plain email", "Write to jane.doe+news@mail.example.co.uk today", []string{"email:jane.doe+news@mail.example.co.uk"}},
		{"bracketed obfuscation", "contact: jane [at] example [dot] com", []string{"email:jane [at] example [dot] com"}},
		{"parenthesised at, real dot", "jane(at)example.org wrote", []string{"email:jane(at)example.org"}},
		{"spelled out", "mail john at example dot com please", []string{"email:john at example dot com"}},
		{"at without dot is prose", "we met john at the station", nil},
		{"not an address", "price @ 5 each; user@localhost", nil},
		{"images for high-density screens", "src logo@2x.png, icon@1.5x.WEBP and hero@3x.jpg; mail ops@2x.io", []string{"email:ops@2x.io"}},
		{"visa passes luhn", "card 4111 1111 1111 1111 exp 12/29", []string{"card:4111 1111 1111 1111"}},
		{"amex dashed", "amex 3782-822463-10005", []string{"card:3782-822463-10005"}},
		{"fails luhn", "card 4111 1111 1111 1112", nil},
		{"luhn but no network prefix", "order 9999 9999 9999 9995", nil},
		{"us phone", "Call (555) 123-4567 or +1 555 987 6543.", []string{"phone:(555) 123-4567", "phone:+1 555 987 6543"}},
		{"date is not a phone", "On 2002-08-23 at 10:22", nil},
		{"decimal is not a phone", "rose 1234567.8901 points", nil},
		{"long id glued to letters", "ref AB12345678901", nil},
		{"addresses are not phones", "from [62.17.143.253] by http://211.152.134.203/x and 192.168.100.200.", nil},
		{"prices, versions, a date and its time", "STG 239.10 231.10; pool 420.50-423.50 (420.00-423.00); V6.00.2600.0000; 2002-10-03 13:57 -", nil},
		{"phones beside them", "1-415-873-2700, +1.949.833.2800, (202) 333-0008 Ext. 222, 1.800.555.1234. Fax-253-660-3853", []string{"phone:415-873-2700", "phone:+1.949.833.2800", "phone:(202) 333-0008", "phone:800.555.1234", "phone:253-660-3853"}},
		{"one digit after a country code", "Tél : +33 1 23 45 67 89; Tel: +61 2 9876 5432; +44 (0)20 7946 0958", []string{"phone:+33 1 23 45 67 89", "phone:+61 2 9876 5432", "phone:+44 (0)20 7946 0958"}},
		{"dotted phones are", "call 555.123.4567 or 01.23.45.67.89, not 256.168.100.200", []string{"phone:555.123.4567", "phone:01.23.45.67.89", "phone:256.168.100.200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, span := line(tt.in)
			var got []string
			_, words := dedupe.NewNormalizer().AppendWords(nil, nil, text)
			m, _ := New(DefaultPolicy(), Options{})
			sig := m.wordSignals(words)
			sig.digits, sig.hasAt = countDigitsAt(text)
			for _, f := range pii(text, span, &sig, nil) {
				got = append(got, f.kind+":"+text[f.span.Start:f.span.End])
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMask: the kinds the policy redacts are masked wherever they stand in
// the span, and nothing else is.
func TestMask(t *testing.T) {
	const in = "x Mail jane@example.com, call (555) 123-4567, card 4111 1111 1111 1111. x"
	span := dedupe.Span{Start: 2, End: len(in) - 2}
	for _, tt := range []struct {
		pii  PIIPolicy
		want string
	}{
		{PIIPolicy{Enabled: true, Email: ActionFlag, Phone: ActionFlag, Card: ActionRedact},
			"Mail jane@example.com, call (555) 123-4567, card [card]."},
		{PIIPolicy{Enabled: true, Email: ActionRedact, Phone: ActionRedact, Card: ActionRedact},
			"Mail [email], call [phone], card [card]."},
		{PIIPolicy{Enabled: true, Email: ActionRedact, Phone: ActionOff, Card: ActionFlag},
			"Mail [email], call (555) 123-4567, card 4111 1111 1111 1111."},
		{PIIPolicy{Enabled: false, Email: ActionRedact, Phone: ActionRedact, Card: ActionRedact},
			"Mail jane@example.com, call (555) 123-4567, card 4111 1111 1111 1111."},
	} {
		p := DefaultPolicy()
		p.PII = tt.pii
		m, err := New(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Mask(in, span); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.pii, got, tt.want)
		}
	}
}

func TestLuhn(t *testing.T) {
	for s, want := range map[string]bool{"79927398713": true, "79927398710": false, "4012888888881881": true, "0": true} {
		var d []byte
		for _, c := range s {
			d = append(d, byte(c-'0'))
		}
		if luhn(d) != want {
			t.Errorf("luhn(%s) = %v", s, !want)
		}
	}
}

// blocklistRedactor returns a Moderator with the spam rule off that
// redacts phrases (and o's extra blocklist).
func blocklistRedactor(t *testing.T, o Options, phrases ...string) *Moderator {
	t.Helper()
	p := DefaultPolicy()
	p.Spam.Enabled = false
	p.Blocklist.Action = ActionRedact
	p.Blocklist.Phrases = phrases
	m, err := New(p, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// redacted returns the text of each span m flags in text, in order.
func redacted(m *Moderator, text string) []string {
	var got []string
	for _, f := range m.Moderate(analyzed(text), nil) {
		got = append(got, text[f.Span.Start:f.Span.End])
	}
	return got
}

func TestBlocklistOverlappingPhrases(t *testing.T) {
	m := blocklistRedactor(t, Options{ExtraBlocklist: []string{"secret project"}}, "acme", "acme corp", "corp layoffs", "Layoffs at ACME")
	text := "News: ACME-Corp layoffs announced.\nLayoffs at Acme hit the Secret   Project.\nNothing here."
	var got []string
	for _, f := range m.Moderate(analyzed(text), nil) {
		got = append(got, f.Evidence+"="+text[f.Span.Start:f.Span.End])
	}
	want := []string{"acme=ACME", "acme corp=ACME-Corp", "corp layoffs=Corp layoffs",
		"Layoffs at ACME=Layoffs at Acme", "acme=Acme", "secret project=Secret   Project"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestBlocklistAcrossGluePoints: where scraped blocks were glued together
// ("spinsCasino") a phrase is found in the parts, though the line's words
// as dedupe reads them ("spinscasino") hold none, and even when none of
// them starts a phrase; with an entity elsewhere in the line or not.
func TestBlocklistAcrossGluePoints(t *testing.T) {
	m := blocklistRedactor(t, Options{}, "free spins", "casino bonus")
	for text, want := range map[string][]string{
		"Claim your free spinsCasino bonus codes inside":             {"free spins", "Casino bonus"},
		"Fish &amp; chips, then free spinsCasino bonus codes inside": {"free spins", "Casino bonus"},
		"Claim the weekly spinsCasino bonus codes inside":            {"Casino bonus"},
		"Fish &amp; chips, the weekly spinsCasino bonus codes":       {"Casino bonus"},
	} {
		if got := redacted(m, text); !slices.Equal(got, want) {
			t.Errorf("%q: redacted %q, want %q", text, got, want)
		}
	}
}

// TestBlocklistThroughInvisibleCharacters: a phrase written with a soft
// hyphen (as a character or "&shy;") or a zero-width joiner inside a word is
// found, its span the written word; the zero-width space splits words.
func TestBlocklistThroughInvisibleCharacters(t *testing.T) {
	m := blocklistRedactor(t, Options{}, "casino bonus", "notfalldaten")
	for text, want := range map[string][]string{
		"Claim your ca\u00adsino bo&shy;nus today": {"ca\u00adsino bo&shy;nus"},
		"Die Not\u00adfall\u200ddaten sind hier":   {"Not\u00adfall\u200ddaten"},
		"Die Notfall\u200bdaten sind hier":         nil,
	} {
		if got := redacted(m, text); !slices.Equal(got, want) {
			t.Errorf("%q: redacted %q, want %q", text, got, want)
		}
	}
}

// TestBlocklistCamelCaseNames: a name written with a capital inside it
// ("YouTube", "PayPal", "JavaScript", which the glue rule would split) is
// found as it is written, beside a phrase only the split shows, and an
// occurrence both readings of a line find is reported once.
func TestBlocklistCamelCaseNames(t *testing.T) {
	m := blocklistRedactor(t, Options{}, "YouTube", "PayPal", "enable JavaScript", "casino bonus", "weekly")
	text := "Pay with PayPal and watch on YouTube today.\nPlease enable JavaScript now.\nThe weekly spinsCasino bonus, by PayPal"
	got := redacted(m, text)
	slices.Sort(got)
	if want := []string{"Casino bonus", "PayPal", "PayPal", "YouTube", "enable JavaScript", "weekly"}; !slices.Equal(got, want) {
		t.Errorf("redacted %q, want %q", got, want)
	}
}

// TestForksModerateAlike: Moderators forked from one run at once (under
// -race, no shared state is written) and find what it finds.
func TestForksModerateAlike(t *testing.T) {
	p := DefaultPolicy()
	p.Blocklist.Action = ActionRedact
	p.Blocklist.Phrases = []string{"YouTube", "casino bonus"}
	m, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"Watch on YouTube. The weekly spinsCasino bonus.\nSubscribe for freeWhat they're saying: talks resume.",
		"Mail jane@example.com or call +44 20 7946 0958.\nBuy now! Limited time offer on every casino bonus.",
	}
	want := make([][]Finding, len(texts))
	for i, s := range texts {
		want[i] = m.Moderate(analyzed(s), nil)
	}
	var wg sync.WaitGroup
	for range 4 {
		f := m.Fork()
		wg.Go(func() {
			for range 50 {
				for i, s := range texts {
					if got := f.Moderate(analyzed(s), nil); !reflect.DeepEqual(got, want[i]) || len(got) == 0 {
						t.Errorf("%q: fork found %+v, want %+v (some)", s, got, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestWordMatcherAgreesWithBruteForce: with thousands of phrases over a
// small vocabulary (long probe runs in the edge table, deep fail chains),
// find reports exactly the occurrences a phrase-by-phrase comparison at
// every position does.
func TestWordMatcherAgreesWithBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]uint64, 40)
	for i := range vocab {
		vocab[i] = rng.Uint64()
	}
	vocab[1] = vocab[0] ^ 1<<63 // the same low bits: the same filter bit
	word := func() uint64 { return vocab[rng.IntN(len(vocab))] }
	var phrases [][]uint64
	for range 3000 {
		p := make([]uint64, 1+rng.IntN(4))
		for j := range p {
			p[j] = word()
		}
		phrases = append(phrases, p)
	}
	m := newWordMatcher(phrases)
	for range 50 {
		text := make([]uint64, 300)
		for i := range text {
			text[i] = word()
		}
		var want []match
		for end := 1; end <= len(text); end++ {
			for id, p := range phrases {
				if start := end - len(p); start >= 0 && slices.Equal(text[start:end], p) {
					want = append(want, match{Phrase: int32(id), Start: start, End: end})
				}
			}
		}
		got := m.find(text, nil)
		order := func(a, b match) int {
			return cmp.Or(cmp.Compare(a.End, b.End), cmp.Compare(a.Phrase, b.Phrase))
		}
		slices.SortFunc(got, order)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("%d occurrences found, %d there (want some)", len(got), len(want))
		}
	}
}

// TestReadPhrases: a blocklist file's phrases, one a line, whatever ends
// its lines; a comment on the first line of a file saved with a byte order
// mark is still a comment, and no phrase keeps the mark.
func TestReadPhrases(t *testing.T) {
	got := ReadPhrases([]byte("\ufeff# casino words\r\ncasino bonus\r\n\n  free spins  \n# more\nlast"))
	if want := []string{"casino bonus", "free spins", "last"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := ReadPhrases([]byte("\ufeffcasino bonus\n")); !slices.Equal(got, []string{"casino bonus"}) {
		t.Errorf("got %q", got)
	}
}

// TestBlocklistInUnspacedText: in Chinese and Japanese a phrase is matched
// and redacted inside a clause, a character a word, as dedupe hashes them.
func TestBlocklistInUnspacedText(t *testing.T) {
	m := blocklistRedactor(t, Options{}, "無料配布", "ガチャ")
	// the second ガチャ is written with a half-width ｶ and its sound mark,
	// the third with the sound mark as an HTML entity
	text := "本日は会場で記念品の無料配布を行います。\n新しいガチャとｶﾞチャとカ&#x3099;チャの告知"
	if got, want := redacted(m, text), []string{"無料配布", "ガチャ", "ｶﾞチャ", "カ&#x3099;チャ"}; !slices.Equal(got, want) {
		t.Errorf("redacted %q, want %q", got, want)
	}
}

// TestTokensHashLikeDedupe: the tokenizer's words, with their spans in the
// original text, hash as dedupe hashes the same text (part by part where
// scraped blocks were glued), each with its own span: scan reads these
// without the field-by-field check's help.
func TestTokensHashLikeDedupe(t *testing.T) {
	for _, s := range []string{
		"plain words, and 42 numbers_too",
		"アプリKindle for PCの起動ホットキー",
		"ｶﾞチャ か\u3099 漢\ufe00字 ㍿ ㈱",
		"中文字符　한국어 ᏣᎳᎩ ꮳꮃꭹ",
		"Ｆｕｌｌ ﬁ ² İ ß ς &amp; é",
		"か&#x3099;チャ ヽ&#800 漢&DownBreve;字", // marks after a kana or a Han written as entities
		// marks after a symbol: NFKC composes U+0338 into ">" ("≯"), not U+0301 into "-"
		"a>\u0338b -\u0301c &gt;&#824;d",
		// every digit of a numeric entity is read
		"&#0000000000000000000000000000000000000000065;x",
		// U+0345, a mark, folds to a letter ("ι"): it does not join the Han
		"榇\u0345x -\u0345y",
		// glued blocks are split; an entity is no letter of either case
		"Subscribe for freeWhat they're saying",
		"xyz&DownBreve;Abc &eacuteAb",
		// an entity for a symbol and a mark NFKC leaves standing: the mark
		// starts a word
		"a &nvlt;x b &bne;q &NotHumpDownHump;漢",
		// invisible format characters join the word around them (a soft
		// hyphen, written or as an entity, the joiners, a bidi mark), also
		// between a Han or a symbol and the marks after it; the zero-width
		// space splits
		"Not\u00adfall&shy;daten\u00adsatz zero\u200dwidth non\u200cjoiner \u200emark\u200f \u00adx",
		"漢\u00ad\u3099字 カ\u2060\u3099 -\u00ad\u0301c thai\u200bwords",
	} {
		tk, fallbacks := tokenHashes(t, s)
		if want := dedupeHashes(s); !slices.Equal(tk, want) {
			t.Errorf("%q: %d token hashes, dedupe %d words, or they differ", s, len(tk), len(want))
		}
		if fallbacks != 0 {
			t.Errorf("%q: %d parts read field by field", s, fallbacks)
		}
	}
}

// TestTokensReadEveryEntity: every named HTML character reference Go's
// html package decodes (read from its source, the one table dedupe's
// decoding uses), in the places a reference meets a word, a mark, a Han, a
// kana or a symbol, is read by scan as dedupe reads it, with no
// field-by-field check needed.
func TestTokensReadEveryEntity(t *testing.T) {
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), "src", "html", "entity.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`"([A-Za-z0-9]+;?)":`).FindAllStringSubmatch(string(src), -1)
	if len(names) < 2000 { // 2,231 in Go 1.26
		t.Fatalf("read %d entity names from html/entity.go", len(names))
	}
	places := []string{"%s", "a%sx", "%sx", "x%s", "%s%s", "x %s y", "ab%sCd", "<%s", "-%s",
		"%s\u0301", "%s\u0338", "漢%s", "%s漢", "カ%sb", "%s\u3099"}
	for _, m := range names {
		for _, p := range places {
			s := strings.ReplaceAll(p, "%s", "&"+m[1])
			got, fallbacks := tokenHashes(t, s)
			if !slices.Equal(got, dedupeHashes(s)) {
				t.Errorf("%q: token hashes differ from dedupe's", s)
			}
			if fallbacks > 0 {
				t.Errorf("%q: read field by field", s)
			}
		}
	}
}

// TestTokensReadEveryNormalisingRune: every rune dedupe's normaliser may
// change or join (an NFKC decomposition, a combining class, a mark, a case
// fold, no normalisation boundary on one side: 21.5k runes), in places
// beside a word, a symbol, a mark, a Han, a kana and itself, hashes as
// dedupe hashes it. scan reads all of them itself but the Thai and Lao AM
// after a Han or a kana (NFKC splits each into a mark, which joins the
// Han as dedupe reads it, and a letter, which starts a word: one rune in
// two words), which are read field by field. A sweep of every rune in the
// same places (12.3M probes, 2 minutes) found no others.
func TestTokensReadEveryNormalisingRune(t *testing.T) {
	places := []string{"%s", "a%sx", "ab%sCd", "漢%s", "カ%sb", "-%s", "x%s\u0301", "%s\u0338", "%s%s", "ｶ%s", "<%s"}
	fields := map[string]bool{"漢ำ": true, "カำb": true, "ｶำ": true, "漢ຳ": true, "カຳb": true, "ｶຳ": true}
	probes := 0
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		p := norm.NFKC.PropertiesString(string(r))
		if !utf8.ValidRune(r) || len(p.Decomposition()) == 0 && p.CCC() == 0 && !unicode.IsMark(r) &&
			unicode.SimpleFold(r) == r && p.BoundaryBefore() && p.BoundaryAfter() {
			continue
		}
		for _, pl := range places {
			s := strings.ReplaceAll(pl, "%s", string(r))
			probes++
			got, fallbacks := tokenHashes(t, s)
			if !slices.Equal(got, dedupeHashes(s)) {
				t.Errorf("%q (%U): token hashes differ from dedupe's", s, r)
			}
			if byField := fallbacks > 0; byField != fields[s] {
				t.Errorf("%q (%U): read field by field %v, want %v", s, r, byField, fields[s])
			}
		}
	}
	if probes < 200000 {
		t.Fatalf("%d probes", probes)
	}
}

// TestTokensFallBackToFields: a part scan reads unlike dedupe keeps
// dedupe's words; the field scan gets wrong spans them all, the others
// keep their own spans, and a blocklist phrase across them is redacted
// whole. Two such fields: the Thai AM after a Han, and a Han with U+0345
// and U+0366 after it, which NFKC swaps (combining classes 240 and 230),
// so the second mark joins the Han and the first, folded to "ι", starts a
// word (FuzzTokensHashLikeDedupe found it; before 3930d77 its hashes were
// wrong).
func TestTokensFallBackToFields(t *testing.T) {
	s := "one two 漢ำ three 榀\u0345\u0366 four"
	tk := newTokenizer()
	toks := tk.tokens(s, dedupe.Span{Start: 0, End: len(s)}, nil)
	var got []string
	var hs []uint64
	for _, tok := range toks {
		got = append(got, s[tok.Start:tok.End])
		hs = append(hs, tok.Hash)
	}
	want := []string{"one", "two", "漢ำ", "漢ำ", "three", "榀\u0345\u0366", "榀\u0345\u0366", "four"}
	if !slices.Equal(got, want) || tk.fallbacks != 1 {
		t.Errorf("spans %q (%d parts read field by field), want %q", got, tk.fallbacks, want)
	}
	if !slices.Equal(hs, dedupe.NewNormalizer().HashWords(nil, s)) {
		t.Errorf("hashes differ from dedupe's")
	}
	p := DefaultPolicy()
	p.Spam.Enabled = false
	p.Blocklist.Phrases = []string{"two 漢\u0e4d"}
	p.Blocklist.Action = ActionRedact
	m, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := m.Moderate(analyzed(s), nil)
	if len(fs) != 1 || s[fs[0].Span.Start:fs[0].Span.End] != "two 漢ำ" {
		t.Errorf("findings %+v, want one redaction of %q", fs, "two 漢ำ")
	}
}

// TestByFieldHashesLikeDedupe: read field by field, text hashes as dedupe
// hashes it whole (ASCII white space joins nothing), and no token spans
// white space.
func TestByFieldHashesLikeDedupe(t *testing.T) {
	for _, s := range []string{
		"plain words, and 42",
		" \u0301lead and a \u0301\u0323mark after a space\t\u0338x ",
		"か\u3099 &amp; &#x3099;x\n&nbsp;y ㍿\r\n",
		"\xffbad \xc0\x80utf8 ﬁ ²",
		"Ｆｕｌｌ\vİ\fß ς é",
	} {
		tk := newTokenizer()
		toks := tk.byField(s, dedupe.Span{Start: 0, End: len(s)}, nil)
		var got []uint64
		for _, tok := range toks {
			if f := s[tok.Start:tok.End]; strings.ContainsAny(f, " \t\n\r\v\f") {
				t.Errorf("%q: token %q spans white space", s, f)
			}
			got = append(got, tok.Hash)
		}
		if want := dedupe.NewNormalizer().HashWords(nil, s); !slices.Equal(got, want) {
			t.Errorf("%q: %d hashes, dedupe %d words, or they differ", s, len(got), len(want))
		}
	}
}

func TestWordMatcherFindsAllOverlaps(t *testing.T) {
	h := func(ws ...string) []uint64 {
		_, w := dedupe.NewNormalizer().AppendWords(nil, nil, strings.Join(ws, " "))
		return w
	}
	m := newWordMatcher([][]uint64{h("a", "b", "c"), h("b", "c", "d"), h("c"), h("a", "b", "c", "d", "e")})
	got := m.find(h("x", "a", "b", "c", "d", "e"), nil)
	want := []match{{0, 1, 4}, {2, 3, 4}, {1, 2, 5}, {3, 1, 6}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestPromotional(t *testing.T) {
	p := DefaultPolicy()
	p.Spam.Enabled = false
	m, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := dedupe.NewCleaner(dedupe.DefaultOptions())
	body := "The committee met on Tuesday and approved the budget after a long debate about schools and roads."
	tests := []struct {
		name   string
		text   string
		action Action
		cut    string
	}{
		{"ad blurb", body + "\nOrganic materials soften a room. Get it now! The mirrored chest recalls the Empire style. Get it now!", ActionDropBlock, ""},
		{"pitch inside content", body + "\nThe junta killed protesters, AP reported. Officials fled the capital. Banks closed early. Stay on top of the latest market trends with Axios Markets. Subscribe for freeWhat they're saying: the army will stay. Talks resume Monday.",
			ActionRedact, "Stay on top of the latest market trends with Axios Markets.|Subscribe for free"},
		{"pitch words in a long body sentence", body + "\nIf you want a router, this is a future pick that you can buy now, and the reviewers at the lab agree after weeks of tests in four homes with many devices connected at once.", "", ""},
		{"weak words alone", body + "\nThe sale of the company to its rival was a deal worth billions, the newsletter said.", "", ""},
		// the pitch's first word is glued to the word before it, so none
		// of the line's words as dedupe reads them starts a pitch
		{"pitch glued to the word before", body + "\nThe junta killed protesters, AP reported. Officials fled the capital. Banks closed early. Talks resume in the weekSubscribe now to read on.",
			ActionRedact, "Subscribe now to read on."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a dedupe.Analysis
			c.Analyze(tt.text, &a)
			fs := m.Moderate(&a, nil)
			if tt.action == "" {
				if len(fs) != 0 {
					t.Fatalf("findings %+v, want none", fs)
				}
				return
			}
			var cuts []string
			for _, f := range fs {
				if f.Action != tt.action || f.Line != 1 || f.Rule != RulePromotional {
					t.Fatalf("finding %+v, want %s on line 1", f, tt.action)
				}
				if f.Action == ActionRedact {
					cuts = append(cuts, tt.text[f.Span.Start:f.Span.End])
				}
			}
			if len(fs) == 0 || strings.Join(cuts, "|") != tt.cut {
				t.Fatalf("findings %+v, cuts %q, want %q", fs, cuts, tt.cut)
			}
		})
	}
}

func TestPromotionalDocumentIsFlaggedNotGutted(t *testing.T) {
	p := DefaultPolicy()
	p.Spam.Enabled = false
	m, _ := New(p, Options{})
	fs := m.Moderate(analyzed("Huge savings this week\nOrder now and save!\nFree shipping on every order\nUse code SAVE20 at checkout\nOne line of other text here"), nil)
	if len(fs) != 1 || fs[0].Action != ActionFlag || fs[0].Rule != RulePromotional {
		t.Fatalf("findings %+v, want one promotional flag", fs)
	}
}

// A document the spam model flags is an ad as a whole: its pitches are
// flagged with it, not cut one by one.
func TestSpamDocumentPitchesAreFlaggedNotCut(t *testing.T) {
	text := "The committee met on Tuesday and approved the budget after a long debate about schools and roads.\n" +
		"Organic materials soften a room. Get it now! The mirrored chest recalls the Empire style. Get it now!"
	a := analyzed(text)
	for _, tc := range []struct {
		name      string
		threshold float64 // of the spam model; 0: spam off
		want      []Action
	}{
		{"not spam", 0, []Action{ActionDropBlock}},
		{"spam", 1e-9, []Action{ActionFlag, ActionFlag}}, // spam, then promotional
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.Spam.Enabled, p.Spam.Threshold = tc.threshold > 0, tc.threshold
			m, err := New(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			fs := m.Moderate(a, nil)
			var got []Action
			for _, f := range fs {
				got = append(got, f.Action)
				if f.Action == ActionFlag && f.Line != -1 {
					t.Errorf("flag %+v on a line, want the document", f)
				}
			}
			if !slices.Equal(got, tc.want) || fs[len(fs)-1].Rule != RulePromotional {
				t.Fatalf("findings %+v, want actions %v, the last promotional", fs, tc.want)
			}
		})
	}
}

// TestSpamSources: spam.sources limits the spam rule to the documents whose
// source it names ("" for none); empty, it judges every document.
func TestSpamSources(t *testing.T) {
	a := analyzed("Quarterly results\n\nThe company said net profit rose to 12 mln dlrs from nine mln a year earlier.")
	for _, tc := range []struct {
		sources []string
		source  string
		want    bool
	}{
		{nil, "news", true},
		{nil, "", true},
		{[]string{"mail"}, "mail", true},
		{[]string{"mail"}, "news", false},
		{[]string{"mail"}, "", false},
		{[]string{"mail", ""}, "", true},
	} {
		p := DefaultPolicy()
		p.Spam.Threshold = 1e-9 // every document scores above it
		p.Spam.Sources = tc.sources
		m, err := New(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := slices.ContainsFunc(m.ModerateSource(a, tc.source, nil), func(f Finding) bool { return f.Rule == RuleSpam })
		if got != tc.want {
			t.Errorf("sources %q, document source %q: spam flag %v, want %v", tc.sources, tc.source, got, tc.want)
		}
	}
}

// TestSpamNeedsWords: a document without a word is not judged; the model's
// bias alone scores it 0.83, above the threshold, so empty and blank
// documents were all flagged spam.
func TestSpamNeedsWords(t *testing.T) {
	m, err := New(DefaultPolicy(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"", "   \n\t\n  ", "— … —\n\n* * *"} {
		if fs := m.ModerateSource(analyzed(text), "", nil); slices.ContainsFunc(fs, func(f Finding) bool { return f.Rule == RuleSpam }) {
			t.Errorf("%q: flagged spam: %+v", text, fs)
		}
	}
	// One word is evidence enough (a spam mail may be a subject line and a link).
	p := DefaultPolicy()
	p.Spam.Threshold = 1e-9
	m, err = New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fs := m.ModerateSource(analyzed("Unsubscribe"), "", nil); !slices.ContainsFunc(fs, func(f Finding) bool { return f.Rule == RuleSpam }) {
		t.Errorf("one word: not judged: %+v", fs)
	}
}

func TestPolicyValidate(t *testing.T) {
	for field, mut := range map[string]func(*Policy){
		"spam.action":                  func(p *Policy) { p.Spam.Action = ActionRedact },
		"pii.email":                    func(p *Policy) { p.PII.Email = "shred" },
		"promotional.block_ratio":      func(p *Policy) { p.Promotional.BlockRatio = 0 },
		"blocklist.phrases[0]":         func(p *Policy) { p.Blocklist.Phrases = []string{"--"} },
		"promotional.extra_phrases[1]": func(p *Policy) { p.Promotional.ExtraPhrases = []string{"jetzt kaufen", ""} },
		"boilerplate.action":           func(p *Policy) { p.Boilerplate.Action = ActionReject },
		"promotional.document_ratio":   func(p *Policy) { p.Promotional.DocumentRatio = 2 },
	} {
		p := DefaultPolicy()
		mut(&p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
}

// TestSpamFeaturesFromAnalysis: the moderator scores from the dedupe
// analysis' word hashes; they must give the features training used.
func TestSpamFeaturesFromAnalysis(t *testing.T) {
	c, _ := dedupe.NewCleaner(dedupe.DefaultOptions())
	fx := NewFeaturizer(18)
	for _, text := range []string{"Subject here\n\nBody &amp; more\nsecond line", "one line only", "", "Ünïcödé ﬁne\n½ price",
		"Mac subject\r\rMac body\rmore", "Windows subject\r\n\r\nbody"} {
		var a dedupe.Analysis
		c.Analyze(text, &a)
		want := fx.Features(text, nil)
		got := SpamFeaturesFromWords(a.LineWords(0), a.Words[a.Lines[0].W1:], 18, nil)
		if strings.Trim(strings.Join(strings.Fields(fmtInts(got)), ","), "[]") != strings.Trim(strings.Join(strings.Fields(fmtInts(want)), ","), "[]") {
			t.Errorf("%q: features differ", text)
		}
	}
}

func fmtInts(v []uint32) string {
	var b strings.Builder
	for _, x := range v {
		b.WriteString(itoa(int(x)))
		b.WriteByte(' ')
	}
	return b.String()
}

func TestCountDigits(t *testing.T) {
	for _, s := range []string{"", "abc", "0123456789", "a1b2c3d4e5f6g7h8i9j0", "/:09\x80\xff\xb0\xb9 99 x", strings.Repeat("7z", 50), "abcdefg@", "@", "abcdefgh@ijk", "\xc0abcdefg"} {
		want := 0
		for i := 0; i < len(s); i++ {
			if s[i] >= '0' && s[i] <= '9' {
				want++
			}
		}
		if got, at := countDigitsAt(s); got != want || at != strings.Contains(s, "@") {
			t.Errorf("countDigitsAt(%q) = %d, %v; want %d", s, got, at, want)
		}
	}
}

func TestHasGlue(t *testing.T) {
	for s, want := range map[string]bool{"Subscribe for freeWhat": true, "iPhone and McDonald": false, "YouTube": true, "ALLCAPS Word": false, "éteÉtait": true} {
		if hasGlue(s) != want {
			t.Errorf("hasGlue(%q) = %v", s, !want)
		}
	}
}

// TestHasGlueAgreesWithGlueParts: over random text, hasGlue reports every
// line glueParts splits, and without an entity no other; dedupe's NoGlue
// hint is never set where hasGlue finds a point.
func TestHasGlueAgreesWithGlueParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "b", "z", "A", "Q", "Z", "é", "É", "ß", "σ", "Σ", "ǅ", "θ", "Ω", "漢", "1", " ", ".", "-", "&", "amp;", "&amp;", "&Eacute;", "&LeftArrow;", "&#65;", "\xff", "\u0301"}
	glued, split, ascii := 0, 0, 0
	n := dedupe.NewNormalizer()
	for range 200000 {
		var b strings.Builder
		for range 1 + rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		parts := len(glueParts(s, dedupe.Span{Start: 0, End: len(s)}, nil)) > 1
		got := hasGlue(s)
		if parts && !got || !strings.Contains(s, "&") && got != parts {
			t.Fatalf("hasGlue(%q) = %v; glueParts splits it: %v", s, got, parts)
		}
		// dedupe's hint, which lets the rules skip hasGlue, never hides one
		if n.HashWords(nil, s); got && n.NoGlue {
			t.Fatalf("%q: glued, and dedupe says it is not", s)
		}
		ascii += btoi(n.NoGlue)
		glued, split = glued+btoi(got), split+btoi(parts)
	}
	if split == 0 || glued == split || ascii == 0 {
		t.Errorf("%d of the texts split, %d reported glued, %d not glued by dedupe: want some, some entity reported and some",
			split, glued, ascii)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestEmailAroundMatchesRegexp checks the hand-written matcher against
// emailRe on tricky lines.
func TestEmailAroundMatchesRegexp(t *testing.T) {
	for _, s := range []string{
		"a@b.co", "x jane.doe+tag@mail.example.co.uk, y", "<ilug@linux.ie>", "-- user@host", "a@b", "@example.com",
		"foo@bar.c", "foo@-bar.com", "foo@bar-.com", "foo@bar.com.", "x@y.z1", "x@y.com1", "x@y.abc.d4", "..a@b.org",
		"name@domain.com>text", "tom@example.org.uk@", "list-admin@example.org?subject=unsubscribe",
	} {
		if got, want := emailsBothWays(s); got != want {
			t.Errorf("%q: got %q, regexp %q", s, got, want)
		}
	}
}

// emailsBothWays returns the e-mail addresses of s as the hand-written
// matcher finds them and as emailRe does, each joined by '|'.
func emailsBothWays(s string) (matcher, regexp string) {
	var want []string
	for _, l := range emailRe.FindAllStringIndex(s, -1) {
		want = append(want, s[l[0]:l[1]])
	}
	var got []string
	for _, f := range pii(s, dedupe.Span{Start: 0, End: len(s)}, nil, nil) {
		if f.kind == PIIEmail {
			got = append(got, s[f.span.Start:f.span.End])
		}
	}
	return strings.Join(got, "|"), strings.Join(want, "|")
}

func FuzzEmailMatchesRegexp(f *testing.F) {
	for _, s := range []string{"a@b.co", "x@y.com1", "<ilug@linux.ie>", "a.b@c-d.e.fg.h1", "@@a@b.cc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := emailsBothWays(s); got != want {
			t.Fatalf("%q: got %q, regexp %q", s, got, want)
		}
	})
}

// TestSpamScoreMatchesSortedFeatures: the moderator's bitset-deduplicated
// features score like the sorted set training used.
func TestSpamScoreMatchesSortedFeatures(t *testing.T) {
	m, err := New(DefaultPolicy(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := dedupe.NewCleaner(dedupe.DefaultOptions())
	for _, text := range []string{"FREE money!!! Click here\n\nbuy buy buy now now", "Re: meeting\n\nsee you at noon, same room as last week", "", "x"} {
		var a dedupe.Analysis
		c.Analyze(text, &a)
		sub, body := a.LineWords(0), a.Words[a.Lines[0].W1:]
		want := spamFeaturesSorted(sub, body, m.spam.Bits, nil)
		got := m.spamFeatures(sub, body, nil)
		if len(got) != len(want) {
			t.Fatalf("%q: %d features, want %d", text, len(got), len(want))
		}
		if d := m.spam.Score(got) - m.spam.Score(want); d > 1e-9 || d < -1e-9 {
			t.Errorf("%q: scores differ by %v", text, d)
		}
		for _, w := range m.seen {
			if w != 0 {
				t.Fatal("bitset not left empty")
			}
		}
	}
}

// FuzzTokensHashLikeDedupe: the tokenizer's words hash as dedupe hashes
// the same text, part by part where scraped blocks were glued, and read
// whole as dedupe reads it whole.
func FuzzTokensHashLikeDedupe(f *testing.F) {
	for _, s := range []string{"plain words, and 42", "アプリKindle for PC", "ｶﾞチャ ㍿ ² &amp; &nbsp;x&#8217;s", "Fish &amp; Chips",
		"Not\u00adfall&shy;x 漢\u00ad\u3099 -\u200d\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tk, _ := tokenHashes(t, s); !slices.Equal(tk, dedupeHashes(s)) {
			t.Fatalf("%q: token hashes differ from dedupe's", s)
		}
		// read whole, without glue points, as the blocklist's first reading does
		var whole []uint64
		for _, tok := range newTokenizer().part(s, dedupe.Span{Start: 0, End: len(s)}, nil) {
			whole = append(whole, tok.Hash)
		}
		if !slices.Equal(whole, dedupe.NewNormalizer().HashWords(nil, s)) {
			t.Fatalf("%q: read whole, token hashes differ from dedupe's", s)
		}
	})
}

// TestBoilerplateLines: with the boilerplate rule on, a page's footer and
// consent lines go, each found by a phrase on a short line (also where the
// scraper ran its links together); a long line that mentions one is body
// text and stays.
func TestBoilerplateLines(t *testing.T) {
	p := DefaultPolicy()
	p.Boilerplate.Enabled = true
	p.Spam.Enabled = false
	m, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := "Readers who want the full text can find it on the agency's site, where the privacy policy that applies to every visitor of the site is posted as well.\n" +
		"\n" +
		"Follow us on Twitter\n" +
		"Privacy Policy\n" +
		"Terms of Use\n" +
		"© 2019 Example News. All rights reserved.\n" +
		"Please enable JavaScript to view the comments.\n" +
		"By signing up, you agree to our Privacy Policy and Terms of Service.\n" +
		"HomeNewsPrivacy PolicyCareers\n" // links run together by the scraper
	var got []string
	for _, f := range m.Moderate(analyzed(text), nil) {
		if f.Rule == RuleBoilerplate {
			got = append(got, text[f.Span.Start:f.Span.End])
		}
	}
	want := []string{"Follow us on Twitter", "Privacy Policy", "Terms of Use", "© 2019 Example News. All rights reserved.",
		"Please enable JavaScript to view the comments.", "By signing up, you agree to our Privacy Policy and Terms of Service.",
		"HomeNewsPrivacy PolicyCareers"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("boilerplate lines:\n got %q\nwant %q", got, want)
	}
}
