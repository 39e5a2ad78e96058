// Package htmltext reads the text a browser shows from an HTML page, for a
// crawler that sends pages as they came (Content-Type: text/html) rather
// than the text it extracted: each block (a paragraph, a heading, a list
// item, a table row, a line a <br> ends) becomes a line, white space is
// collapsed as a browser collapses it (kept inside <pre>), entities are
// decoded, table cells are separated by tabs, and what a browser does not
// show is left out: the head, scripts, styles, templates, <noscript>,
// <noembed>, forms' option lists and text areas, inline SVG, the fallback
// text of <video>, <audio>, <object> and <canvas>, a <dialog> not open, and
// elements hidden by the hidden attribute (not hidden="until-found", a
// collapsed section's) or an inline display:none or visibility:hidden. Ruby
// annotations (<rt>, <rtc>, and the <rp> parentheses a browser hides) are
// left out too: a browser sets them above their base text, and run in with
// it they would break its words (東<rt>とう</rt>京<rt>きょう</rt> reads 東京, as the
// same text printed without its readings does). Dedupe then finds the
// repeats a page's markup holds (navigation, teasers, a caption printed
// twice) line by line, as in extracted text.
//
// The page is parsed with golang.org/x/net/html, the HTML5 parsing
// algorithm browsers follow, so omitted end tags (<p>one<p>two), an
// unclosed <script> and stray markup read as a browser reads them.
package htmltext

import (
	"bytes"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/encoding/htmlindex"
)

// Text returns the visible text of an HTML page (UTF-8), one line per
// block, lines joined by "\n", with no blank lines and no white space at
// a line's ends outside <pre>.
func Text(page []byte) string {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil { // nested deeper than the parser's 512 open elements
		return tokens(page)
	}
	var w writer
	w.b.Grow(len(page) / 2)
	// Walk the tree without recursion (pages nest deep), leaving each
	// element as its last child is done.
	n := doc
	for n != nil {
		descend := w.enter(n)
		if descend && n.FirstChild != nil {
			n = n.FirstChild
			continue
		}
		if descend {
			w.leave(n)
		}
		for n != nil && n.NextSibling == nil {
			n = n.Parent
			if n != nil {
				w.leave(n)
			}
		}
		if n != nil {
			n = n.NextSibling
		}
	}
	return strings.TrimRight(w.b.String(), "\n") // <pre> text may end the page with its own
}

// writer builds the text: separators a block, a cell or a space asks for
// are held until text follows, so that no line is blank and no line ends
// in white space.
type writer struct {
	b       strings.Builder
	pending byte // '\n' for a line break, '\t' between cells, ' ' for white space; 0 for none
	last    byte // the last byte written
	pre     int  // depth of <pre> (and its kind) the walk is inside
}

func (w *writer) write(s string) {
	w.b.WriteString(s)
	w.last = s[len(s)-1]
}

// enter handles n as the walk reaches it and reports whether to walk its
// children.
func (w *writer) enter(n *html.Node) bool {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return false
	case html.ElementNode:
	case html.DocumentNode:
		return true
	default: // comments, doctypes
		return false
	}
	if n.Namespace != "" && n.Namespace != "math" || hidden(n) {
		return false // inline SVG's drawing (its text is mostly icons' labels); hidden elements
	}
	if leftOut(n.DataAtom) {
		return false // video and audio: their fallback ("Your browser does not support ...")
	}
	switch n.DataAtom {
	case atom.Head, atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Title,
		atom.Iframe, atom.Textarea, atom.Noembed, atom.Noframes, atom.Rt, atom.Rtc, atom.Rp:
		return false
	case atom.Dialog:
		if !hasAttr(n, "open") {
			return false
		}
		w.ask('\n')
	case atom.Br:
		w.ask('\n')
		return false
	case atom.Td, atom.Th:
		w.ask('\t')
	case atom.Pre, atom.Listing, atom.Xmp, atom.Plaintext:
		w.ask('\n')
		w.pre++
	default:
		if block(n.DataAtom) {
			w.ask('\n')
		}
	}
	return true
}

// leave handles element n once its children are done.
func (w *writer) leave(n *html.Node) {
	if n.Type != html.ElementNode {
		return
	}
	switch n.DataAtom {
	case atom.Pre, atom.Listing, atom.Xmp, atom.Plaintext:
		w.pre--
		w.ask('\n')
	default:
		if block(n.DataAtom) {
			w.ask('\n')
		}
	}
}

