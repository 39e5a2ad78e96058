package dedupe_test

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/internal/corpus"
)

type story struct{ Title, Dateline, Body string }

// reutersStories reads n stories with bodies of at least minBytes, none a
// near-duplicate of another (the newswire re-sent some stories under new
// titles; a test of "different stories" must not pick those).
func reutersStories(t *testing.T, n, minBytes int) []story {
	t.Helper()
	dir, err := corpus.Dir()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "reuters.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(gz)
	sc.Buffer(nil, 1<<20)
	var out []story
	var sets [][]uint64
	norm := dedupe.NewNormalizer()
	for sc.Scan() && len(out) < n {
		var s story
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Body) < minBytes || s.Title == "" {
			continue
		}
		_, words := norm.AppendWords(nil, nil, s.Body)
		set := dedupe.ShingleSet(words, 5, nil)
		distinct := true
		for _, o := range sets {
			distinct = distinct && dedupe.Jaccard(set, o) < 0.2
		}
		if distinct {
			out, sets = append(out, s), append(sets, set)
		}
	}
	return out
}

// page composes a scraped page: the site's own header, caption and
// "Recommended Stories" widget around a story.
func page(site string, s story, widget []story, edit func(string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s - Home | World | Business | Markets\n%s\n%s photo caption: %s\n\n", site, s.Title, site, s.Title)
	body := s.Dateline + " " + s.Body
	if edit != nil {
		body = edit(body)
	}
	b.WriteString(body)
	b.WriteString("\n\nRecommended Stories\n")
	for _, w := range widget {
		fmt.Fprintf(&b, "  • %s\n    %s\n", w.Title, strings.SplitN(w.Body, "\n", 2)[0])
	}
	fmt.Fprintf(&b, "(c) %s. All rights reserved.\n", site)
	return b.String()
}

type cross struct {
	t *testing.T
	c *dedupe.Cleaner
	x *dedupe.Cross
	m dedupe.Memory
}

func newCross(t *testing.T) *cross {
	c, _ := dedupe.NewCleaner(dedupe.DefaultOptions())
	m := dedupe.NewMemory(dedupe.DefaultMemoryOptions())
	x, err := dedupe.NewCross(dedupe.DefaultCrossOptions(), 5, m)
	if err != nil {
		t.Fatal(err)
	}
	return &cross{t: t, c: c, x: x, m: m}
}

// feed decides one document and commits it unless it is a duplicate.
func (c *cross) feed(id, text string) (*dedupe.Analysis, dedupe.CrossDecision) {
	var a dedupe.Analysis
	var d dedupe.CrossDecision
	c.c.Analyze(text, &a)
	c.x.Decide(id, &a, &d)
	if d.DuplicateOf == "" {
		c.m.Commit(&d.Commit)
	}
	return &a, d
}

// TestSyndicatedStories: a story re-published on another site with that
// site's own chrome and a few words changed is a duplicate; a different
// story on the same site, sharing its widget, is not.
func TestSyndicatedStories(t *testing.T) {
	st := reutersStories(t, 40, 1500)
	widgetA, widgetB := st[20:26], st[26:32]
	x := newCross(t)
	dups, falses := 0, 0
	for i := 0; i < 10; i++ {
		orig := fmt.Sprint("siteA/", i)
		if _, d := x.feed(orig, page("Daily Planet", st[i], widgetA, nil)); d.DuplicateOf != "" {
			t.Errorf("%s: original marked duplicate of %s", orig, d.DuplicateOf)
			falses++
		}
		edit := func(s string) string {
			s = strings.Replace(s, " said ", " told reporters ", 2)
			return strings.Replace(s, " the ", " a ", 3)
		}
		_, d := x.feed(fmt.Sprint("siteB/", i), page("Evening Star", st[i], widgetB, edit))
		if d.DuplicateOf != orig || d.Rule != dedupe.RuleNear {
			t.Errorf("syndicated copy of %s: duplicate_of %q (similarity %.2f, rule %q)", orig, d.DuplicateOf, d.Similarity, d.Rule)
		} else {
			dups++
		}
	}
	t.Logf("%d of 10 syndicated copies found; %d false duplicates among 10 different stories sharing a widget", dups, falses)
}

// TestLongerVersion: a story sent again with twice as much text added
// (a wire story expanded, a reply pasting its parent unmarked) is not a
// duplicate of the short version: it has more to say, and the lines it
// repeats are removed as cross-document repeats. The short version sent
// after the long one is the long one's duplicate.
func TestLongerVersion(t *testing.T) {
	st := reutersStories(t, 20, 2000)
	x := newCross(t)
	versions := func(s story) (short, long string) {
		lines := strings.Split(s.Body, "\n")
		k := len(lines) / 3
		return s.Title + "\n\n" + s.Dateline + " " + strings.Join(lines[:k], "\n"),
			s.Title + "\n\n" + s.Dateline + " " + s.Body
	}
	longDups, repeatsRemoved := 0, 0
	for i := range 10 {
		short, long := versions(st[i])
		x.feed(fmt.Sprint("short/", i), short)
		a, d := x.feed(fmt.Sprint("long/", i), long)
		if d.DuplicateOf != "" {
			longDups++
			t.Errorf("long/%d marked duplicate of %s (%s, similarity %.2f)", i, d.DuplicateOf, d.Rule, d.Similarity)
			continue
		}
		for _, r := range a.Removals {
			if r.Reason == dedupe.ReasonCrossRepeat && r.RefDoc == fmt.Sprint("short/", i) {
				repeatsRemoved++
				break
			}
		}
	}
	if repeatsRemoved != 10-longDups {
		t.Errorf("%d of %d long versions lost the short version's lines as cross_repeat", repeatsRemoved, 10-longDups)
	}
	for i := 10; i < 20; i++ {
		short, long := versions(st[i])
		x.feed(fmt.Sprint("long/", i), long)
		if _, d := x.feed(fmt.Sprint("short/", i), short); d.DuplicateOf != fmt.Sprint("long/", i) {
			t.Errorf("short/%d after its long version: duplicate_of %q", i, d.DuplicateOf)
		}
	}
}

// TestReplyIsJudgedOnWhatItAdds: a reply quoting its parent in full is
// not a duplicate; its quote is removed as a cross-document repeat.
func TestReplyIsJudgedOnWhatItAdds(t *testing.T) {
	st := reutersStories(t, 2, 1500)
	x := newCross(t)
	parent := "Re: cocoa\n\n" + st[0].Body
	x.feed("mail/1", parent)
	var q strings.Builder
	q.WriteString("Re: cocoa\n\nI doubt the crop figures; the rains came late and the\nexporters will say so on Monday, mark my words.\n\nOn Mon, Feb 26, Bob wrote:\n")
	for _, l := range strings.Split(st[0].Body, "\n") {
		q.WriteString("> " + strings.TrimSpace(l) + "\n")
	}
	a, d := x.feed("mail/2", q.String())
	if d.DuplicateOf != "" {
		t.Fatalf("reply marked duplicate of %s", d.DuplicateOf)
	}
	var quote *dedupe.Removal
	for i := range a.Removals {
		if a.Removals[i].Reason == dedupe.ReasonCrossRepeat && a.Removals[i].RefDoc == "mail/1" {
			quote = &a.Removals[i]
		}
	}
	if quote == nil || !strings.HasPrefix(a.Text[quote.Start:quote.End], "> ") || quote.Similarity < 0.9 {
		t.Fatalf("quoted passage not removed as a cross_repeat of mail/1: %+v", a.Removals)
	}
	if strings.Contains(a.Text[quote.Start:quote.End], "mark my words") {
		t.Fatal("the reply's own text went with the quote")
	}
}

// TestCopyWhoseLinesWereSeen: a re-sent document is a duplicate even
// though every one of its lines was seen before.
func TestCopyWhoseLinesWereSeen(t *testing.T) {
	st := reutersStories(t, 1, 1500)
	x := newCross(t)
	doc := st[0].Title + "\n\n" + st[0].Body
	x.feed("a", doc)
	if _, d := x.feed("b", doc); d.DuplicateOf != "a" || d.Similarity < 0.9 || d.Rule != dedupe.RuleExact {
		t.Fatalf("copy: %+v", d)
	}
	// A redelivery of "a" finds its own commit and is not its own duplicate.
	if a, d := x.feed("a", doc); d.DuplicateOf != "" || len(a.Removals) != 0 {
		t.Fatalf("redelivered original judged against itself: dup %q, removals %d", d.DuplicateOf, len(a.Removals))
	}
}

// TestCopyTheSketchesMiss: a story already on three pages beside other
// text recurs, so a fourth copy has no own text to sketch, and a copy of
// a page's part has a low Jaccard with the page. Both are duplicates of
// the page that first held their lines. A short note of its own beside
// the recurring story stays clean, its note kept.
func TestCopyTheSketchesMiss(t *testing.T) {
	st := reutersStories(t, 6, 1500)
	x := newCross(t)
	story := st[0].Title + "\n\n" + st[0].Body
	for i := 1; i <= 3; i++ {
		if _, d := x.feed(fmt.Sprint("page/", i), story+"\n\n"+st[i].Body); d.DuplicateOf != "" {
			t.Fatalf("page/%d, the story beside another, marked duplicate of %s (%.2f)", i, d.DuplicateOf, d.Similarity)
		}
	}
	if _, d := x.feed("copy", story); d.DuplicateOf != "page/1" || d.Similarity < 0.8 || d.Rule != dedupe.RuleBlocks {
		t.Errorf("copy of a story held by three pages: duplicate_of %q, similarity %.2f, rule %q", d.DuplicateOf, d.Similarity, d.Rule)
	}
	note := "Our correspondent adds that the committee will meet again\nnext week in the capital, and that no vote is expected before\nthe budget is published at the end of the month by the ministry."
	a, d := x.feed("note", note+"\n\n"+st[0].Body)
	if d.DuplicateOf != "" {
		t.Fatalf("note beside a recurring story marked duplicate of %s (%.2f)", d.DuplicateOf, d.Similarity)
	}
	story0 := 0
	for _, r := range a.Removals {
		if strings.Contains(note, a.Text[r.Start:r.End]) {
			t.Errorf("the note's own line %q removed as %s", a.Text[r.Start:r.End], r.Reason)
		}
		if r.Reason == dedupe.ReasonCrossRepeat && r.RefDoc == "page/1" {
			story0++
		}
	}
	if story0 == 0 {
		t.Errorf("the recurring story beside the note not removed as a repeat of page/1: %+v", a.Removals)
	}
	x = newCross(t)
	x.feed("long", story+"\n\n"+st[1].Body+"\n\n"+st[2].Body+"\n\n"+st[3].Body)
	if _, d := x.feed("part", story); d.DuplicateOf != "long" || d.Similarity < 0.8 || d.Rule != dedupe.RuleBlocks {
		t.Errorf("copy of a quarter of a page: duplicate_of %q, similarity %.2f, rule %q", d.DuplicateOf, d.Similarity, d.Rule)
	}
}

// TestCopyOfADuplicateNamesTheOriginal: an exact copy of a document that
// was itself a duplicate (so committed nothing) names the original that
// document repeats, not the copy it was made from; an exact copy of an
// original is still an exact duplicate of it. (FuzzCross found the first:
// the copy's claim named the duplicate.)
func TestCopyOfADuplicateNamesTheOriginal(t *testing.T) {
	st := reutersStories(t, 2, 1500)
	x := newCross(t)
	page := st[0].Title + "\n\n" + st[0].Body + "\n\n" + st[1].Body
	x.feed("page", page)
	if _, d := x.feed("part", st[0].Body); d.DuplicateOf != "page" {
		t.Fatalf("a story of the page: duplicate_of %q (%s)", d.DuplicateOf, d.Rule)
	}
	_, d := x.feed("copy-of-part", st[0].Body)
	if d.DuplicateOf != "page" || d.Rule == dedupe.RuleExact || d.Similarity < 0.8 {
		t.Errorf("a copy of a duplicate: duplicate_of %q, rule %q, similarity %.2f; want the page, not its exact copy", d.DuplicateOf, d.Rule, d.Similarity)
	}
	if _, d := x.feed("copy-of-page", page); d.DuplicateOf != "page" || d.Rule != dedupe.RuleExact || d.Similarity != 1 {
		t.Errorf("a copy of the page: duplicate_of %q, rule %q, similarity %.2f; want page, exact, 1", d.DuplicateOf, d.Rule, d.Similarity)
	}
}

// TestSignatureIsNobodysContent: two short mails from one sender, or two
// one-liners to one list, share a signature or a trailer but nothing else:
// neither is the other's duplicate. The same mail sent again with its
// signature is.
func TestSignatureIsNobodysContent(t *testing.T) {
	sig := "\n-- \nKen Coar, Sanagendamgagwedweinini  http://Golux.Com/coar/\nAuthor, developer, opinionist      http://Apache-Server.Com/\n\n\"Millennium hand and shrimp, said the old man at the door!\"\n"
	trailer := "\n\n-------------------------------------------------------\nThis sf.net email is sponsored by: OSDN - Tired of that same old\ncell phone?  Get a new here for FREE!\nhttps://www.inphonic.com/r.asp?r=sourceforge1&refcode1=vs3390\n_______________________________________________\nRazor-users mailing list\nRazor-users@lists.sourceforge.net\nhttps://lists.sourceforge.net/lists/listinfo/razor-users\n"
	x := newCross(t)
	for i, m := range []string{
		"Harvest Moon\n\nhttp://spineless.org/~mod/pix/octoberMoon.jpg" + sig,
		"A different sort of Fox News\n\nThis was just too funny, have a look.\n\nhttp://www.ozyandmillie.org/comics/om20020924.gif" + sig,
		"Re: servers down\n\nIsn't that why you have whitelisting?" + trailer,
		"Re: authentication error\n\nApologies to all, that came out harsher than I meant." + trailer,
	} {
		if _, d := x.feed(fmt.Sprint("m", i), m); d.DuplicateOf != "" {
			t.Errorf("m%d marked duplicate of %s (%.2f) through its signature or trailer", i, d.DuplicateOf, d.Similarity)
		}
	}
	st := reutersStories(t, 1, 1500)
	x.feed("story", st[0].Body+sig)
	if _, d := x.feed("again", st[0].Body+sig); d.DuplicateOf != "story" {
		t.Errorf("the same mail sent again: duplicate_of %q", d.DuplicateOf)
	}
}

// TestRepeatsUnderAQuoteHeader: a top-posted reply quotes its parent
// under an "-----Original Message-----" header, list trailer and all. The
// quoted lines are no part of the reply's own text, but those that repeat
// the parent exactly are removed; the reply's own lines stay.
func TestRepeatsUnderAQuoteHeader(t *testing.T) {
	st := reutersStories(t, 1, 1500)
	trailer := "\n\n-- \nIrish Linux Users' Group: ilug@linux.ie\nhttp://www.linux.ie/mailman/listinfo/ilug for (un)subscription information.\nList maintainer: listmaster@linux.ie"
	x := newCross(t)
	x.feed("parent", "[ILUG] cocoa\n\n"+st[0].Body+trailer)
	own := "Thanks, that settles it for the exporters and for us, I think."
	a, d := x.feed("reply", "RE: [ILUG] cocoa\n\n"+own+"\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\n\n"+st[0].Body+trailer)
	if d.DuplicateOf != "" {
		t.Fatalf("reply marked duplicate of %s", d.DuplicateOf)
	}
	removed := map[string]bool{}
	for _, r := range a.Removals {
		if r.Reason == dedupe.ReasonCrossRepeat && r.RefDoc == "parent" {
			removed[a.Text[r.Start:r.End]] = true
		}
	}
	for _, want := range []string{"Irish Linux Users' Group", strings.SplitN(strings.TrimSpace(st[0].Body), "\n", 2)[0]} {
		found := false
		for txt := range removed {
			found = found || strings.Contains(txt, want)
		}
		if !found {
			t.Errorf("quoted %q not removed as a repeat of the parent: %+v", want, a.Removals)
		}
	}
	for _, r := range a.Removals {
		if strings.Contains(a.Text[r.Start:r.End], own) {
			t.Errorf("the reply's own line removed as %s", r.Reason)
		}
	}
}

// TestRecurringTrailer: a list trailer after many messages is removed from
// every message but the first, and does not make them duplicates.
func TestRecurringTrailer(t *testing.T) {
	st := reutersStories(t, 8, 800)
	x := newCross(t)
	trailer := "_______________________________________________\nRPM-List mailing list <RPM-List@freshrpms.net>\nhttp://lists.freshrpms.net/mailman/listinfo/rpm-list"
	for i, s := range st {
		a, d := x.feed(fmt.Sprint("m", i), "Subject "+s.Title+"\n\n"+s.Body+"\n\n"+trailer)
		if d.DuplicateOf != "" {
			t.Fatalf("message %d marked duplicate of %s through the trailer", i, d.DuplicateOf)
		}
		removed := false
		for _, r := range a.Removals {
			removed = removed || (r.Reason == dedupe.ReasonCrossRepeat && strings.Contains(a.Text[r.Start:r.End], "RPM-List mailing list"))
		}
		if removed != (i > 0) {
			t.Errorf("message %d: trailer removed %v", i, removed)
		}
	}
}

// TestMemoryIsBounded: the window forgets documents older than MaxDocs.
func TestMemoryIsBounded(t *testing.T) {
	m := dedupe.NewMemory(dedupe.MemoryOptions{MaxDocs: 3, MaxBlocks: 1024, MaxShingles: 1024})
	for i := 0; i < 5; i++ {
		m.Commit(&dedupe.Commit{ID: fmt.Sprint(i), Blocks: []uint64{uint64(100 + i)}, Shingles: []uint64{uint64(200 + i)}})
	}
	if _, ok := m.Block(100); ok {
		t.Error("block of document 0 still remembered after 5 documents with MaxDocs 3")
	}
	if b, ok := m.Block(104); !ok || b.Docs != 1 {
		t.Errorf("block of the newest document: %+v %v", b, ok)
	}
	if id, _, ok := m.Doc(5); !ok || id != "4" {
		t.Errorf("Doc(5) = %q %v", id, ok)
	}
}

// TestTruncatedTeaser: a blurb cut short with "…" or "Read more" on a later
// page is removed as a repeat of the full one.
func TestTruncatedTeaser(t *testing.T) {
	st := reutersStories(t, 3, 1500)
	x := newCross(t)
	blurb := "The State Department on Tuesday ordered non-essential diplomats and their families to leave Myanmar, as a deadly crackdown on protesters intensified and the junta cut internet access across the country"
	x.feed("page/1", st[0].Title+"\n\n"+st[0].Body+"\n\n"+blurb+"\n")
	for i, cut := range []string{blurb[:120] + "…", blurb[:140] + " Read more"} {
		a, _ := x.feed(fmt.Sprint("page/", i+2), st[i+1].Title+"\n\n"+st[i+1].Body+"\n\n"+cut+"\n")
		found := false
		for _, r := range a.Removals {
			found = found || (r.Reason == dedupe.ReasonCrossRepeat && r.RefDoc == "page/1" && strings.HasPrefix(a.Text[r.Start:r.End], "The State Department"))
		}
		if !found {
			t.Errorf("teaser %q not removed as a repeat of page/1: %+v", cut[len(cut)-12:], a.Removals)
		}
	}
}

func TestCrossOptionsValidate(t *testing.T) {
	if err := dedupe.DefaultCrossOptions().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	o := dedupe.DefaultCrossOptions()
	o.BoilerplateDocs = o.RecurringDocs - 1
	if err := o.Validate(); !errors.Is(err, dedupe.ErrInvalidOptions) {
		t.Errorf("boilerplate_docs below recurring_docs: err %v, want ErrInvalidOptions", err)
	}
}

// TestSpacelessScripts: Chinese and Japanese are written without spaces, so
// a word-character run is a whole clause; a copy made by another extractor
// (a space beside a Latin name taken out, lines broken elsewhere, one
// character changed) must still be a near duplicate, and another article in
// the same script sharing its common characters must not.
func TestSpacelessScripts(t *testing.T) {
	ja := []string{
		"週末に古いノートパソコンを整理していたところ、十年前に書いた旅行の記録が出てきました。",
		"当時はまだスマートフォンの地図アプリ Google Maps も今ほど便利ではなく、紙の地図を片手に歩いたものです。",
		"最初に訪れたのは北陸の小さな港町で、朝市では地元の漁師さんが獲れたばかりの魚を並べていました。",
		"宿の主人に教えてもらった食堂の海鮮丼は、今でも忘れられない味として記憶に残っています。",
		"二日目は電車を乗り継いで山あいの温泉地へ向かい、雪の残る露天風呂でゆっくりと疲れを癒しました。",
		"帰りの列車では隣に座った年配の夫婦と話が弾み、若い頃に同じ道を旅したという思い出を聞かせてもらいました。",
		"記録を読み返してみると、写真よりも文章のほうが当時の空気をよく伝えてくれることに気づきます。",
		"これからは旅先で感じたことを、短くてもいいので毎日書き留めておこうと思います。",
	}
	other := []string{
		"新しい年度が始まり、職場では在宅勤務と出社を組み合わせた働き方が本格的に導入されました。",
		"当初は会議の進め方に戸惑う場面も多く、資料の共有方法を何度も見直すことになりました。",
		"それでも通勤の時間が減ったことで、朝の時間を読書や散歩にあてられるようになったのは大きな変化です。",
		"一方で、同僚と雑談する機会が少なくなり、ちょっとした相談がしにくくなったという声もあります。",
		"そこで週に一度は全員が出社する日を決め、顔を合わせて話す時間を意識的に作ることにしました。",
		"働き方の変化に合わせて、評価の仕組みや連絡のルールも少しずつ整えていく必要がありそうです。",
	}
	zh := []string{
		"今年春天，我们在城市东边的老街区开了一家小小的书店，专门卖旧书和本地作家的作品。",
		"开业第一周来的客人不多，但每一位都会在书架前停留很久，有人还带来了自己珍藏的旧杂志。",
		"为了让更多人知道这个地方，我们每个周末都会举办读书会，邀请附近的居民一起讨论一本书。",
		"慢慢地，读书会的人数从五六个增加到了二十多个，其中还有不少是刚刚搬来这里的年轻人。",
		"书店的收入虽然不高，但大家在这里找到了一种久违的安静，这比什么都重要。",
		"我们打算明年在二楼开辟一个小小的展览空间，展示老街区的照片和居民们的故事。",
	}
	x := newCross(t)
	for _, c := range []struct {
		name       string
		orig, copy string
	}{
		{"ja", strings.Join(ja, "\n"), strings.NewReplacer(
			"アプリ Google Maps も", "アプリGoogle Mapsも", // spaces beside a Latin name dropped
			"港町で、", "港町で、\n", // a line broken elsewhere
			"忘れられない", "忘れがたい", // a few characters changed
		).Replace(strings.Join(ja, "\n"))},
		{"zh", strings.Join(zh, "\n"), strings.NewReplacer(
			"旧书和本地作家", "旧书与本地作家",
			"停留很久，", "停留很久，\n",
		).Replace(strings.Join(zh, "\n"))},
	} {
		x.feed(c.name+"/orig", c.orig)
		if _, d := x.feed(c.name+"/copy", c.copy); d.DuplicateOf != c.name+"/orig" {
			t.Errorf("%s: the edited copy: duplicate_of %q (%s, similarity %.2f), want %s/orig", c.name, d.DuplicateOf, d.Rule, d.Similarity, c.name)
		}
	}
	if _, d := x.feed("ja/other", strings.Join(other, "\n")); d.DuplicateOf != "" {
		t.Errorf("another Japanese article: duplicate_of %q (%s, similarity %.2f)", d.DuplicateOf, d.Rule, d.Similarity)
	}
}

// TestLonePhraseOfWrappedProse: one line of a hard-wrapped paragraph that
// another document's line repeats is a common phrase, not a copied block:
// it stays, so the sentence it belongs to is not broken. Lines repeated one
// after another (a list's footer glued to the text, with its link), and a
// list's link alone on the last line, are still removed.
func TestLonePhraseOfWrappedProse(t *testing.T) {
	x := newCross(t)
	x.feed("wire/1", "ACME FILES FOR OFFERING\n\nNEW YORK, April 1 - Acme Corp said it filed for an offering of\n"+
		"10 mln shares of common stock, its first since the merger.\n"+
		"    In a filing with the Securities and Exchange Commission,\n"+
		"Acme said proceeds would be used to repay debt and for general\ncorporate purposes.\n"+
		"    The offering will be managed by Smith Barney and Co.\n Reuter\n")
	a, d := x.feed("wire/2", "BETA CORP PLANS DEBT SALE\n\nCHICAGO, April 2 - Beta Corp said it plans to sell 200 mln dlrs\n"+
		"of convertible debentures due 2012 to fund its expansion.\n"+
		"    In a filing with the Securities and Exchange Commission,\n"+
		"Beta said the debentures would be convertible into common stock\nat 45 dlrs a share.\n"+
		"    First Boston will lead the underwriting group.\n Reuter\n")
	if d.DuplicateOf != "" {
		t.Fatalf("wire/2 marked duplicate of %s", d.DuplicateOf)
	}
	for _, r := range a.Removals {
		t.Errorf("wire/2 lost %q (%s, ref %s): a phrase of its own sentence", a.Text[r.Start:r.End], r.Reason, r.RefDoc)
	}

	footer := "To unsubscribe from this list, send a blank message to\nleave-notes@lists.example.org and you will be removed at once.\n" +
		"http://lists.example.org/mailman/listinfo/notes\n"
	x.feed("list/1", "Weekly notes\n\nThe build is green again and the release is on track for Monday.\n"+
		"Two of the flaky tests were mended and the third is now quarantined until the fix lands.\n"+
		"Please review the migration plan before the meeting on Thursday afternoon.\n"+footer)
	a, d = x.feed("list/2", "Lunch plans\n\nWe are going to the noodle place on the corner at half past twelve.\n"+
		"Anyone who wants to join should meet us in the lobby a few minutes before then.\n"+
		"If it rains we will order in and eat in the big meeting room on the third floor.\n"+footer)
	if d.DuplicateOf != "" {
		t.Fatalf("list/2 marked duplicate of %s", d.DuplicateOf)
	}
	var removed []string
	for _, r := range a.Removals {
		if r.Reason == dedupe.ReasonCrossRepeat && r.RefDoc == "list/1" {
			removed = append(removed, a.Text[r.Start:r.End])
		}
	}
	if want := strings.Split(strings.TrimSuffix(footer, "\n"), "\n"); !slices.Equal(removed, want) {
		t.Errorf("list/2 removed %q as repeats of list/1, want the footer's lines %q", removed, want)
	}

	// The link alone under the text, even under a line that does not end
	// its sentence: a link on a line of its own continues no sentence.
	a, _ = x.feed("list/3", "Room change\n\nThe design review moves to the small room on the second floor this week.\n"+
		"Bring your laptop, since the projector there has been broken for a month now\n"+
		"http://lists.example.org/mailman/listinfo/notes\n")
	if len(a.Removals) != 1 || a.Text[a.Removals[0].Start:a.Removals[0].End] != "http://lists.example.org/mailman/listinfo/notes" {
		t.Errorf("list/3 removals %+v, want the list's link alone", a.Removals)
	}
}
