package main

import "testing"

// TestRedactURLs: credentials are masked in every URL of a list as it was
// written, with or without a scheme, separated by commas or (wrongly)
// spaces, and in URLs url.Parse refuses: "user:pw@host" was read as scheme
// "user" and a URL with a space not at all, so their passwords were printed.
func TestRedactURLs(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                     "nats://127.0.0.1:4222",
		"nats://winnow:pw@a:4222,nats://tok@b:4222": "nats://winnow:xxxxx@a:4222,nats://xxxxx@b:4222",
		"winnow:pw@a:4222, tok@b":                   "winnow:xxxxx@a:4222, xxxxx@b",
		"nats://u:p@w@a:4222 nats://v:pw2@b:4222":   "nats://u:xxxxx@a:4222 nats://v:xxxxx@b:4222",
		"nats://u:pw@a b:4222":                      "nats://u:xxxxx@a b:4222",
		"nats://a:4222/x@y":                         "nats://a:4222/x@y",
		"nats://a:4222?x=y@z":                       "nats://a:4222?x=y@z",
		"tls://u%40x:p%3Aw@a:4222":                  "tls://u%40x:xxxxx@a:4222",
		"":                                          "",
	} {
		if got := redactURLs(in); got != want {
			t.Errorf("redactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}