// ask holds a separator until text follows: a line break outranks a tab,
// a tab a space; at the start of the text none is written.
func (w *writer) ask(sep byte) {
	if w.b.Len() == 0 {
		return
	}
	switch {
	case sep == '\n', w.pending == '\n':
		w.pending = '\n'
	case sep == '\t', w.pending == '\t':
		w.pending = '\t'
	default:
		w.pending = ' '
	}
}

// text writes a text node: white space collapsed to one space outside
// <pre>, as written inside it.
func (w *writer) text(s string) {
	if w.pre > 0 {
		if s == "" {
			return
		}
		w.flush()
		w.write(s)
		return
	}
	for s != "" {
		i := strings.IndexFunc(s, space)
		if i < 0 {
			i = len(s)
		}
		if i > 0 {
			w.flush()
			w.write(s[:i])
		}
		s = s[i:]
		if s == "" {
			break
		}
		_, size := utf8.DecodeRuneInString(s)
		w.ask(' ')
		s = s[size:]
	}
}

// flush writes the separator held, if any: a line break only where <pre>
// text has not just written one.
func (w *writer) flush() {
	if w.pending != 0 && w.b.Len() > 0 && (w.pending != '\n' || w.last != '\n') {
		w.b.WriteByte(w.pending)
		w.last = w.pending
	}
	w.pending = 0
}

// space reports whether r is HTML's white space, which a browser collapses
// (not U+00A0, the no-break space &nbsp; writes, which it shows).
func space(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\f', '\r':
		return true
	}
	return false
}

// block reports whether an element starts and ends a line, as browsers'
// default style sheets display it (block, list-item, table rows and
// captions).
func block(a atom.Atom) bool {
	switch a {
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Body, atom.Center, atom.Dd, atom.Details,
		atom.Dialog, atom.Dir, atom.Div, atom.Dl, atom.Dt, atom.Fieldset, atom.Figcaption, atom.Figure, atom.Footer,
		atom.Form, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Header, atom.Hgroup, atom.Hr, atom.Html,
		atom.Legend, atom.Li, atom.Main, atom.Menu, atom.Nav, atom.Ol, atom.P, atom.Section, atom.Summary,
		atom.Table, atom.Caption, atom.Thead, atom.Tbody, atom.Tfoot, atom.Tr, atom.Ul, atom.Frameset:
		return true
	}
	return false
}

// hasAttr reports whether element n has the attribute key.
func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return true
		}
	}
	return false
}

// hidden reports whether an element is not shown: the hidden attribute,
// or an inline style of display:none or visibility:hidden. hidden=
// "until-found" is not: its content is the page's own, collapsed until
// find-in-page or a link to it opens it.
func hidden(n *html.Node) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			if !strings.EqualFold(strings.TrimSpace(a.Val), "until-found") {
				return true
			}
		case "style":
			s := strings.ToLower(strings.Join(strings.Fields(a.Val), ""))
			if strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden") {
				return true
			}
		}
	}
	return false
}

// Charset returns the character encoding label a page declares in its
// first 1024 bytes, as the HTML5 prescan finds it: <meta charset="...">,
// or <meta http-equiv="Content-Type" content="text/html; charset=...">;
// else, for an XHTML page that opens with an XML declaration, the
// declaration's encoding (<?xml version="1.0" encoding="windows-1252"?>),
// as an XML parser reads it; "" when it declares none. A declared UTF-16
// is read as UTF-8, as the prescan has it (a page whose declaration could
// be read as ASCII is not UTF-16). A Content-Type header's charset, or a
// byte order mark, outranks it.
func Charset(page []byte) string {
	label := declared(page)
	if label == "" {
		label = xmlEncoding(page)
	}
	if e, err := htmlindex.Get(label); err == nil {
		if name, _ := htmlindex.Name(e); name == "utf-16le" || name == "utf-16be" {
			return "utf-8"
		}
	}
	return label
}

// declared is the label of the prescan's first <meta> that declares one.
func declared(page []byte) string {
	if len(page) > 1024 {
		page = page[:1024]
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			if string(name) != "meta" {
				continue
			}
			var charset, content string
			var contentType bool
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				switch string(k) {
				case "charset":
					charset = strings.TrimSpace(string(v))
				case "content":
					content = string(v)
				case "http-equiv":
					contentType = strings.EqualFold(strings.TrimSpace(string(v)), "content-type")
				}
			}
			if charset != "" {
				return charset
			}
			if contentType {
				if _, params, err := mime.ParseMediaType(content); err == nil && params["charset"] != "" {
					return params["charset"]
				}
			}
		}
	}
}

