package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// envName is a variable name ${...} may hold.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv replaces ${NAME} in a configuration file with the variable's
// value, as Benthos, Vector and Compose read theirs (`url: ${NATS_URL}` was
// read as those eleven characters, and `user: ${NATS_USER}` became a user
// of that name). ${NAME:-default} gives a default for a variable unset or
// empty (${NAME:default}, Benthos's way, too); $${ writes ${. A variable
// unset without a default is an error, as is a value holding a line break,
// which would move the file's lines; the error names the line. The text is
// replaced before YAML reads it, so a value with YAML's own characters
// (": ", " #", a quote) wants quotes around ${...}, as in those tools.
// Comments are left as they are.
func expandEnv(src []byte, lookupEnv func(string) (string, bool)) ([]byte, error) {
	if !bytes.Contains(src, []byte("${")) {
		return src, nil
	}
	var out bytes.Buffer
	var errs []string
	for n, line := range bytes.SplitAfter(src, []byte("\n")) {
		code, comment := splitComment(line)
		for {
			i := bytes.Index(code, []byte("${"))
			if i < 0 {
				break
			}
			if i > 0 && code[i-1] == '$' { // $${: a literal ${
				out.Write(code[:i])
				out.WriteString("{")
				code = code[i+2:]
				continue
			}
			end := bytes.IndexByte(code[i:], '}')
			if end < 0 {
				errs = append(errs, fmt.Sprintf("line %d: %s: no closing }", n+1, strings.TrimSpace(string(code[i:]))))
				break
			}
			out.Write(code[:i])
			ref := string(code[i+2 : i+end])
			name, def, hasDef := strings.Cut(ref, ":")
			if hasDef {
				def = strings.TrimPrefix(def, "-")
			}
			value, set := lookupEnv(name)
			switch {
			case !envName.MatchString(name):
				errs = append(errs, fmt.Sprintf("line %d: ${%s}: %q is not a variable name", n+1, ref, name))
			case (!set || value == "") && hasDef:
				value = def
			case !set:
				errs = append(errs, fmt.Sprintf("line %d: ${%s}: %s is not set (${%s:-default} gives a default)", n+1, ref, name, name))
			}
			if strings.ContainsAny(value, "\r\n") {
				errs = append(errs, fmt.Sprintf("line %d: ${%s}: its value holds a line break (give it in a WINNOW_ variable instead)", n+1, ref))
			}
			out.WriteString(value)
			code = code[i+end+1:]
		}
		out.Write(code)
		out.Write(comment)
	}
	if errs != nil {
		return nil, fmt.Errorf("environment variables: %s", strings.Join(errs, "; "))
	}
	return out.Bytes(), nil
}

// splitComment cuts a YAML line before its comment: a '#' at the start or
// after white space, outside a quoted scalar (one whose quote opens it).
func splitComment(line []byte) (code, comment []byte) {
	var quote, prev byte // prev: the last byte before i that is not a space
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '"' && c == '\\':
			i++ // an escape: \" does not close
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case (c == '"' || c == '\'') && strings.IndexByte("\x00:-[{,?", prev) >= 0:
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i], line[i:]
		}
		if c != ' ' && c != '\t' {
			prev = c
		}
	}
	return line, nil
}
