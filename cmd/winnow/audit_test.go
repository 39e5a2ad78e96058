package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadIDs: `winnow audit --ids` reads each line's id, past a byte order
// mark opening the file (as the worker reads such a document), and names
// the line that has none.
func TestReadIDs(t *testing.T) {
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ids, err := readIDs(file("bom.jsonl", "\ufeff{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\" b\"}\n"))
	if err != nil || !slices.Equal(ids, []string{"a", " b"}) {
		t.Errorf("got %q, %v", ids, err)
	}
	if _, err := readIDs(file("bad.jsonl", "{\"id\":\"a\"}\n{\"text\":\"x\"}\n")); err == nil || !strings.Contains(err.Error(), "bad.jsonl:2") {
		t.Errorf("a line without an id: %v", err)
	}
	// A gzipped file, as winnow publish takes it.
	ids, err = readIDs(gzipFile(t, "docs.jsonl.gz", []byte("{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\",\"text\":\"y\"}\n")))
	if err != nil || !slices.Equal(ids, []string{"a", "b"}) {
		t.Errorf("gzipped: got %q, %v", ids, err)
	}
}

// TestRemoteCommandsFlags: publish, audit, redrive and show take --config and
// --nats-url, not the worker's flags, which they used to accept and ignore
// (`winnow audit --check-config` did an audit).
func TestRemoteCommandsFlags(t *testing.T) {
	for _, cmd := range []string{"publish", "audit", "redrive", "show"} {
		for _, flag := range []string{"--check-config", "--handlers=3", "--store-dir=x", "--policy=p.yaml", "--http-addr=:1", "--log-level=debug"} {
			var errb bytes.Buffer
			code := Main(context.Background(), []string{cmd, flag}, nil, &bytes.Buffer{}, &errb)
			if name, _, _ := strings.Cut(strings.TrimLeft(flag, "-"), "="); code != exitFatal || !strings.Contains(errb.String(), "flag provided but not defined: -"+name) {
				t.Errorf("%s %s: exit %d, stderr %q", cmd, flag, code, errb.String())
			}
		}
		var errb bytes.Buffer
		t.Setenv("WINNOW_NATS_URL", "")
		args := []string{cmd}
		if cmd == "show" {
			args = append(args, "some-id")
		}
		if code := Main(context.Background(), args, nil, &bytes.Buffer{}, &errb); code != exitFatal || !strings.Contains(errb.String(), "--nats-url (or WINNOW_NATS_URL) or --context is required") {
			t.Errorf("%s without a URL: exit %d, stderr %q", cmd, code, errb.String())
		}
	}
}

// TestToolsNameNATSURL: a tool run without --nats-url in a shell where the
// nats CLI's NATS_URL is set says it is not read, and how to pass it; in
// one where `nats context select` chose a context, it names the context
// (not used unasked: a shell's selected context may be production's).
func TestToolsNameNATSURL(t *testing.T) {
	for _, v := range []string{"WINNOW_NATS_URL", "WINNOW_CONFIG"} {
		t.Setenv(v, "") // puts back what was there
		os.Unsetenv(v)
	}
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	for _, c := range []struct{ env, selected, want string }{
		{"", "", "winnow show: --nats-url (or WINNOW_NATS_URL) or --context is required\n"},
		{"nats://127.0.0.1:42", "", "winnow show: --nats-url (or WINNOW_NATS_URL) or --context is required; NATS_URL, the nats CLI's, is not read: --nats-url \"$NATS_URL\"\n"},
		{"", "staging\n", "winnow show: --nats-url (or WINNOW_NATS_URL) or --context is required; the nats CLI's selected context is not read unasked: --context staging\n"},
	} {
		t.Setenv("NATS_URL", c.env)
		if c.selected != "" {
			writeFile(t, filepath.Join(config, "nats"), "context.txt", []byte(c.selected))
		}
		var errb bytes.Buffer
		if code := Main(context.Background(), []string{"show", "a"}, nil, &bytes.Buffer{}, &errb); code != exitFatal || errb.String() != c.want {
			t.Errorf("NATS_URL=%q, selected %q: exit %d, %q", c.env, c.selected, code, errb.String())
		}
	}
}
