package pipeline

import (
	"strings"
	"testing"

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

func TestPanickingStageIsTheCallersToRecover(t *testing.T) {
	p, _ := New(DefaultConfig(), StageFunc(func(d *Doc) { panic("boom") }))
	defer func() {
		if recover() == nil {
			t.Fatal("panic swallowed inside the pure pipeline")
		}
	}()
	p.Process(schemas.Document{ID: "x", Text: "y"})
}