// xmlEncoding returns the encoding an XML declaration at the start of page
// names (XML 1.0, section 4.3.3), or "".
func xmlEncoding(page []byte) string {
	if !bytes.HasPrefix(page, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(page, []byte("?>"))
	if end < 0 || end > 1024 {
		return ""
	}
	m := xmlEncodingAttr.FindSubmatch(page[:end])
	if m == nil {
		return ""
	}
	return string(append(m[1], m[2]...)) // one of them is empty
}

var xmlEncodingAttr = regexp.MustCompile(`\sencoding\s*=\s*(?:"([A-Za-z][A-Za-z0-9._-]*)"|'([A-Za-z][A-Za-z0-9._-]*)')`)

// tokens reads a page the parser refused (nested deeper than 512 open
// elements) token by token: text outside the elements whose content is
// never shown as text (script, style, title, textarea and the like, which
// the tokenizer reads raw) and outside the head, with block tags' line
// breaks, and without the elements the tree walk leaves out whose end tag
// is required (a <dialog> not open, <video>, <select>, inline SVG, ...) or
// ruby annotations. Without the tree, hidden attributes and styles and
// omitted end tags are not known: an annotation whose end tag is left out
// ends at the next base, block or end of its ruby.
func tokens(page []byte) string {
	var w writer
	z := html.NewTokenizer(bytes.NewReader(page))
	skip := atom.Atom(0)           // the raw-text element being skipped
	hide, depth := atom.Atom(0), 0 // the element being left out, and how deep in it
	annotation := false            // inside <rt>, <rtc> or <rp>
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimRight(w.b.String(), "\n")
		case html.TextToken:
			if skip == 0 && hide == 0 && !annotation {
				w.text(string(z.Text()))
			}
			continue
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
		default:
			continue
		}
		name, attrs := z.TagName()
		a := atom.Lookup(name)
		start := tt != html.EndTagToken // <script/> too: HTML ignores the slash, as a browser does
		if a == atom.Svg && tt == html.SelfClosingTagToken {
			continue // a foreign element's slash is kept: <svg/> is empty
		}
		if a == atom.Rt || a == atom.Rtc || a == atom.Rp {
			annotation = start
			continue
		}
		if a == atom.Rb || a == atom.Ruby || block(a) {
			annotation = false
		}
		switch {
		case skip != 0:
			if !start && a == skip {
				skip = 0
			}
		case start && rawText(a):
			skip = a
		case hide != 0:
			if a == hide && start {
				depth++
			} else if a == hide {
				if depth--; depth == 0 {
					hide = 0
				}
			}
		case start && (leftOut(a) || a == atom.Dialog && !openAttr(z, attrs)):
			hide, depth = a, 1
		case a == atom.Br:
			w.ask('\n')
		case a == atom.Td || a == atom.Th:
			if tt != html.EndTagToken {
				w.ask('\t')
			}
		case a == atom.Pre || a == atom.Listing:
			w.ask('\n')
			if tt == html.StartTagToken {
				w.pre++
			} else if tt == html.EndTagToken && w.pre > 0 {
				w.pre--
			}
		case block(a):
			w.ask('\n')
		}
	}
}

// leftOut reports whether an element is left out, with its content, that
// is not raw text and whose end tag is required: both readers use it, the
// tag-by-tag one because it can find such an element's end. (The tree walk
// leaves out inline SVG by its namespace.)
func leftOut(a atom.Atom) bool {
	switch a {
	case atom.Object, atom.Canvas, atom.Select, atom.Datalist, atom.Video, atom.Audio, atom.Svg:
		return true
	}
	return false
}

// openAttr reports whether the tag z has just read has an open
// attribute; more is what TagName said of its attributes.
func openAttr(z *html.Tokenizer, more bool) bool {
	for more {
		var k []byte
		k, _, more = z.TagAttr()
		if string(k) == "open" {
			return true
		}
	}
	return false
}

// rawText reports whether the tokenizer reads an element's content as one
// raw text token that a browser does not show as text.
func rawText(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Title, atom.Textarea, atom.Xmp, atom.Iframe, atom.Noembed,
		atom.Noframes, atom.Noscript, atom.Template:
		return true
	}
	return false
}
