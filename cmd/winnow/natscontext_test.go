package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/winnow-dev/winnow/internal/natstest"
)

// TestToolsReachNATSThroughAContext: `--context NAME` reaches NATS as the
// nats CLI's context of that name does (its URL and credentials), where
// the tools took --nats-url and a configuration file only. The context
// replaces the credentials the environment gives, --nats-url replaces its
// URL, and a path names a context file kept elsewhere. A follower whose
// connection the server closes for good (a password changed) ends so.
func TestToolsReachNATSThroughAContext(t *testing.T) {
	var opts server.Options
	s := natstest.Start(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "ops", Password: "s3cret"}}
		opts = *o
	})
	_, js := jsClient(t, "nats://ops:s3cret@"+s.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "IN", Subjects: []string{"in.>"}})
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	dir := filepath.Join(home, "nats", "context")
	writeFile(t, dir, "prod.json", []byte(`{"description":"the cluster","url":"nats://`+s.Addr().String()+`","user":"ops","password":"s3cret","color_scheme":"","tls_first":false}`))
	writeFile(t, dir, "elsewhere.json", []byte(`{"url":"nats://127.0.0.1:1","user":"ops","password":"s3cret"}`))
	file := filepath.Join(t.TempDir(), "docs.jsonl")
	if err := os.WriteFile(file, []byte(`{"id":"a","text":"one"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	publish := func(args ...string) (int, string) {
		t.Helper()
		var errb bytes.Buffer
		code := Main(ctx, append(append([]string{"publish", "--subject", "in.x", "--no-msg-id"}, args...), file), nil, &bytes.Buffer{}, &errb)
		return code, errb.String()
	}

	if code, errs := publish("--nats-url", s.ClientURL()); code != exitFatal || !strings.Contains(errs, "Authorization Violation") {
		t.Fatalf("without the context's credentials: exit %d: %s", code, errs)
	}
	if code, errs := publish("--context", "prod"); code != exitOK {
		t.Fatalf("--context prod: exit %d: %s", code, errs)
	}
	t.Setenv("WINNOW_NATS_USER", "ops")
	t.Setenv("WINNOW_NATS_PASSWORD", "wrong")
	if code, errs := publish("--context", "prod"); code != exitOK {
		t.Fatalf("--context prod beside a wrong password in the environment: exit %d: %s", code, errs)
	}
	if code, errs := publish("--context", "elsewhere", "--nats-url", s.ClientURL()); code != exitOK {
		t.Fatalf("--context elsewhere with --nats-url: exit %d: %s", code, errs)
	}
	moved := writeFile(t, t.TempDir(), "team-prod.json", []byte(`{"url":"nats://`+s.Addr().String()+`","user":"ops","password":"s3cret"}`))
	if code, errs := publish("--context", moved); code != exitOK {
		t.Fatalf("--context %s: exit %d: %s", moved, code, errs)
	}
	if n := storedIn(ctx, t, st); n != 4 {
		t.Fatalf("%d documents stored, want 4", n)
	}

	// `show --follow` through the context, until the password changes
	// under it: the connection closed for good ends it, saying why (it
	// waited for ever, its consumer stopped).
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WINNOW_OUT", Subjects: []string{"docs.clean.>"}}); err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"show", "--context", "prod", "--follow"}, nil, &out, &errb) }()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(errb.String(), "Ctrl-C ends"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("show --context prod --follow: %q", errb.String())
		}
	}
	changed := opts
	changed.Users = []*server.User{{Username: "ops", Password: "changed"}}
	if err := s.ReloadOptions(&changed); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitFatal || !strings.Contains(errb.String(), "winnow show: output stream WINNOW_OUT: following it: nats: Authorization Violation\n") {
			t.Errorf("show --follow, the password changed: exit %d, %q", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("show --follow went on with its connection closed: %q", errb.String())
	}
}

// TestContextErrorsSayWhy: a context that is not there names the ones
// that are; one that sets what winnow cannot use (an nsc lookup, a SOCKS
// proxy) is refused by its keys rather than connected without them; a
// file that is not a context says so, and a URL clients cannot use is
// named as the context's. Nothing connects.
func TestContextErrorsSayWhy(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	dir := filepath.Join(home, "nats", "context")
	writeFile(t, dir, "dev.json", []byte(`{"url":"nats://127.0.0.1:1"}`))
	writeFile(t, dir, "staging.json", []byte(`{"url":"nats://127.0.0.1:1"}`))
	writeFile(t, dir, "ngs.json", []byte(`{"url":"tls://connect.ngs.global","nsc":"nsc://synadia/acct/user","user_seed":"SU...","socks_proxy":"proxy:1080"}`))
	writeFile(t, dir, "broken.json", []byte(`{"url":`))
	writeFile(t, dir, "monitor.json", []byte(`{"url":"http://nats:8222"}`))
	for _, c := range []struct{ name, want string }{
		{"prod", `winnow show: --context: no context "prod" in ` + dir + "; there are: broken, dev, monitor, ngs, staging\n"},
		{"ngs", "winnow show: --context: " + filepath.Join(dir, "ngs.json") + " sets nsc, user_seed, socks_proxy, which winnow cannot use: give --nats-url and a configuration file (nats.*) instead\n"},
		{"broken", "winnow show: --context: " + filepath.Join(dir, "broken.json") + ": not a nats context file: unexpected end of JSON input\n"},
		{"monitor", "winnow show: --context: " + filepath.Join(dir, "monitor.json") + ": url: " + natsURLsProblem("http://nats:8222") + "\n"},
		{"", "winnow show: --context: want a context name (nats context ls lists them) or the path of a context file\n"},
		{"..", "winnow show: --context: \"..\" is no context name\n"},
	} {
		var errb bytes.Buffer
		code := Main(context.Background(), []string{"show", "--context", c.name, "some-id"}, nil, &bytes.Buffer{}, &errb)
		if code != exitFatal || errb.String() != c.want {
			t.Errorf("--context %q: exit %d, said %q; want %q", c.name, code, errb.String(), c.want)
		}
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var errb bytes.Buffer
	if code := Main(context.Background(), []string{"audit", "--context", "dev"}, nil, &bytes.Buffer{}, &errb); code != exitFatal || !strings.Contains(errb.String(), `no context "dev": `) || !strings.Contains(errb.String(), "nats context save dev") {
		t.Errorf("no contexts at all: exit %d: %s", code, errb.String())
	}
}

// TestContextApplies: a context replaces every way to NATS the
// configuration had (a token left from the file would otherwise be sent
// beside the context's creds), takes the nats CLI's default URL when it
// names none, and reads ~/ in its file paths as the home directory.
func TestContextApplies(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	path := writeFile(t, t.TempDir(), "c.json", []byte(`{"creds":"~/keys/ops.creds","ca":"/etc/ca.pem","jetstream_domain":"hub","inbox_prefix":"_INBOX_ops"}`))
	c, err := loadNATSContext(path)
	if err != nil {
		t.Fatal(err)
	}
	n := NATSConfig{URL: "nats://file:4222", Name: "winnow", User: "u", Password: "p", Token: "t", NKeySeedFile: "seed.nk", TLS: TLSConfig{Cert: "c.pem", Key: "k.pem"}, ConnectTimeout: time.Second}
	c.apply(&n)
	want := NATSConfig{URL: "nats://127.0.0.1:4222", Name: "winnow", CredsFile: filepath.Join(home, "keys", "ops.creds"), TLS: TLSConfig{CA: "/etc/ca.pem"}, InboxPrefix: "_INBOX_ops", JetStreamDomain: "hub", ConnectTimeout: time.Second}
	if n != want {
		t.Fatalf("applied:\n%+v\nwant\n%+v", n, want)
	}
}
