package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/winnow-dev/winnow/internal/natstest"
	"github.com/winnow-dev/winnow/worker"
)

// TestShow: `winnow show` finds documents' outcomes on the output stream of
// a running worker and says what was done: the repeated line and what it
// repeats, the duplicate's original, the dead letter's reason; --json gives
// the stored message; --subject narrows the read; an id without an outcome
// exits 1 naming it. With --records it explains `winnow clean`'s output.
func TestShow(t *testing.T) {
	s, r, nc, js := workerOnServer(t, nil)
	ctx := context.Background()
	text := "A harbour at dawn, the boats coming in with the night's catch.\nThe market opens at six <6am>.\nA harbour at dawn, the boats coming in with the night's catch."
	// One at a time: b is a duplicate of a only once a has its record.
	for i, body := range []string{
		`{"id":"a","text":` + jsonString(t, text) + `}`,
		`{"id":"b","text":` + jsonString(t, text) + `}`,
		`{"id":"bad","text":5}`,
	} {
		if _, err := js.Publish(ctx, "docs.raw.t", []byte(body)); err != nil {
			t.Fatal(err)
		}
		ids := []string{"a", "b", "bad"}[:i+1]
		if rep, err := audit(ctx, nc, worker.DefaultConfig(), ids, 20*time.Second, false, nil); err != nil || len(rep.Missing) > 0 {
			t.Fatalf("audit: %+v, %v", rep, err)
		}
	}
	// A plain-text input without an id: its dead letter is found by the
	// dead_letter_id the worker logs.
	if _, err := js.Publish(ctx, "docs.raw.t", []byte("no id here")); err != nil {
		t.Fatal(err)
	}
	logged := regexp.MustCompile(`"msg":"dead letter","reason":"no_id","id":"","dead_letter_id":"(dlq:[^"]+)"`)
	var dlqID string
	for deadline := time.Now().Add(20 * time.Second); dlqID == ""; time.Sleep(20 * time.Millisecond) {
		if m := logged.FindStringSubmatch(r.stderr.String()); m != nil {
			dlqID = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no dead letter logged with its id: %s", r.stderr.String())
		}
	}
	show := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(ctx, append([]string{"show", "--nats-url", s.ClientURL()}, args...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}

	if code, out, errs := show(dlqID); code != exitOK || !strings.HasPrefix(out, dlqID+": dead_letter on docs.dlq.t") || !strings.Contains(out, `"no id here"`) {
		t.Errorf("show %s: exit %d, %q, %q", dlqID, code, out, errs)
	}

	code, out, errs := show("a", "b", "bad")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"a: clean on docs.clean.t (seq ",
		"  3 lines in, 2 kept;",
		"exact_repeat (line): repeats @0+62, similarity 1.00\n      \"A harbour at dawn, the boats coming in with the night's catch.\"",
		"b: duplicate on docs.dup.t (seq ",
		"  duplicate of a (rule exact, similarity 1.00)",
		"bad: dead_letter on docs.dlq.t (seq ",
		"  reason wrong_type: ",
		`input: 21 bytes from docs.raw.t (utf-8): "{\"id\":\"bad\",\"text\":5}"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}

	code, out, errs = show("a", "--json")
	var got shown
	if code != exitOK || json.Unmarshal([]byte(strings.TrimSpace(out)), &got) != nil {
		t.Fatalf("--json: exit %d, %q, %s", code, out, errs)
	}
	if got.Subject != "docs.clean.t" || got.Headers.Get(nats.MsgIdHdr) != "a" || got.body().ID != "a" || len(got.body().Removed) != 1 || got.Seq == 0 {
		t.Errorf("--json: %s", out)
	}
	st, err := js.Stream(ctx, worker.DefaultConfig().OutputStream)
	if err != nil {
		t.Fatal(err)
	}
	if stored, err := st.GetMsg(ctx, got.Seq); err != nil || !bytes.Equal(stored.Data, got.Body) {
		t.Errorf("--json body %s, stored %s (%v)", got.Body, stored.Data, err)
	}

	code, out, errs = show("--subject", "docs.dup.>", "a", "b")
	if code != exitFatal || !strings.Contains(out, "b: duplicate") || strings.Contains(out, "a: clean") ||
		!strings.Contains(errs, `winnow show: "a": no outcome on the output stream`) {
		t.Errorf("--subject: exit %d, %q, %q", code, out, errs)
	}
	// Without ids, every output on a subject: the dead letters.
	if code, out, errs = show("--subject", "docs.dlq.>"); code != exitOK || strings.Count(out, ": dead_letter on ") != 2 || !strings.HasPrefix(out, "bad: dead_letter on docs.dlq.t") {
		t.Errorf("--subject docs.dlq.>: exit %d, %q, %q", code, out, errs)
	}
	if code, _, errs = show(); code != exitFatal || !strings.Contains(errs, "Usage: winnow show") {
		t.Errorf("no ids, no subject: exit %d, %q", code, errs)
	}
	if code, _, errs = show("--since", "-1h", "a"); code != exitFatal || !strings.Contains(errs, "want a positive duration") {
		t.Errorf("--since -1h: exit %d, %q", code, errs)
	}
	// --since as days back, and as a time: one before the outputs were
	// stored finds them, one after does not.
	if got.Time == nil {
		t.Fatalf("--json: no time: %s", out)
	}
	stored := *got.Time
	for since, found := range map[string]bool{
		"1d": true, stored.Add(-time.Second).UTC().Format(time.RFC3339Nano): true, stored.UTC().Format("2006-01-02"): true,
		stored.Add(time.Millisecond).Format(time.RFC3339Nano): false,
	} {
		code, out, errs := show("--since", since, "a")
		if found && (code != exitOK || !strings.HasPrefix(out, "a: clean on docs.clean.t")) ||
			!found && (code != exitFatal || !strings.Contains(errs, `"a": no outcome on the output stream`)) {
			t.Errorf("--since %s: exit %d, %q, %q", since, code, out, errs)
		}
	}
	if code, _, errs = show("--records", "-", "--since", "1h"); code != exitFatal || !strings.Contains(errs, "not of --records") {
		t.Errorf("--records with --since: exit %d, %q", code, errs)
	}

	// winnow clean's output, and its rejects.
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(`{"id":"c","text":`+jsonString(t, text)+"}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, rejects := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "rejects.jsonl")
	f, err := os.Create(recs)
	if err != nil {
		t.Fatal(err)
	}
	if code := Main(ctx, []string{"clean", "--rejects", rejects, in}, nil, f, &bytes.Buffer{}); code != exitRejected {
		t.Fatalf("clean: exit %d", code)
	}
	f.Close()
	var out2, errb bytes.Buffer
	if code := Main(ctx, []string{"show", "--records", recs, "c"}, nil, &out2, &errb); code != exitOK ||
		!strings.HasPrefix(out2.String(), "c: clean\n  3 lines in, 2 kept;") || !strings.Contains(out2.String(), "exact_repeat (line): repeats @0+62") {
		t.Errorf("--records: exit %d, %q, %q", code, out2.String(), errb.String())
	}
	out2.Reset()
	if code := Main(ctx, []string{"show", "--records", "-"}, strings.NewReader(readFile(t, rejects)), &out2, &errb); code != exitOK ||
		out2.String() != "(no id): dead_letter\n  reason invalid_json: input is not JSON: a document is a JSON object\n  input: 8 bytes from line 2 (utf-8): \"not json\"\n" {
		t.Errorf("--records -: exit %d, %q", code, out2.String())
	}
	// A gzipped file of them reads the same.
	out2.Reset()
	if code := Main(ctx, []string{"show", "--records", gzipFile(t, "rejects.jsonl.gz", []byte(readFile(t, rejects)))}, nil, &out2, &errb); code != exitOK ||
		out2.String() != "(no id): dead_letter\n  reason invalid_json: input is not JSON: a document is a JSON object\n  input: 8 bytes from line 2 (utf-8): \"not json\"\n" {
		t.Errorf("--records FILE.gz: exit %d, %q, %q", code, out2.String(), errb.String())
	}
	// A record that lists only the first of its removals says how many it
	// holds, by reason, and how many it does not list.
	out2.Reset()
	capped := `{"schema":"winnow.v1.record","id":"m","text":"ab","removed":[{"text":"ab","reason":"exact_repeat","kind":"line","offset":3,` +
		`"length":2,"ref_offset":0,"ref_length":2,"similarity":1}],"removed_omitted":4,"flags":[],` +
		`"stats":{"bytes_in":14,"bytes_out":2,"lines_in":5,"lines_out":1,"removed_by_reason":{"pii.email":1,"exact_repeat":4}}}`
	if code := Main(ctx, []string{"show", "--records", "-"}, strings.NewReader(capped+"\n"), &out2, &errb); code != exitOK ||
		out2.String() != "m: clean\n  5 lines in, 1 kept; 14 bytes in, 2 out\n  removed 5 (exact_repeat 4, pii.email 1), 1 listed:\n"+
			"    @3+2 exact_repeat (line): repeats @0+2, similarity 1.00\n      \"ab\"\n"+
			"    … 4 more, not listed (past pipeline.max_removals, or what max_payload or max_msg_size holds)\n" {
		t.Errorf("a record with removals omitted: exit %d, %q", code, out2.String())
	}
	// A dead letter says how its input said its bytes read.
	out2.Reset()
	dl := `{"schema":"winnow.v1.dead_letter","reason":"invalid_content_encoding","error":"Content-Encoding \"br\" is not one winnow decodes","id":"z",` +
		`"subject":"docs.raw.t","size":3,"content_type":"text/plain; charset=utf-8","content_encoding":"br","encoding":"base64","data":"GwMA"}`
	if code := Main(ctx, []string{"show", "--records", "-"}, strings.NewReader(dl+"\n"), &out2, &errb); code != exitOK ||
		!strings.HasSuffix(out2.String(), "(base64): \"GwMA\"\n  sent as Content-Type: text/plain; charset=utf-8\n  sent as Content-Encoding: br\n") {
		t.Errorf("a dead letter with its input's headers: exit %d, %q", code, out2.String())
	}
	// And what its bytes read as, decompressed and decoded as they said.
	out2.Reset()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("Caf\xe9 cr\xe8me"))
	zw.Close()
	dl = `{"schema":"winnow.v1.dead_letter","reason":"max_deliveries","error":"delivered 6 times","id":"y","subject":"docs.raw.t","size":` +
		fmt.Sprint(gz.Len()) + `,"content_type":"text/plain; charset=windows-1252","content_encoding":"gzip","encoding":"base64","data":"` +
		base64.StdEncoding.EncodeToString(gz.Bytes()) + `"}`
	if code := Main(ctx, []string{"show", "--records", "-"}, strings.NewReader(dl+"\n"), &out2, &errb); code != exitOK ||
		!strings.HasSuffix(out2.String(), "  sent as Content-Encoding: gzip\n  reads as: \"Café crème\"\n") {
		t.Errorf("a gzipped windows-1252 dead letter: exit %d, %q", code, out2.String())
	}
	// A page's bytes read as its own <meta charset> says, sent as
	// text/html or with no Content-Type (sniffed as the worker sniffs it).
	for _, ct := range []string{`"content_type":"text/html",`, ""} {
		out2.Reset()
		page := "<!DOCTYPE html><meta charset=\"windows-1252\"><p>Caf\xe9 cr\xe8me</p>"
		dl = `{"schema":"winnow.v1.dead_letter","reason":"max_deliveries","error":"delivered 6 times","id":"p","subject":"docs.raw.t","size":` +
			fmt.Sprint(len(page)) + `,` + ct + `"encoding":"base64","data":"` + base64.StdEncoding.EncodeToString([]byte(page)) + `"}`
		if code := Main(ctx, []string{"show", "--records", "-"}, strings.NewReader(dl+"\n"), &out2, &errb); code != exitOK ||
			!strings.HasSuffix(out2.String(), `  reads as: "<!DOCTYPE html><meta charset=\"windows-1252\"><p>Café crème</p>"`+"\n") {
			t.Errorf("a windows-1252 page's dead letter (%s): exit %d, %q", ct, code, out2.String())
		}
	}
	// What came from an input is printed escaped when a character of it
	// would not print: no escape sequence reaches the terminal, and no line
	// break forges another outcome.
	out2.Reset()
	dl = `{"schema":"winnow.v1.dead_letter","reason":"invalid_content_encoding","error":"Content-Encoding \"x\" is not one winnow decodes","id":"v\u001b[2J",` +
		`"subject":"docs.raw.t","size":1,"content_type":"text/plain\nw: clean","content_encoding":"x","encoding":"utf-8","data":"x"}`
	rec := `{"schema":"winnow.v1.record","id":"r\u202e1","text":"a","removed":[],"flags":[],"duplicate_of":"o\u001b]0;t\u0007","duplicate_rule":"exact",` +
		`"stats":{"bytes_in":1,"bytes_out":1,"lines_in":1,"lines_out":1}}`
	if code := Main(ctx, []string{"show", "--records", "-"}, strings.NewReader(dl+"\n"+rec+"\n"), &out2, &errb); code != exitOK ||
		!strings.HasPrefix(out2.String(), `"v\x1b[2J": dead_letter`) || !strings.Contains(out2.String(), `sent as Content-Type: "text/plain\nw: clean"`) ||
		!strings.Contains(out2.String(), `"r\u202e1": duplicate`) || !strings.Contains(out2.String(), `duplicate of "o\x1b]0;t\a" (rule exact`) ||
		strings.ContainsAny(out2.String(), "\x1b\a\u202e") {
		t.Errorf("control characters from inputs: exit %d, %q", code, out2.String())
	}
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAuditAndShowDeadLetterInParts: a dead letter kept in parts (its
// input's JSON is over max_payload once escaped) is one outcome to `winnow
// audit`, its continuations counted aside, and `winnow show` explains it
// once, saying how many parts hold the input. `audit --wait` waits for ids
// still to come though the stream holds as many messages as it wants ids.
func TestAuditAndShowDeadLetterInParts(t *testing.T) {
	s, _, nc, js := workerOnServer(t, func(o *server.Options) { o.MaxPayload = 64 << 10 })
	ctx := context.Background()
	body := `{"id":"wide","text":5,"pad":"` + strings.Repeat(`\\`, 20<<10) + `"}` // 40 KiB, 80 written in a dead letter
	if _, err := js.Publish(ctx, "docs.raw.t", []byte(body)); err != nil {
		t.Fatal(err)
	}
	rep, err := audit(ctx, nc, worker.DefaultConfig(), []string{"wide"}, 20*time.Second, false, nil)
	if err != nil || rep.ByOutcome["dead_letter"] != 1 || rep.DeadLetterParts != 1 || rep.Messages != 2 || len(rep.IDsTwice) > 0 || len(rep.Missing) > 0 {
		t.Fatalf("audit: %+v (%v), want one dead letter and its one continuation", rep, err)
	}
	// The stream holds two messages, as many as two ids: --wait reads again
	// until the second has its outcome.
	go func() {
		time.Sleep(1500 * time.Millisecond)
		_, _ = js.Publish(ctx, "docs.raw.t", []byte(`{"id":"late","text":"A story told late."}`))
	}()
	rep, err = audit(ctx, nc, worker.DefaultConfig(), []string{"wide", "late"}, 20*time.Second, false, nil)
	if err != nil || rep.ByOutcome["clean"] != 1 || len(rep.Missing) > 0 {
		t.Fatalf("audit --wait for a document still to come: %+v (%v)", rep, err)
	}
	var out, errb bytes.Buffer
	if code := Main(ctx, []string{"show", "--nats-url", s.ClientURL(), "wide"}, nil, &out, &errb); code != exitOK ||
		strings.Count(out.String(), "wide: ") != 1 || !strings.Contains(out.String(), "  reason wrong_type: ") ||
		!strings.Contains(out.String(), fmt.Sprintf("  input: %d bytes from docs.raw.t (utf-8, the first of 2 parts, the others stored before it): ", len(body))) {
		t.Fatalf("show: exit %d, %q, %q", code, out.String(), errb.String())
	}
}

// TestShowFollows: `winnow show --follow` goes on after what is stored and
// shows each output as the worker stores it, until interrupted (exit 0):
// with an id, the outcome of a document published after it started; with
// only a subject, the outputs stored from then on, none of those before
// (unless --since asks for them); --json gives each as a line. One whose
// stream is deleted says so, and still ends when interrupted.
func TestShowFollows(t *testing.T) {
	s, r, nc, js := workerOnServer(t, nil)
	bg := context.Background()
	publish := func(id, text string) {
		t.Helper()
		if _, err := js.Publish(bg, "docs.raw.t", []byte(`{"id":"`+id+`","text":`+jsonString(t, text)+`}`)); err != nil {
			t.Fatal(err)
		}
		if rep, err := audit(bg, nc, worker.DefaultConfig(), []string{id}, 20*time.Second, false, nil); err != nil || len(rep.Missing) > 0 {
			t.Fatalf("audit %s: %+v, %v", id, rep, err)
		}
	}
	type follower struct {
		out, errb syncBuffer
		code      chan int
		stop      context.CancelFunc
	}
	follow := func(args ...string) *follower {
		ctx, cancel := context.WithCancel(bg)
		f := &follower{code: make(chan int, 1), stop: cancel}
		go func() {
			f.code <- Main(ctx, append([]string{"show", "--nats-url", s.ClientURL(), "--follow"}, args...), nil, &f.out, &f.errb)
		}()
		t.Cleanup(cancel)
		return f
	}
	waitIn := func(f *follower, b *syncBuffer, want string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(b.String(), want); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in %q (stderr %q)", want, f.out.String(), f.errb.String())
			}
		}
	}
	waitFor := func(f *follower, want string) { t.Helper(); waitIn(f, &f.out, want) }
	end := func(f *follower) (int, string) {
		t.Helper()
		f.stop()
		select {
		case code := <-f.code:
			return code, f.out.String()
		case <-time.After(20 * time.Second):
			t.Fatal("--follow did not end when interrupted")
			return 0, ""
		}
	}

	publish("old", "The tide was out all morning.")
	subject := follow("--subject", "docs.clean.>")
	byID := follow("new", "old")
	asJSON := follow("--json", "--since", "1h", "--subject", "docs.clean.>")
	never := follow("never")
	waitFor(byID, "old: clean on docs.clean.t")
	waitFor(asJSON, `"id":"old"`)
	for _, f := range []*follower{subject, byID, asJSON, never} { // each past its read of what is stored
		waitIn(f, &f.errb, "; Ctrl-C ends\n")
	}
	if want := "winnow show: following WINNOW_OUT on docs.clean.> after sequence 1; Ctrl-C ends\n"; subject.errb.String() != want {
		t.Errorf("--follow --subject said %q, want %q", subject.errb.String(), want)
	}
	publish("new", "The boats came in at noon.")
	waitFor(subject, "new: clean on docs.clean.t")
	waitFor(byID, "new: clean on docs.clean.t")
	waitFor(asJSON, `"id":"new"`)

	if code, out := end(subject); code != exitOK || strings.Contains(out, "old:") || strings.Count(out, "new: clean") != 1 {
		t.Errorf("--follow --subject: exit %d, %q, %q", code, out, subject.errb.String())
	}
	if code, out := end(byID); code != exitOK || !strings.HasPrefix(out, "old: clean") || strings.Count(out, ": clean on ") != 2 {
		t.Errorf("--follow new old: exit %d, %q, %q", code, out, byID.errb.String())
	}
	code, out := end(asJSON)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first, second shown
	if code != exitOK || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[1]), &second) != nil ||
		first.body().ID != "old" || second.body().ID != "new" || second.Seq <= first.Seq {
		t.Errorf("--follow --json --since 1h: exit %d, %q, %q", code, out, asJSON.errb.String())
	}
	if code, out := end(never); code != exitFatal || out != "" || !strings.Contains(never.errb.String(), `"never": no outcome on the output stream`) {
		t.Errorf("--follow never: exit %d, %q, %q", code, out, never.errb.String())
	}
	// The stream deleted under a follower (the worker stopped first: it
	// would make the stream again): it says so and keeps trying, and an
	// interrupt still ends it.
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop")
	}
	gone := follow("--subject", "docs.clean.>")
	waitIn(gone, &gone.errb, "; Ctrl-C ends\n")
	if err := js.DeleteStream(bg, worker.DefaultConfig().OutputStream); err != nil {
		t.Fatal(err)
	}
	waitIn(gone, &gone.errb, "; trying again\n")
	if code, out := end(gone); code != exitOK || out != "" {
		t.Errorf("--follow with the stream gone: exit %d, %q, %q", code, out, gone.errb.String())
	}
	var errb bytes.Buffer
	if code := Main(bg, []string{"show", "--records", "-", "--follow"}, strings.NewReader(""), &bytes.Buffer{}, &errb); code != exitFatal || !strings.Contains(errb.String(), "not of --records") {
		t.Errorf("--records with --follow: exit %d, %q", code, errb.String())
	}
}

// workerOnServer starts a NATS server (opts, when not nil, changes its
// options) and `winnow run` against it, waits until the worker is ready,
// and connects a client to the server.
func workerOnServer(t *testing.T, opts func(*server.Options)) (*server.Server, *running, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	s := natstest.Start(t, opts)
	r := startRun(t, s.ClientURL())
	waitReady(t, r, 20*time.Second)
	nc, js := jsClient(t, s.ClientURL())
	return s, r, nc, js
}
