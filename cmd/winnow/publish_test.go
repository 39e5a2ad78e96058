package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/winnow-dev/winnow/internal/natstest"
)

// TestPublishSaysWhatTheStreamDropped: publishing a file again within the
// input stream's duplicate window stores nothing, since each document's id
// is its Nats-Msg-Id, and `winnow publish` says so instead of only
// "published". Ids a NATS header would merge ("a" and " a") are stored
// apart (schemas.MsgID); a byte order mark opening the file (as some
// editors save one) does not keep the first document from its id.
func TestPublishSaysWhatTheStreamDropped(t *testing.T) {
	ctx, s, st := streamServer(t, jetstream.StreamConfig{Name: "IN", Subjects: []string{"in.>"}, Duplicates: time.Minute})
	file := filepath.Join(t.TempDir(), "docs.jsonl")
	if err := os.WriteFile(file, []byte("\ufeff{\"id\":\"a\",\"text\":\"one\"}\n{\"id\":\"b\",\"text\":\"two\"}\n{\"id\":\" a\",\"text\":\"three\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	publish := func(extra ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		args := append([]string{"publish", "--nats-url", s.ClientURL(), "--subject", "in.x"}, extra...)
		if code := Main(ctx, append(args, file), nil, &out, &errb); code != exitOK {
			t.Fatalf("publish %v: exit %d: %s", extra, code, errb.String())
		}
		return out.String()
	}
	stored := func() uint64 { return storedIn(ctx, t, st) }
	if out := publish(); strings.Contains(out, "not stored") || stored() != 3 {
		t.Fatalf("first publish: %q, %d stored", out, stored())
	}
	if out := publish(); !strings.Contains(out, "3 of them not stored") || stored() != 3 {
		t.Fatalf("the same file again: %q, %d stored", out, stored())
	}
	if out := publish("--no-msg-id"); strings.Contains(out, "not stored") || stored() != 6 {
		t.Fatalf("again without msg ids: %q, %d stored", out, stored())
	}
}

// TestPublishSubjectChecked: a subject no stream takes ends the run after
// the first round when the server says so, with where winnow reads (it was
// retried for 100 rounds, about 100 s); for a user that may not ask the
// JetStream API (a crawler's) it is said at once and retried, as an outage
// is. A wildcard subject is refused (the server stored it as it was, and
// the worker wrote docs.clean.*).
func TestPublishSubjectChecked(t *testing.T) {
	s := natstest.Start(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "admin", Password: "pw"}, {Username: "crawler", Password: "pw", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{"docs.raw.>", "crawl.>"}},
		}}}
	})
	admin, crawler := "nats://admin:pw@"+s.Addr().String(), "nats://crawler:pw@"+s.Addr().String()
	_, js := jsClient(t, admin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WINNOW_RAW", Subjects: []string{"docs.raw.>"}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "docs.jsonl")
	if err := os.WriteFile(file, []byte(`{"id":"a","text":"one"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	start := time.Now()
	code := Main(ctx, []string{"publish", "--nats-url", admin, "--subject", "crawl.out", file}, nil, &bytes.Buffer{}, &errb)
	if code != exitFatal || errb.String() != "winnow publish: no stream takes crawl.out, the server says: winnow reads docs.raw.> (worker.subjects.input)\n" {
		t.Errorf("crawl.out: exit %d after %v, %q", code, time.Since(start), errb.String())
	}
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	errb.Reset()
	code = Main(short, []string{"publish", "--nats-url", crawler, "--subject", "crawl.out", file}, nil, &bytes.Buffer{}, &errb)
	if code != exitFatal || strings.Count(errb.String(), "winnow publish: no stream answered on crawl.out (") != 1 ||
		!strings.Contains(errb.String(), "): does a stream take it? winnow reads docs.raw.>; retrying\n") {
		t.Errorf("crawl.out as the crawler: exit %d, %q", code, errb.String())
	}
	for subject, want := range map[string]string{
		"docs.raw.*":  "winnow publish: --subject \"docs.raw.*\": want a literal subject, without wildcards (e.g. docs.raw.site)\n",
		"docs.raw..x": "winnow publish: --subject \"docs.raw..x\": want a literal subject, without wildcards (e.g. docs.raw.site)\n",
	} {
		var errb bytes.Buffer
		start := time.Now()
		code := Main(ctx, []string{"publish", "--nats-url", admin, "--subject", subject, file}, nil, &bytes.Buffer{}, &errb)
		if code != exitFatal || errb.String() != want {
			t.Errorf("%s: exit %d after %v, %q", subject, code, time.Since(start), errb.String())
		}
	}
	if n := storedIn(ctx, t, st); n != 0 {
		t.Errorf("stored %d, want nothing", n)
	}
	errb.Reset()
	if code := Main(ctx, []string{"publish", "--nats-url", crawler, "--subject", "docs.raw.site", file}, nil, &bytes.Buffer{}, &errb); code != exitOK || errb.Len() > 0 {
		t.Fatalf("docs.raw.site: exit %d: %s", code, errb.String())
	}
}

// streamServer starts a server with the stream cfg describes, and returns
// a context for the test (30 s), the server and the stream.
func streamServer(t *testing.T, cfg jetstream.StreamConfig) (context.Context, *server.Server, jetstream.Stream) {
	t.Helper()
	s := natstest.Start(t, nil)
	_, js := jsClient(t, s.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	st, err := js.CreateStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, s, st
}

// storedIn returns how many messages st holds.
func storedIn(ctx context.Context, t *testing.T, st jetstream.Stream) uint64 {
	t.Helper()
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// natsConn connects to url; the connection closes when the test ends.
func natsConn(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// jsClient connects to url and returns the connection, closed when the
// test ends, and its JetStream.
func jsClient(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc := natsConn(t, url)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// TestPublishReadsGzip: `winnow publish` reads a gzipped file as the lines
// it holds, and one cut short publishes nothing and says so: a read error
// ended the reading in silence, and the lines before it went out as if
// they were the whole file.
func TestPublishReadsGzip(t *testing.T) {
	ctx, s, st := streamServer(t, jetstream.StreamConfig{Name: "IN", Subjects: []string{"in.>"}})
	var docs []byte
	for i := range 50 {
		docs = append(docs, fmt.Sprintf(`{"id":"d%d","text":"story %d"}`+"\n", i, i)...)
	}
	gz := gzipFile(t, "docs.jsonl.gz", docs)
	zb, err := os.ReadFile(gz)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.jsonl.gz")
	if err := os.WriteFile(cut, zb[:len(zb)-20], 0o644); err != nil {
		t.Fatal(err)
	}
	publish := func(file string) (int, string) {
		var out, errb bytes.Buffer
		code := Main(ctx, []string{"publish", "--nats-url", s.ClientURL(), "--subject", "in.x", file}, nil, &out, &errb)
		return code, errb.String()
	}
	stored := func() uint64 { return storedIn(ctx, t, st) }
	if code, errs := publish(cut); code != exitFatal || !strings.Contains(errs, cut+": unexpected EOF") || stored() != 0 {
		t.Fatalf("cut file: exit %d, %q, %d stored; want exit %d naming it, none stored", code, errs, stored(), exitFatal)
	}
	if code, errs := publish(gz); code != exitOK || stored() != 50 {
		t.Fatalf("gzipped file: exit %d, %q, %d stored, want 50", code, errs, stored())
	}
	m, err := st.GetMsg(ctx, 1)
	if err != nil || string(m.Data) != `{"id":"d0","text":"story 0"}` {
		t.Fatalf("first message %q, %v", m.Data, err)
	}
}
