package pipeline

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/moderate"
	"github.com/winnow-dev/winnow/schemas"
)

func TestRenderBlankLinesAroundRemovals(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moderate = false
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"a\n\nb\n\na\n\nc", "a\n\nb\n\nc"},            // removal between blanks leaves one
		{"a\n\n\nb", "a\n\n\nb"},                       // the author's own blank lines stay
		{"a\nb\na\n", "a\nb"},                          // a trailing blank after a removal goes
		{"x\n", "x\n"},                                 // a document's final newline stays
		{"Fish &amp; chips&nbsp;  \t", "Fish & chips"}, // entities decoded, trailing space tidied
		{"dup line\n\ndup line\n\ntail", "dup line\n\ntail"},
	}
	for _, tt := range tests {
		_, rec, _ := p.Process(schemas.Document{ID: "t", Text: tt.in})
		if rec.Text != tt.want {
			t.Errorf("%q -> %q, want %q", tt.in, rec.Text, tt.want)
		}
		if rec.Stats.BytesOut != len(rec.Text) || rec.Stats.BytesIn != len(tt.in) {
			t.Errorf("stats %+v", rec.Stats)
		}
	}
}

// TestCutsLeaveOneSpace: a span cut out of a line (redact with nothing
// written in its place) leaves one space between the words around it, and
// none at the start or end of the line.
func TestCutsLeaveOneSpace(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moderation.Blocklist.Phrases = []string{"forbidden topic"}
	cfg.Moderation.Blocklist.Action = moderate.ActionRedact
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ in, want string }{
		{"The forbidden topic came up.", "The came up."},
		{"Forbidden topic at the start of it", "at the start of it"},
		{"  forbidden topic   indented here", "  indented here"},
		{"It ends with the forbidden topic", "It ends with the"},
	} {
		_, rec, _ := p.Process(schemas.Document{ID: "c", Text: tt.in})
		if rec.Text != tt.want {
			t.Errorf("%q -> %q, want %q", tt.in, rec.Text, tt.want)
		}
	}
}

func TestModerationOutcomes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moderation.Blocklist.Phrases = []string{"forbidden topic"}
	cfg.Moderation.Blocklist.Action = moderate.ActionReject
	cfg.Moderation.PII.Email = moderate.ActionRedact
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o, rec, _ := p.Process(schemas.Document{ID: "r", Text: "A note on the Forbidden  Topic here."})
	if o != Rejected || rec.Rejected == nil || rec.Rejected.Rule != moderate.RuleBlocklist {
		t.Fatalf("outcome %v, rejected %+v", o, rec.Rejected)
	}
	o, rec, _ = p.Process(schemas.Document{ID: "e", Text: "Reach me at jane@example.com or jane@example.org any day of the week."})
	if o != Clean || rec.Text != "Reach me at [email] or [email] any day of the week." {
		t.Fatalf("outcome %v text %q", o, rec.Text)
	}
	for _, r := range rec.Removed {
		if strings.Contains(r.Text, "jane") || strings.Contains(r.Evidence, "jane") {
			t.Errorf("personal data copied into the record: %+v", r)
		}
	}
	cfg.Moderation.PII.Email = moderate.ActionFlag
	cfg.Moderation.Spam.Enabled = false
	p, _ = New(cfg)
	_, rec, _ = p.Process(schemas.Document{ID: "f", Text: "a@example.com\nb@example.com"})
	if len(rec.Flags) != 1 || rec.Flags[0].Rule != "pii.email" || rec.Flags[0].Score != 2 {
		t.Fatalf("flags %+v, want one pii.email flag counting 2", rec.Flags)
	}
}

// TestSpamSources: the pipeline gives the moderator the document's source,
// so spam.sources can keep the mail-trained model off other text.
func TestSpamSources(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moderation.Spam.Threshold = 1e-9 // every document scores above it
	cfg.Moderation.Spam.Sources = []string{"mail"}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := "Quarterly results\n\nThe company said net profit rose to 12 mln dlrs from nine mln a year earlier."
	for _, tc := range []struct {
		source string
		want   bool
	}{{"mail", true}, {"news", false}, {"", false}} {
		_, rec, err := p.Process(schemas.Document{ID: "s/" + tc.source, Text: text, Source: tc.source})
		if err != nil {
			t.Fatal(err)
		}
		got := slices.ContainsFunc(rec.Flags, func(f schemas.Flag) bool { return f.Rule == moderate.RuleSpam })
		if got != tc.want {
			t.Errorf("source %q: flags %+v, spam %v, want %v", tc.source, rec.Flags, got, tc.want)
		}
	}
}

