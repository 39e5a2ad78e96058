package evaluate

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestKeptLinesMatching(t *testing.T) {
	in := splitLines("Fish &amp; chips\nA line that is long enough to be contained\nshort\nshort\nred green blue")
	kept := keptLines(in, "fish & chips\nPrefix: a line that is long enough to be contained, and more\nshort\nblue green red yellow")
	want := []bool{true, true, true, false, true}
	for i := range want {
		if kept[i] != want[i] {
			t.Errorf("line %d kept=%v, want %v", i, kept[i], want[i])
		}
	}
}

func TestScoreLabelsPairsSpam(t *testing.T) {
	yes, no := true, false
	c := 0.9
	g := &Gold{
		Docs: []Doc{
			{ID: "a", Text: "body one\nrepeat me\nrepeat me\n-- \ntrailer text"},
			{ID: "b", Text: "body two\n-- \ntrailer text\n> quoted body one"},
			{ID: "c", Text: "body one\nother"},
		},
		Labels: map[string]Label{"a": {ID: "a", Spam: &no, Cluster: "x"}, "b": {ID: "b", Spam: &yes}, "c": {ID: "c", Cluster: "x"}},
		Pairs:  []Pair{{A: "a", B: "c", Label: "duplicate", Kind: "k"}, {A: "a", B: "b", Label: "not_duplicate", Kind: "reply_quotes_parent"}},
		Blocks: map[string][]Block{
			"a": {{Doc: "a", Kind: "list_trailer", Start: 29, End: 44, Text: "-- \ntrailer text"}},
			"b": {{Doc: "b", Kind: "list_trailer", Start: 9, End: 24, Text: "-- \ntrailer text"},
				{Doc: "b", Kind: "quoted_reply", Start: 25, End: 42, Ref: "a", Containment: &c}},
		},
	}
	flag := func(s string) []json.RawMessage { return []json.RawMessage{json.RawMessage(s)} }
	outs := map[string]Output{
		"a": {ID: "a", Text: "body one\nrepeat me\n-- \ntrailer text"},
		"b": {ID: "b", Text: "body two\n> quoted body one", Flags: flag(`{"rule":"spam","score":0.99}`)},
		"c": {ID: "c", DuplicateOf: "a"},
	}
	r := Score(g, outs, 3)
	if r.InDocRepeats != 1 || r.InDocRemoved != 1 {
		t.Errorf("in-doc %d/%d, want 1/1", r.InDocRemoved, r.InDocRepeats)
	}
	// b's trailer repeats a's; b's quote of a (containment 0.9) must go but stayed.
	if r.CrossDocRepeats != 2 || r.CrossDocRemoved != 1 {
		t.Errorf("cross-doc %d/%d, want 1/2", r.CrossDocRemoved, r.CrossDocRepeats)
	}
	if r.BodyLines != 3 || r.BodyRemoved != 0 { // "body one", "body two" and a's "repeat me"
		t.Errorf("body %d/%d, want 0/3", r.BodyRemoved, r.BodyLines)
	}
	if r.DupPairs != 1 || r.DupFound != 1 || r.DupFalsePositives != 0 {
		t.Errorf("pairs: %+v", r)
	}
	if r.SpamTP != 1 || r.SpamFP != 0 || r.SpamF1 != 1 {
		t.Errorf("spam: tp %d fp %d f1 %v", r.SpamTP, r.SpamFP, r.SpamF1)
	}
}

// TestClip: an example line in the report is cut between characters, so
// %q shows it as text, not a split character's bytes.
func TestClip(t *testing.T) {
	long := "x" + strings.Repeat("é", 60) // byte 80 is inside an é
	got := clip(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || len(got) > 80+len("…") || len(got) < 78 {
		t.Errorf("clip(%d bytes) = %q", len(long), got)
	}
	if got := clip("  short line  "); got != "short line" {
		t.Errorf("clip = %q", got)
	}
}
