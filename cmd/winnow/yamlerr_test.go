package main

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzDecodeYAML: decodeYAML takes what yaml.v3 takes, but for a fraction
// given for a whole number, and refuses what it refuses with as many
// errors, only reworded.
func FuzzDecodeYAML(f *testing.F) {
	for _, s := range []string{
		"worker:\n  handlers: four\n", "worker:\n  handlers: 2.5\n", "worker:\n  backoff: [1s, 2]\n",
		"worker: {handlers: 1, max_deliver: x}\n", "worker:\n  <<: {handlers: 2.5}\n", "[1]\n",
		"base: &b\n  handlers: x\nworker: *b\n", "nats:\n  url: {a: b}\n", "worker:\n  max_doc_bytes: 1e6\n",
		"pipeline:\n  moderation:\n    spam:\n      sources: mail\n", "worker: &x\n  handlers: y\n  <<: *x\n",
		"worker:\n  max_doc_bytes: 8MB\nembedded:\n  max_payload: 16MiB\n",
		"worker:\n  shared: {ttl: 7d, bucket: é}\n  backoff: [1d, '2d12h', 3d]\n", "a: &d 7d\nworker: {ack_wait: *d}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var got, want Config
		err := decodeYAML(src, &got, "")
		// yaml.v3 reads days once withDaysAsHours has written them as
		// hours, which moves no line.
		hours := withDaysAsHours(src, yamlRoot(src), reflect.TypeOf(want))
		if bytes.Count(hours, []byte("\n")) != bytes.Count(src, []byte("\n")) {
			t.Fatalf("%q: written as %q", src, hours)
		}
		dec := yaml.NewDecoder(bytes.NewReader(hours))
		dec.KnownFields(true)
		yerr := dec.Decode(&want)
		if errors.Is(yerr, io.EOF) {
			yerr = nil
		}
		var te, yte *yaml.TypeError
		switch {
		case yerr == nil && err != nil:
			if !errors.As(err, &te) {
				t.Fatalf("yaml.v3 takes %q, decodeYAML says %v", src, err)
			}
			for _, e := range te.Errors {
				if !strings.HasSuffix(e, ": want a whole number") {
					t.Fatalf("yaml.v3 takes %q, decodeYAML says %v", src, err)
				}
			}
		case yerr != nil && err == nil:
			t.Fatalf("yaml.v3 refuses %q (%v), decodeYAML takes it", src, yerr)
		case errors.As(yerr, &yte):
			if !errors.As(err, &te) || len(te.Errors) != len(yte.Errors) {
				t.Fatalf("%q: yaml.v3 says %v, decodeYAML %v", src, yerr, err)
			}
		case yerr != nil && !strings.HasPrefix(err.Error(), yerr.Error()): // tabHint may add to it
			t.Fatalf("%q: yaml.v3 says %v, decodeYAML %v", src, yerr, err)
		}
	})
}
