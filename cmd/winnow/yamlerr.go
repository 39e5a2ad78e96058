package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// unknownField is how yaml.v3 reports a key that names no field:
// "line 2: field handler not found in type worker.Config".
var unknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type \S+$`)

// explainYAMLError rewrites yaml.v3's unknown-key errors in err, which name
// a Go type, as the key's dotted path with the key it is closest to:
// "line 2: unknown key worker.handler (worker.handlers?)". src is the YAML
// err came from; docPrefix is where its keys sit in configDocs
// ("pipeline.moderation" for a moderation policy file), and paths are
// written without it. Other errors are returned as they are.
func explainYAMLError(err error, src []byte, docPrefix string) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return err
	}
	type key struct {
		line int
		name string
	}
	paths := map[key]string{}
	eachKey(doc.Content[0], "", func(path string, k *yaml.Node) { paths[key{k.Line, k.Value}] = path })
	for i, e := range te.Errors {
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
		if near := closest(leaf, siblings); near != "" {
			te.Errors[i] += fmt.Sprintf(" (%s%s?)", parent, near)
		}
	}
	return err
}
