package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/winnow-dev/winnow/worker"
)

// decodeYAML decodes the YAML document src into the struct v points to,
// refusing unknown keys, and returns yaml.v3's errors with each key named
// by its dotted path (docPrefix as explainYAMLError takes it). A number
// with a fraction given for a whole-number setting ("handlers: 2.5"), which
// yaml.v3 would cut to 2 without a word, is an error too.
func decodeYAML(src []byte, v any, docPrefix string) error {
	// One reading of the nodes serves the days' rewrite and the fraction
	// check: the rewrite touches durations only, and keeps every line.
	root := yamlRoot(src)
	src = withDaysAsHours(src, root, reflect.TypeOf(v).Elem())
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return explainYAMLError(tabHint(err, src), src, docPrefix, reflect.TypeOf(v).Elem())
	}
	if root == nil {
		return nil
	}
	var cut []string
	eachValue(root, "", reflect.TypeOf(v).Elem(), func(path string, n *yaml.Node, t reflect.Type) {
		if cutsFraction(n, t) {
			cut = append(cut, fmt.Sprintf("line %d: %s: %s: want %s", n.Line, path, n.Value, wanted(t)))
		}
	})
	if cut != nil {
		return &yaml.TypeError{Errors: cut}
	}
	return nil
}

// yamlRoot returns the root node of the YAML document src, or nil when src
// does not parse or holds no document.
func yamlRoot(src []byte) *yaml.Node {
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// withDaysAsHours rewrites in src (whose root node is root) each duration
// setting of the struct type t written in days (ttl: 7d, which yaml.v3
// reads with time.ParseDuration and refuses) as Go writes it (168h0m0s),
// in place, so every line keeps its number for the errors. src is returned
// as it is when it holds none, or does not parse (root nil: yaml.v3's
// decoding then says why).
func withDaysAsHours(src []byte, root *yaml.Node, t reflect.Type) []byte {
	if root == nil {
		return src
	}
	type edit struct {
		line, col int
		from, to  string
	}
	var edits []edit
	eachValue(root, "", t, func(_ string, n *yaml.Node, t reflect.Type) {
		if t != durationType || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" || !leadingDays.MatchString(n.Value) {
			return
		}
		if d, err := parseDuration(n.Value); err == nil {
			edits = append(edits, edit{n.Line, n.Column, n.Value, d.String()})
		}
	})
	if edits == nil {
		return src
	}
	// Right to left within a line, so an edit moves no value still to come.
	slices.SortFunc(edits, func(a, b edit) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(b.col, a.col)) })
	lines := bytes.SplitAfter(src, []byte("\n"))
	for _, e := range edits {
		if e.line < 1 || e.line > len(lines) {
			continue
		}
		line := lines[e.line-1]
		at := 0 // the value's first byte: its column counts runes
		for c := 1; c < e.col && at < len(line); c++ {
			_, size := utf8.DecodeRune(line[at:])
			at += size
		}
		i := bytes.Index(line[at:], []byte(e.from))
		if i < 0 || i > 1 { // at the column, or after its quote
			continue
		}
		i += at
		lines[e.line-1] = slices.Concat(line[:i], []byte(e.to), line[i+len(e.from):])
	}
	return bytes.Join(lines, nil)
}

// syntaxAt is how yaml.v3 reports a syntax error: "yaml: line 2: found
// character that cannot start any token".
var syntaxAt = regexp.MustCompile(`^yaml: line (\d+): `)

