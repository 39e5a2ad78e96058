package htmltext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	for _, c := range []struct{ name, page, want string }{
		{"paragraphs", "<p>One.</p><p>Two.</p>", "One.\nTwo."},
		{"omitted end tags", "<p>One.<p>Two.<li>Three", "One.\nTwo.\nThree"},
		{"inline elements join", "<p>Hello <b>bold</b> <a href=x>world</a>!</p>", "Hello bold world!"},
		{"no space where the markup has none", "<p>un<i>believ</i>able</p>", "unbelievable"},
		{"white space collapsed, ends trimmed", "<div>\n   Some\t\t text\n\n  here  \n</div>", "Some text here"},
		{"nested blocks make no blank lines", "<div><div><p>A</p></div>\n\n<div><p>B</p></div></div>", "A\nB"},
		{"br ends a line", "<p>line one<br>line two<br/><br>line three</p>", "line one\nline two\nline three"},
		{"entities decoded", "<p>Fish &amp; chips&#xa0;&copy; 2024 &lt;b&gt;</p>", "Fish & chips\u00a0© 2024 <b>"},
		{"head, scripts and styles left out",
			"<html><head><title>T</title><style>p{}</style><script>var x = '<p>no</p>';</script></head>" +
				"<body><script>alert(1)</script><p>Shown</p><noscript>Enable JavaScript</noscript><template><p>later</p></template></body></html>",
			"Shown"},
		{"an unclosed script hides the rest, as in a browser", "<p>Before</p><script>x = 1; <p>After</p>", "Before"},
		{"hidden elements left out",
			`<p>A</p><div hidden>B</div><p style="display: none">C</p><span style="visibility:hidden">D</span><p>E</p>`,
			"A\nE"},
		{"hidden until found is the page's own text", `<h2>History</h2><section hidden="until-found"><p>Founded in 1900.</p></section>` +
			`<div hidden="UNTIL-FOUND">Collapsed</div><div hidden="">Gone</div><div hidden=x>Also gone</div>`, "History\nFounded in 1900.\nCollapsed"},
		{"forms' options and text areas left out", "<p>Pick</p><select><option>One<option>Two</select><textarea>typed</textarea>", "Pick"},
		{"inline svg left out", `<p>Share <svg><text>icon</text></svg>this</p>`, "Share this"},
		{"table cells tab-separated, rows on lines",
			"<table><tr><th>Name</th> <th>Age</th></tr>\n<tr><td>Ann</td><td>31</td></tr></table>", "Name\tAge\nAnn\t31"},
		{"list items on lines", "<ul>\n<li>first</li>\n<li>second</li>\n</ul>", "first\nsecond"},
		{"pre keeps its white space", "<p>Code:</p><pre>\nif x {\n    y()\n}\n</pre><p>After</p>", "Code:\nif x {\n    y()\n}\nAfter"},
		{"headings and captions are lines", "<h1>Title</h1><figure><img src=a alt=x><figcaption>A caption</figcaption></figure>", "Title\nA caption"},
		{"comments and doctype left out", "<!DOCTYPE html><!-- note --><p>Text</p>", "Text"},
		{"text outside any element", "just text, no markup", "just text, no markup"},
		{"no visible text", "<html><head><script>x()</script></head><body> \n </body></html>", ""},
		{"a no-break space is text, not white space", "<p>\u00a0A</p>", "\u00a0A"},
		{"ruby annotations and their parentheses left out",
			"<p><ruby>漢<rp>(</rp><rt>かん</rt><rp>)</rp>字<rp>(</rp><rt>じ</rt><rp>)</rp></ruby>を読む</p>", "漢字を読む"},
		{"ruby annotations with end tags omitted", "<p><ruby>東<rt>とう<rb>京<rt>きょう</ruby>都<ruby>base<rtc>note</ruby></p>", "東京都base"},
		{"a dialog not open left out, an open one shown",
			"<p>Story</p><dialog><p>Subscribe for free</p></dialog><dialog open><p>Shown</p></dialog><p>More</p>", "Story\nShown\nMore"},
		{"media fallback left out", "<div>Watch<video src=a.mp4><p>Your browser does not support the video tag.</p></video> this</div>" +
			"<audio controls>No audio</audio><object data=x>No plugin</object><canvas>No canvas</canvas><p>End</p>", "Watch this\nEnd"},
		{"noembed and noframes left out", "<p>A<noembed>no plugin</noembed></p><noframes>no frames</noframes><p>B</p>", "A\nB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Text([]byte(c.page)); got != c.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", c.page, got, c.want)
			}
		})
	}
}

