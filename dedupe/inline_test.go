package dedupe

import (
	"strings"
	"testing"
)

func TestInLineRepeats(t *testing.T) {
	const (
		caption = "Photo: David Zalubowski, STF / Associated Press"
		teaser  = "Michael Jordan turns up to support NASCAR’s Denny Hamlin"
		cookies = "This website uses cookies to improve your experience. You can opt out of them at any time in the settings."
	)
	tests := []struct {
		name string
		text string
		cut  []string // text of each cut, in order; each repeats the text before it
		kind Kind
	}{
		{name: "caption printed twice, once with an entity",
			text: "Unsold cars at a dealer. Photo: David Zalubowski, STF / Associated&#xa0;Press " + caption + " Image",
			cut:  []string{caption}, kind: KindSpan},
		{name: "caption printed twice, once with soft hyphens",
			text: "Der Notfalldatensatz liegt jetzt in der Akte Der Not&shy;fall&shy;daten&shy;satz liegt jetzt in der Akte Mehr",
			cut:  []string{"Der Not&shy;fall&shy;daten&shy;satz liegt jetzt in der Akte"}, kind: KindSpan},
		{name: "teaser printed twice", text: teaser + " " + teaser + "\nTom Hanks discovers he is related to Mister Rogers",
			cut: []string{teaser}, kind: KindSpan},
		{name: "teaser printed twice with other quotes", text: teaser + " " + strings.ReplaceAll(teaser, "’", "'"),
			cut: []string{strings.ReplaceAll(teaser, "’", "'")}, kind: KindSpan},
		{name: "three copies in a row", text: teaser + " " + teaser + " " + teaser,
			cut: []string{teaser, teaser}, kind: KindSpan},
		{name: "five copies in a row", text: strings.Repeat(teaser+" ", 5),
			cut: []string{teaser, teaser + " " + teaser, teaser}, kind: KindSpan},
		{name: "notice of two sentences shown again further on",
			text: "Intro text here. " + cookies + " The article itself starts here and goes on for a while. " + cookies + " The end.",
			cut:  []string{cookies}, kind: KindSentence},
		{name: "one sentence quoted twice stays",
			text: "Highlights: Israeli courts have declared most major settlements legal. The United Nations said otherwise " +
				"in a long statement. Israeli courts have declared most major settlements legal. Officials did not comment."},
		{name: "a sentence that takes up the words before it stays",
			text: "What is the difference between a mirage and a violist that plays in tune? A violist that plays in tune is a mirage."},
		{name: "a short refrain stays",
			text: "“ 3 anos, 3 anos, 3 anos… ” Veja, isso é tão natural aqui! “ 3 anos, 3 anos, 3 anos… ” Ninguém discute isso."},
		{name: "few distinct words stay", text: strings.Repeat("ha ", 20)},
		{name: "numbers stay", text: "               1986/87           1985/86\n          04/09/87 03/09/87  04/09/87 03/09/87"},
		{name: "a repeat that does not start at white space stays",
			text: `<a href="http://www.example.com/one/two/three">http://www.example.com/one/two/three</a>`},
		{name: "a copy glued to the text before it stays", text: teaser + "." + teaser},
		{name: "a repeat across lines is the line rules' business",
			text: cookies + "\nOther words come first here. " + cookies},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyze(t, tt.text)
			var got []string
			for _, c := range a.Cuts {
				got = append(got, tt.text[c.Start:c.End])
				if c.Kind != tt.kind || c.Reason != ReasonExactRepeat || c.Similarity != 1 {
					t.Errorf("cut %q: kind %v reason %v similarity %v, want %v exact_repeat 1", got[len(got)-1], c.Kind, c.Reason, c.Similarity, tt.kind)
				}
				if c.Ref.End > c.Start || Normalize(tt.text[c.Ref.Start:c.Ref.End]) != Normalize(tt.text[c.Start:c.End]) {
					t.Errorf("cut %q refers to %q, want the same words before it", got[len(got)-1], tt.text[c.Ref.Start:c.Ref.End])
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.cut, "|") {
				t.Errorf("cuts %q, want %q", got, tt.cut)
			}
		})
	}
}

func TestInLineOff(t *testing.T) {
	opts := DefaultOptions()
	opts.InLine = false
	c, err := NewCleaner(opts)
	if err != nil {
		t.Fatal(err)
	}
	var a Analysis
	teaser := "Michael Jordan turns up to support NASCAR’s Denny Hamlin"
	c.Analyze(teaser+" "+teaser, &a)
	if len(a.Cuts) != 0 {
		t.Errorf("in_line off: cuts %v", a.Cuts)
	}
	c, _ = NewCleaner(DefaultOptions())
	c.Analyze(teaser+" "+teaser, &a)
	if len(a.Cuts) != 1 {
		t.Errorf("in_line on: cuts %v, want 1", a.Cuts)
	}
}

// A line removed as a repeat of an earlier one is not searched: its cuts
// would be cuts of text already gone.
func TestInLineOnlyInKeptLines(t *testing.T) {
	teaser := "Michael Jordan turns up to support NASCAR’s Denny Hamlin"
	line := teaser + " " + teaser
	a := analyze(t, line+"\n"+line)
	if len(a.Cuts) != 1 || a.Cuts[0].Start != len(teaser)+1 {
		t.Errorf("cuts %v, want one, in the first line", a.Cuts)
	}
}