// tabHint adds to a syntax error near a line indented with a tab that YAML
// indents with spaces: yaml.v3 says "found character that cannot start any
// token", or names the line before the tab.
func tabHint(err error, src []byte) error {
	m := syntaxAt.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	n, _ := strconv.Atoi(m[1])
	lines := bytes.Split(src, []byte("\n"))
	for i := max(n-1, 1); i <= n+1 && i <= len(lines); i++ {
		indent := lines[i-1][:len(lines[i-1])-len(bytes.TrimLeft(lines[i-1], " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			return fmt.Errorf("%w (line %d is indented with a tab: YAML indents with spaces)", err, i)
		}
	}
	return err
}

// cutsFraction reports whether n is a number with a fraction for a setting
// of type t that takes whole numbers: yaml.v3 would cut 2.5 to 2. 1e6 is a
// whole number.
func cutsFraction(n *yaml.Node, t reflect.Type) bool {
	if !isInt(t) || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!float" {
		return false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	return err != nil || f != math.Trunc(f)
}

// eachValue calls f for every value of the mapping n (a key's value, or an
// item of a list) whose key names a field of the struct type t, with its
// dotted path ("worker.backoff item 2" for a list's second item) and the
// field's type. Keys that name no field are left to yaml.v3's errors.
func eachValue(n *yaml.Node, prefix string, t reflect.Type, f func(path string, v *yaml.Node, t reflect.Type)) {
	walkValues(n, prefix, t, f, 0)
}

func walkValues(n *yaml.Node, prefix string, t reflect.Type, f func(path string, v *yaml.Node, t reflect.Type), depth int) {
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct || depth > 64 { // a merge key's alias may name its own mapping
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "<<" { // a merge key: its mappings' keys are this one's
			merged := n.Content[i+1]
			if merged.Kind == yaml.AliasNode && merged.Alias != nil {
				merged = merged.Alias
			}
			if merged.Kind == yaml.SequenceNode {
				for _, m := range merged.Content {
					walkValues(m, prefix, t, f, depth+1)
				}
			}
			walkValues(merged, prefix, t, f, depth+1)
			continue
		}
		ft, ok := yamlField(t, n.Content[i].Value)
		if !ok {
			continue
		}
		path := n.Content[i].Value
		if prefix != "" {
			path = prefix + "." + path
		}
		v := n.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		f(path, v, ft)
		switch {
		case v.Kind == yaml.SequenceNode && ft.Kind() == reflect.Slice:
			for j, item := range v.Content {
				f(fmt.Sprintf("%s item %d", path, j+1), item, ft.Elem())
			}
		case v.Kind == yaml.MappingNode:
			walkValues(v, path, ft, f, depth+1)
		}
	}
}

// yamlField returns the type of the field of struct type t that YAML key
// name sets.
func yamlField(t reflect.Type, name string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag := strings.Split(f.Tag.Get("yaml"), ",")[0]; f.IsExported() && tag == name && tag != "-" {
			return f.Type, true
		}
	}
	return nil, false
}

func isInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return t != durationType
	}
	return false
}

// wanted says what a setting of type t takes, in the words the environment's
// errors use.
func wanted(t reflect.Type) string {
	switch {
	case t == durationType:
		return durationSyntax
	case t == bytesType:
		return worker.BytesSyntax
	case isInt(t):
		return "a whole number"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a single value"
	case reflect.Slice:
		return "a list, each " + wanted(t.Elem())
	case reflect.Struct:
		var keys []string
		for i := 0; i < t.NumField(); i++ {
			if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; t.Field(i).IsExported() && tag != "" && tag != "-" {
				keys = append(keys, tag)
			}
		}
		return "a mapping of " + strings.Join(keys, ", ")
	}
	return "a " + t.String()
}