func TestPanickingStageIsTheCallersToRecover(t *testing.T) {
	p, _ := New(DefaultConfig(), StageFunc(func(d *Doc) { panic("boom") }))
	defer func() {
		if recover() == nil {
			t.Fatal("panic swallowed inside the pure pipeline")
		}
	}()
	p.Process(schemas.Document{ID: "x", Text: "y"})
}

// TestDetachedCommit: a detached commit records the document as Commit
// would, once, and the pipeline is left with nothing to commit; a duplicate
// detaches nothing.
func TestDetachedCommit(t *testing.T) {
	cfg := DefaultConfig()
	mem := dedupe.NewMemory(cfg.CrossOptions.Memory)
	cfg.Memory = mem
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	story := strings.Repeat("The council met on Tuesday to discuss the new budget for the city's parks. ", 6)
	var pend Pending
	if o, _, err := p.Process(schemas.Document{ID: "a", Text: story}); err != nil || o != Clean {
		t.Fatalf("first copy: %v %v", o, err)
	}
	p.Detach(&pend)
	p.Commit() // detached: the pipeline has nothing left to commit
	if o, _, _ := p.Process(schemas.Document{ID: "b", Text: story + "\nA line of its own to tell it apart."}); o != Clean {
		t.Fatalf("near copy judged %v before the first was committed", o)
	}
	pend.Commit()
	pend.Commit() // a second call does nothing
	var later Pending
	o, rec, _ := p.Process(schemas.Document{ID: "c", Text: story + "\nAnother closing line, unlike b's."})
	if o != Duplicate || rec.DuplicateOf != "a" || rec.DuplicateRule == "" {
		t.Fatalf("after the detached commit: %v duplicate of %q (rule %q), want a duplicate of a", o, rec.DuplicateOf, rec.DuplicateRule)
	}
	p.Detach(&later)
	later.Commit()
	if o, _, _ := p.Process(schemas.Document{ID: "d", Text: "Another story entirely, about rain."}); o != Clean {
		t.Fatalf("unrelated document: %v", o)
	}
	if id, _, ok := mem.Doc(1); !ok || id != "a" {
		t.Fatalf("first committed document %q %v, want a", id, ok)
	}
	if _, _, ok := mem.Doc(2); ok {
		t.Fatal("a second document was committed: the detached one twice, or the duplicate")
	}
}

// TestFetchedAtAgesTheMemory: a document's fetched_at, in any RFC 3339
// form the schema takes (here "t" and "z" in lower case), dates its commit,
// so memory.max_age forgets it by that date.
func TestFetchedAtAgesTheMemory(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CrossOptions.Memory.MaxAge = 24 * time.Hour
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	story := strings.Repeat("The council met on Tuesday to discuss the new budget for the city's parks. ", 6)
	if o, _, err := p.Process(schemas.Document{ID: "a", Text: story, FetchedAt: "2026-01-01t08:00:00z"}); err != nil || o != Clean {
		t.Fatalf("first copy: %v %v", o, err)
	}
	p.Commit()
	rain := strings.Repeat("Heavy rain closed two roads north of the river on Sunday, the police said. ", 6)
	if o, _, _ := p.Process(schemas.Document{ID: "b", Text: rain, FetchedAt: "2026-03-01T08:00:00Z"}); o != Clean {
		t.Fatalf("unrelated document: %v", o)
	}
	p.Commit()
	if o, rec, _ := p.Process(schemas.Document{ID: "c", Text: story, FetchedAt: "2026-03-01T09:00:00Z"}); o != Clean {
		t.Fatalf("a copy of a document fetched two months before, with max_age 24h: %v (duplicate of %q by %s)", o, rec.DuplicateOf, rec.DuplicateRule)
	}
}

// TestBareCarriageReturnsEndLines: in classic Mac text ('\r' alone ends a
// line) a repeated line goes as it does between '\n's, and the record's
// lines are joined by '\n'; a CRLF's '\r' is tidied away as before.
func TestBareCarriageReturnsEndLines(t *testing.T) {
	p, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"The harbour at dawn, from the east pier.\rA caption here\rA caption here\rThe boats came in late.":       "The harbour at dawn, from the east pier.\nA caption here\nThe boats came in late.",
		"The harbour at dawn, from the east pier.\r\nA caption here\r\nA caption here\r\nThe boats came in late.": "The harbour at dawn, from the east pier.\nA caption here\nThe boats came in late.",
	} {
		_, rec, err := p.Process(schemas.Document{ID: "mac", Text: in})
		if err != nil || rec.Text != want || len(rec.Removed) != 1 || rec.Removed[0].Reason != "exact_repeat" || rec.Stats.LinesIn != 4 {
			t.Errorf("%q: %q, removed %+v, %d lines in (%v); want %q", in, rec.Text, rec.Removed, rec.Stats.LinesIn, err, want)
		}
	}
}

