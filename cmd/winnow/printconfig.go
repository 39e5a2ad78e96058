package main

import (
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// secretMask stands for a password or token in what winnow prints, and
// urlSecretMask for one in a URL; Validate refuses either as a secret, so
// a file saved from --check-config does not connect with the mask.
const (
	secretMask    = "********"
	urlSecretMask = "xxxxx"
)

// printConfig writes the effective configuration as YAML, secrets masked,
// each key under its text from configDocs.
func printConfig(w io.Writer, c Config) {
	for _, s := range []*string{&c.NATS.Password, &c.NATS.Token} {
		if *s != "" {
			*s = secretMask
		}
	}
	c.NATS.URL = redactURLs(c.NATS.URL)
	writeDocumented(w, c, "", true)
}

// writeDocumented writes v as YAML with configDocs' text above each key,
// whose paths start with prefix (e.g. "pipeline.moderation" for a
// moderation policy on its own). With envEscaped, a "${" in a value is
// written "$${", so the configuration file, where expandEnv reads ${NAME},
// loads it as it was.
func writeDocumented(w io.Writer, v any, prefix string, envEscaped bool) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		fmt.Fprintln(w, "# cannot print:", err)
		return
	}
	if envEscaped {
		escapeEnv(&n)
	}
	eachKey(&n, prefix, func(path string, key *yaml.Node) {
		key.HeadComment = configDocs[path]
	})
	b, err := yaml.Marshal(&n)
	if err != nil {
		fmt.Fprintln(w, "# cannot print:", err)
		return
	}
	w.Write(b)
}

// escapeEnv writes "${" as "$${" in every scalar under n.
func escapeEnv(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		n.Value = strings.ReplaceAll(n.Value, "${", "$${")
	}
	for _, c := range n.Content {
		escapeEnv(c)
	}
}

// eachKey calls f with the dotted path of every mapping key under n.
func eachKey(n *yaml.Node, prefix string, f func(path string, key *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		path := n.Content[i].Value
		if prefix != "" {
			path = prefix + "." + path
		}
		f(path, n.Content[i])
		eachKey(n.Content[i+1], path, f)
	}
}