// unknownField is how yaml.v3 reports a key that names no field:
// "line 2: field handler not found in type worker.Config".
var unknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type \S+$`)

// mismatch is how yaml.v3 reports a value of the wrong kind, naming a Go
// type: "line 2: cannot unmarshal !!str `four` into int" (a value over ten
// bytes is cut to its first seven and "..."). worker.Bytes adds its reason
// after a colon.
var mismatch = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+)(?: `(.*)`)? into ([^\\s:]+)(?:: (.*))?$")

// explainYAMLError rewrites yaml.v3's errors in err, which name a Go type,
// with the key's dotted path: an unknown key with the key it is closest to,
// "line 2: unknown key worker.handler (worker.handlers?)", and a value of
// the wrong kind with what the setting takes, "line 2: worker.handlers:
// "four": want a whole number". src is the YAML err came from and t the
// type it was decoded into; docPrefix is where its keys sit in configDocs
// ("pipeline.moderation" for a moderation policy file), and paths are
// written without it. Other errors are returned as they are.
func explainYAMLError(err error, src []byte, docPrefix string, t reflect.Type) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	root := yamlRoot(src)
	if root == nil {
		return err
	}
	type key struct {
		line int
		name string
	}
	paths := map[key]string{}
	eachKey(root, "", func(path string, k *yaml.Node) { paths[key{k.Line, k.Value}] = path })
	type value struct {
		path string
		n    *yaml.Node
		t    reflect.Type
	}
	values := []value{{"the file", root, t}} // "[1, 2]" where a mapping goes
	eachValue(root, "", t, func(path string, n *yaml.Node, t reflect.Type) { values = append(values, value{path, n, t}) })
	for i, e := range te.Errors {
		if m := mismatch.FindStringSubmatch(e); m != nil {
			line, _ := strconv.Atoi(m[1])
			for _, v := range values {
				if v.n.Line != line || v.n.ShortTag() != "!!"+m[2] || !shownAs(v.n.Value, m[3]) || v.t.String() != m[4] {
					continue
				}
				switch v.n.Kind {
				case yaml.SequenceNode:
					te.Errors[i] = fmt.Sprintf("line %d: %s: want %s, not a list", line, v.path, wanted(v.t))
				case yaml.MappingNode:
					te.Errors[i] = fmt.Sprintf("line %d: %s: want %s, not a mapping", line, v.path, wanted(v.t))
				default:
					shown, want := v.n.Value, "want "+wanted(v.t)
					if m[5] != "" {
						want = m[5] // worker.Bytes's reason
					}
					if v.n.ShortTag() == "!!str" {
						shown = strconv.Quote(shown)
						if v.n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 && unquotedFits(v.n.Value, v.t) {
							want += ", without the quotes" // handlers: "4", cross: "false"
						}
					}
					te.Errors[i] = fmt.Sprintf("line %d: %s: %s: %s", line, v.path, shown, want)
				}
				break
			}
			continue
		}
		m := unknownField.FindStringSubmatch(e)
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[1])
		path, ok := paths[key{line, m[2]}]
		if !ok {
			continue
		}
		parent, leaf := "", path
		if dot := strings.LastIndexByte(path, '.'); dot >= 0 {
			parent, leaf = path[:dot+1], path[dot+1:]
		}
		full := parent
		if docPrefix != "" {
			full = docPrefix + "." + parent
		}
		var siblings []string
		for p := range configDocs {
			if rest, ok := strings.CutPrefix(p, full); ok && !strings.Contains(rest, ".") {
				siblings = append(siblings, rest)
			}
		}
		te.Errors[i] = fmt.Sprintf("line %d: unknown key %s", line, path)
		if other := otherFilesSection(docPrefix, path); other != "" {
			te.Errors[i] += other
		} else if near := closest(leaf, siblings); near != "" {
			te.Errors[i] += fmt.Sprintf(" (%s%s?)", parent, near)
		}
	}
	return err
}

// otherFilesSection says when an unknown top-level key is a section of
// the other kind of file: a moderation policy given with --config, or a
// configuration given with --policy (each said "unknown key" for every
// section, with no word of the mix-up).
func otherFilesSection(docPrefix, path string) string {
	switch _, policyKey := configDocs["pipeline.moderation."+path]; {
	case strings.Contains(path, "."):
	case docPrefix == "" && policyKey:
		return " (a moderation policy's section: put it under pipeline.moderation, or give the file with --policy)"
	case docPrefix == "pipeline.moderation":
		if _, ok := configDocs[path]; ok {
			return " (a configuration file's section: give the file with --config)"
		}
	}
	return ""
}

// shownAs reports whether yaml.v3's error shows value as shown: whole, or
// its first seven bytes and "..." when it is longer than ten.
func shownAs(value, shown string) bool {
	if prefix, cut := strings.CutSuffix(shown, "..."); cut && len(value) > 10 {
		return strings.HasPrefix(value, prefix)
	}
	return value == shown
}

// unquotedFits reports whether value, written without quotes, would set a
// setting of type t.
func unquotedFits(value string, t reflect.Type) bool {
	var n yaml.Node
	if yaml.Unmarshal([]byte(value), &n) != nil || len(n.Content) != 1 || n.Content[0].Kind != yaml.ScalarNode {
		return false
	}
	return !cutsFraction(n.Content[0], t) && n.Content[0].Decode(reflect.New(t).Interface()) == nil
}