// TestFactoryCompilesModerationOnce: the pipelines a Factory builds share
// the compiled policy, so eight of them (a worker's handlers) with a
// 20,000-phrase blocklist allocate less than one pipeline New builds, and
// clean alike.
func TestFactoryCompilesModerationOnce(t *testing.T) {
	cfg := DefaultConfig()
	for i := range 20000 {
		cfg.Moderation.Blocklist.Phrases = append(cfg.Moderation.Blocklist.Phrases, fmt.Sprintf("blocked phrase %d", i))
	}
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	var one *Pipeline
	single := allocated(func() {
		var err error
		if one, err = New(cfg); err != nil {
			t.Fatal(err)
		}
	})
	newPipeline, err := Factory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var many []*Pipeline
	eight := allocated(func() {
		for range 8 {
			p, err := newPipeline()
			if err != nil {
				t.Fatal(err)
			}
			many = append(many, p)
		}
	})
	if eight >= single {
		t.Errorf("eight pipelines of one Factory allocated %d bytes, one of New %d", eight, single)
	}
	doc := schemas.Document{ID: "d", Text: "Officials met on Tuesday.\nThe blocked phrase 19999 is here.\nAnd the talks went on."}
	_, want, _ := one.Process(doc)
	for _, p := range many {
		if _, got, _ := p.Process(doc); !reflect.DeepEqual(got, want) || len(got.Removed) != 1 {
			t.Fatalf("record %+v, want %+v with one removal", got, want)
		}
	}
}

// TestInLineRepeatCut: a caption printed twice inside one line loses its
// second copy in the record's text, and the removal says what it repeats.
func TestInLineRepeatCut(t *testing.T) {
	p, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	const caption = "Photo: David Zalubowski, STF / Associated Press"
	in := "Unsold cars at a dealer. " + caption + " " + caption + " Image\nNew car sales plunge."
	_, rec, err := p.Process(schemas.Document{ID: "cars", Text: in})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Unsold cars at a dealer. " + caption + " Image\nNew car sales plunge."; rec.Text != want {
		t.Errorf("text %q, want %q", rec.Text, want)
	}
	if len(rec.Removed) != 1 {
		t.Fatalf("removed %+v, want one", rec.Removed)
	}
	r, first := rec.Removed[0], strings.Index(in, caption)
	if r.Reason != "exact_repeat" || r.Kind != "span" || r.Text != caption || r.Offset != first+len(caption)+1 ||
		r.Length != len(caption) || r.RefOffset == nil || *r.RefOffset != first || *r.RefLength != len(caption) || r.Similarity != 1 {
		t.Errorf("removal %+v", r)
	}
}