// TestTextOfDeepNesting: a page nested deeper than the parser takes (512
// open elements) is read token by token: its text, its blocks' line
// breaks, no script, no element the tree walk leaves out whose end tag is
// required (a dialog not open, nested video, SVG, select), no ruby
// annotation (one whose end tag is left out ends at the next block).
func TestTextOfDeepNesting(t *testing.T) {
	const depth = 100000
	page := "<head><title>T</title></head>" + strings.Repeat("<div>", depth) + "deep <b>text</b>" + strings.Repeat("</div>", depth) +
		"<script>x = '<p>no</p>'</script><p>after<br>the break</p><script/>y()</script><table><tr><td>a<td>b</table>" +
		"<p><ruby>東<rp>(<rt>とう<rp>)<rb>京<rt>きょう</ruby>都</p><dialog><p>pitch<dialog open>inner</dialog></p></dialog>" +
		"<dialog open><p>open</p></dialog><p>end<rt>stray<p>shown" +
		"<p>clip<video><video>inner</video>fallback</video> and <svg/>icon<svg><svg/><text>label</text></svg> " +
		"<select><option>one</select>pick</p>"
	if got, want := Text([]byte(page)), "deep text\nafter\nthe break\na\tb\n東京都\nopen\nend\nshown\nclip and icon pick"; got != want {
		t.Errorf("Text of %d nested divs = %.80q, want %q", depth, got, want)
	}
}

func TestCharset(t *testing.T) {
	for page, want := range map[string]string{
		`<html><head><meta charset="windows-1252"><title>x</title>`:                              "windows-1252",
		`<meta charset=shift_jis>`:                                                               "shift_jis",
		`<head><meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"></head>`:  "ISO-8859-1",
		`<head><meta content="text/html; charset=gbk" http-equiv="content-type"></head>`:         "gbk",
		`<head><meta name="viewport" content="width=device-width"><meta charset="utf-8"></head>`: "utf-8",
		`<head><meta http-equiv="refresh" content="0; url=x"></head><p>text`:                     "",
		`<p>no declaration</p>`:                                     "",
		`<meta charset="utf-16">`:                                   "utf-8", // the prescan's rule
		`<meta charset="UTF-16BE">`:                                 "utf-8",
		strings.Repeat(" ", 1100) + `<meta charset="windows-1252">`: "", // past the prescan's 1024 bytes
		`<head><meta http-equiv="Content-Type" content="text/html"><meta charset="koi8-r"></head>`: "koi8-r",
		// an XHTML page's XML declaration, when no meta declares one
		`<?xml version="1.0" encoding="windows-1252"?>` + "\n<html><p>x</p></html>":                   "windows-1252",
		`<?xml version='1.0' encoding='ISO-8859-1' standalone='yes'?><html>`:                          "ISO-8859-1",
		`<?xml version="1.0" encoding="iso-8859-1"?><html><head><meta charset="windows-1251"></head>`: "windows-1251",
		`<?xml version="1.0"?><html><p>x</p></html>`:                                                  "",
		`<?xml version="1.0" encoding="UTF-16"?><html>`:                                               "utf-8",
		`<p>encoding="koi8-r"</p>`:                                                                    "",
	} {
		if got := Charset([]byte(page)); got != want {
			t.Errorf("Charset(%.60q) = %q, want %q", page, got, want)
		}
	}
}

// FuzzText: any page reads without a panic to valid UTF-8 (from valid
// UTF-8) with no blank line and no line break at either end.
func FuzzText(f *testing.F) {
	for _, s := range []string{"<p>a</p><p>b</p>", "<pre>\n x\n</pre>", "<table><tr><td>a<td>b</table>", "<script>", "a<br><br>b", "&amp;&#0;&#xD800;"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		got := Text(page)
		if utf8.Valid(page) && !utf8.ValidString(got) {
			t.Fatalf("Text(%q) = %q, not valid UTF-8", page, got)
		}
		if strings.HasPrefix(got, "\n") || strings.HasSuffix(got, "\n") {
			t.Fatalf("Text(%q) = %q starts or ends with a line break", page, got)
		}
		_ = Charset(page)
	})
}
