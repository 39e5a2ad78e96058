package main

import (
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// printConfig writes the effective configuration as YAML, secrets masked.
func printConfig(w io.Writer, c Config) {
	for _, s := range []*string{&c.NATS.Password, &c.NATS.Token} {
		if *s != "" {
			*s = "********"
		}
	}
	c.NATS.URL = redactURLs(c.NATS.URL)
	b, err := yaml.Marshal(c)
	if err != nil {
		fmt.Fprintln(w, "# cannot print:", err)
		return
	}
	w.Write(b)
}