// TestCutsInLinesRemovedLater: a stage after dedupe that removes a line
// takes the line's in-line cuts with it; the record names the line's
// removal only.
func TestCutsInLinesRemovedLater(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Moderate = false
	dropFirst := StageFunc(func(d *Doc) {
		l := d.A.Lines[0]
		d.A.Remove(0, 0, dedupe.Removal{Span: l.Span, Kind: l.Kind, Reason: dedupe.ReasonCrossRepeat, RefDoc: "earlier"})
	})
	p, err := New(cfg, dropFirst)
	if err != nil {
		t.Fatal(err)
	}
	const teaser = "Michael Jordan turns up to support NASCAR’s Denny Hamlin"
	_, rec, err := p.Process(schemas.Document{ID: "t", Text: teaser + " " + teaser + "\nMore stories"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Text != "More stories" || len(rec.Removed) != 1 || rec.Removed[0].Reason != "cross_repeat" {
		t.Errorf("text %q, removed %+v", rec.Text, rec.Removed)
	}
}

// TestRemovedTextMasksRedactedData: the text a removal quotes holds no
// personal data of a kind the policy redacts (the default policy redacts
// cards and flags addresses): not a repeated line's, a repeat inside a
// line's, another document's line's or a dropped block's.
func TestRemovedTextMasksRedactedData(t *testing.T) {
	p, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	const card = "4111 1111 1111 1111"
	docs := []string{
		"Pay with card " + card + " today, jane@example.com.\nOther words here.\nPay with card " + card + " today, jane@example.com.",
		"Order now, jane@example.com, with card " + card + " please. Order now, jane@example.com, with card " + card + " please. End.",
		"A new page with its own words in it.\nPay with card " + card + " today, jane@example.com.",
		"Get it now! Write to jane@example.com and pay with card " + card + ". Use code SAVE50 at checkout. Buy now!\n" +
			"The story itself, in words of its own and more of them here.",
	}
	removed := 0
	for i, text := range docs {
		_, rec, err := p.Process(schemas.Document{ID: fmt.Sprint("d", i), Text: text})
		if err != nil {
			t.Fatal(err)
		}
		p.Commit()
		if strings.Contains(rec.Text, card) {
			t.Errorf("doc %d: text %q holds the card", i, rec.Text)
		}
		for _, r := range rec.Removed {
			if strings.HasPrefix(r.Reason, "pii.") {
				continue
			}
			removed++
			if strings.Contains(r.Text, card) || !strings.Contains(r.Text, "[card]") {
				t.Errorf("doc %d: %s removal quotes %q, want the card masked", i, r.Reason, r.Text)
			}
			if !strings.Contains(r.Text, "jane@example.com") {
				t.Errorf("doc %d: %s removal quotes %q, want the flagged address as it stands", i, r.Reason, r.Text)
			}
		}
	}
	if removed != 4 {
		t.Errorf("%d removals besides redactions, want 4 (a line, a repeat in a line, a line of another document, a dropped block)", removed)
	}
}

// TestMaxRemovals: a record lists max_removals removals, whichever stage
// made them (here a redaction's cut between repeats): an example of every
// reason and repeated block first (the email's cut and line B's repeat
// before line A's second repeat), in input order, and counts the rest in
// removed_omitted; its text and stats.removed_by_reason are those of a
// record that lists them all.
func TestMaxRemovals(t *testing.T) {
	text := strings.Repeat("Line A, worth keeping here.\n", 5) + "Write to jane@example.com for the rest of the story.\n" +
		strings.Repeat("Line B, also worth keeping.\n", 2)
	records := map[int]schemas.Record{}
	for _, max := range []int{0, 2, 3, 4, 6} {
		cfg := DefaultConfig()
		cfg.Moderation.PII.Email = moderate.ActionRedact
		cfg.MaxRemovals = max
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, rec, err := p.Process(schemas.Document{ID: "m", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		records[max] = rec
	}
	all := records[0]
	var reasons []string
	for _, rm := range all.Removed {
		reasons = append(reasons, rm.Reason)
	}
	if want := []string{"exact_repeat", "exact_repeat", "exact_repeat", "exact_repeat", "pii.email", "exact_repeat"}; !slices.Equal(reasons, want) || all.RemovedOmitted != 0 {
		t.Fatalf("max_removals 0: removals %q, %d omitted: want %q, none omitted", reasons, all.RemovedOmitted, want)
	}
	for max, keep := range map[int][]int{2: {0, 4}, 3: {0, 4, 5}, 4: {0, 1, 4, 5}, 6: {0, 1, 2, 3, 4, 5}} {
		var want []schemas.Removal
		for _, k := range keep {
			want = append(want, all.Removed[k])
		}
		rec := records[max]
		if !reflect.DeepEqual(rec.Removed, want) || rec.RemovedOmitted != len(all.Removed)-max ||
			rec.Text != all.Text || !reflect.DeepEqual(rec.Stats, all.Stats) {
			t.Errorf("max_removals %d: removed %+v, %d omitted, text %q, stats %+v: want %v of %+v, the rest omitted, text %q, stats %+v",
				max, rec.Removed, rec.RemovedOmitted, rec.Text, rec.Stats, keep, all.Removed, all.Text, all.Stats)
		}
	}
	cfg := DefaultConfig()
	cfg.MaxRemovals = -1
	if _, err := New(cfg); err == nil || err.Error() != "pipeline: invalid config: max_removals: -1: want 0 (list every removal) or more" {
		t.Errorf("max_removals -1: %v", err)
	}
}

// TestLargeRecordDoesNotPinItsLists: after a page of 20,000 removals and a
// small document, the pipeline keeps no list sized for the page.
func TestLargeRecordDoesNotPinItsLists(t *testing.T) {
	p, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{strings.Repeat("a\n", 20001), "A small page.\nA small page."} {
		if _, _, err := p.Process(schemas.Document{ID: "p", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if c := cap(p.order); c > 1<<14 {
		t.Errorf("the pipeline keeps a list of %d removals after a small document", c)
	}
}
