package dedupe

import "testing"

func TestTidy(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Beijing&#xa0; - Reuters", "Beijing  - Reuters"},
		{"Fish &amp; Chips&nbsp;for &#8220;two&#8221; &#x27;quoted&#x27; &#39s", "Fish & Chips for “two” 'quoted' 's"},
		{"decoded once: &amp;lt;b&amp;gt;", "decoded once: &lt;b&gt;"},
		{"AT&T, Q&A & R&D; &semi; &notanentity;", "AT&T, Q&A & R&D; ; &notanentity;"},
		// a URL's query keeps its parameters: html.UnescapeString reads
		// "&sect" and "&not" out of them
		{"http://x.asp?target=3&sectionid=1&subsection=2", "http://x.asp?target=3&sectionid=1&subsection=2"},
		{"contentId=A3-2001Jul8&notFound=true&copy=1", "contentId=A3-2001Jul8&notFound=true&copy=1"},
		{"&notit; &copy2024 &ampB", "&notit; &copy2024 &ampB"},
		// a whole legacy name without its ';' is read, as in HTML
		{"Ben &amp Jerry&nbsp&copy; 2024 &lt", "Ben & Jerry © 2024 <"},
		{"trailing&nbsp;&nbsp;", "trailing"},
		{"&#; &#x; & &", "&#; &#x; & &"},
	} {
		if got := Tidy(tt.in); got != tt.want {
			t.Errorf("Tidy(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestGluedHint: HashWords says which plain ASCII text has no word where a
// lower-case run runs into a capital and a lower-case letter ("freeWhat");
// of any other text it says nothing, for the caller to read. The map holds
// whether the text may be glued.
func TestGluedHint(t *testing.T) {
	n := NewNormalizer()
	for s, want := range map[string]bool{
		"Subscribe for free today":     false,
		"Subscribe for freeWhat next":  true,
		"iPhone, McDonald and ALLCaps": false, // one lower-case letter, or none, before the capital
		"YouTube":                      true,
		"abC d_eFg 12aBc":              false, // the capital ends a word, or follows fewer than two letters
		"weekendSubscribe":             true,
		"Fish &amp; chips":             true, // an entity: not looked at
		"café au lait":                 true, // not ASCII: not looked at
	} {
		if n.HashWords(nil, s); n.NoGlue == want {
			t.Errorf("%q: NoGlue %v, want %v", s, n.NoGlue, !want)
		}
	}
}
