package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/winnow-dev/winnow/internal/corpus"
	"github.com/winnow-dev/winnow/schemas"
	"github.com/winnow-dev/winnow/worker"
)

// auditReport is what `winnow audit` finds on the output stream.
type auditReport struct {
	Messages   int            `json:"messages"`
	ByOutcome  map[string]int `json:"by_outcome"`
	DistinctID int            `json:"distinct_ids"`
	IDsTwice   []string       `json:"ids_twice,omitempty"`
	Expected   int            `json:"expected,omitempty"`
	Missing    []string       `json:"missing,omitempty"`
	Unexpected int            `json:"unexpected,omitempty"`
	// Redriven counts dead letters answered by an output of their redriven
	// input (`winnow redrive`): the document is counted once, by that
	// output.
	Redriven int `json:"redriven,omitempty"`
	// DeadLetterParts counts continuations of dead letters kept in parts:
	// more of their dead letter's input, no outcome of their own (in
	// Messages, not in ByOutcome).
	DeadLetterParts int `json:"dead_letter_parts,omitempty"`
	// SelfDuplicates lists records whose duplicate_of names themselves
	// (with --self-dups).
	SelfDuplicates []string `json:"self_duplicates,omitempty"`
}

// runAudit reads every record on the output stream and checks that each
// document id appears exactly once, across all four outcomes.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath, apply := remoteFlags(fs)
	idsPath := fs.String("ids", "", "JSON-lines `FILE` of the inputs (their \"id\" fields): report any missing")
	var wait durationFlag
	fs.Var(&wait, "wait", "poll until every id --ids lists has an outcome, for up to `DURATION` (90s, 10m, 1d)")
	selfDups := fs.Bool("self-dups", false, "also report records marked duplicates of themselves (exit 1 if any)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow audit [flags]\n\nReads the output stream and reports outcomes, ids seen twice and (with --ids)\nids missing. A dead letter answered by the outcome of its redriven input\n(winnow redrive) is counted once. Exit 1 when an id is missing or appears twice.\n\n")
		fs.PrintDefaults()
	}
	if _, code, done := parseArgs(fs, args, 0); done {
		return code
	}
	cfg, err := remoteConfig(*cfgPath, apply)
	if err != nil {
		return fail(stderr, "winnow audit", err)
	}
	var want []string
	if *idsPath != "" {
		if want, err = readIDs(*idsPath); err != nil {
			return fail(stderr, "winnow audit", err)
		}
	}
	nc, err := connect(cfg.NATS.URL, cfg.NATS, zap.NewNop())
	if err != nil {
		return fail(stderr, "winnow audit", err)
	}
	defer nc.Close()
	rep, err := audit(ctx, nc, cfg.Worker, want, time.Duration(wait), *selfDups, stderr)
	if err != nil {
		return fail(stderr, "winnow audit", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.Encode(rep)
	if len(rep.IDsTwice) > 0 || len(rep.Missing) > 0 || len(rep.SelfDuplicates) > 0 {
		return exitFatal
	}
	return exitOK
}

// audit reads the output stream and reports its outcomes against want,
// reading it again (a second apart) while an id of want has none, for up
// to wait: the stream's message count, which the first read waits for,
// counts what is no outcome of a wanted id too (a dead letter's
// continuations, a redriven document's second outcome, an id twice).
func audit(ctx context.Context, nc *nats.Conn, wc worker.Config, want []string, wait time.Duration, selfDups bool, progress io.Writer) (*auditReport, error) {
	js, err := worker.NewJetStream(nc, wc.JetStreamDomain)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		rep, err := auditOnce(ctx, js, wc, want, time.Until(deadline), selfDups, progress)
		if err != nil || len(rep.Missing) == 0 || time.Until(deadline) < time.Second {
			return rep, err
		}
		select {
		case <-ctx.Done():
			return rep, nil
		case <-time.After(time.Second):
		}
	}
}

// auditOnce is one read of audit's, waiting up to wait for the stream to
// hold as many messages as want has ids.
func auditOnce(ctx context.Context, js jetstream.JetStream, wc worker.Config, want []string, wait time.Duration, selfDups bool, progress io.Writer) (*auditReport, error) {
	var err error
	// A cluster that just lost a node answers "no responders" or times out
	// while it elects leaders: keep asking (at least 30s) through such errors.
	errDeadline := time.Now().Add(max(wait, 30*time.Second))
	countDeadline := time.Now().Add(wait)
	var st jetstream.Stream
	var last uint64
	for {
		var info *jetstream.StreamInfo
		if st == nil {
			st, err = js.Stream(ctx, wc.OutputStream)
		}
		if err == nil {
			if info, err = st.Info(ctx); err == nil {
				if last = info.State.LastSeq; info.State.Msgs >= uint64(len(want)) || time.Now().After(countDeadline) {
					break
				}
			}
		}
		if err != nil && (errors.Is(err, jetstream.ErrStreamNotFound) || time.Now().After(errDeadline)) {
			return nil, fmt.Errorf("output stream %s: %w", wc.OutputStream, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	rep := &auditReport{ByOutcome: map[string]int{}, Expected: len(want)}
	seen := map[string]int{}
	type deadLetter struct{ id, msgID string }
	var deadLetters []deadLetter
	answered := map[string]bool{} // dead-letter Nats-Msg-Ids a redriven input's output names
	prefixes := map[string]string{wc.Subjects.Clean + ".": "clean", wc.Subjects.Dup + ".": "duplicate",
		wc.Subjects.Rejected + ".": "rejected", wc.Subjects.DLQ + ".": "dead_letter"}
	// The same patience through errors as the wait above, and a minute more
	// once reading: the ordered consumer recreates itself.
	read := newReadProgress(progress, "winnow audit", last) // nil without progress
	err = worker.ReadStream(ctx, js, st, jetstream.OrderedConsumerConfig{}, last, max(wait, 30*time.Second)+time.Minute, func(m jetstream.Msg) error {
		read.at(m)
		rep.Messages++
		if m.Headers().Get(worker.HeaderPartOf) != "" {
			rep.DeadLetterParts++
			return nil
		}
		outcome := "other"
		for p, o := range prefixes {
			if strings.HasPrefix(m.Subject(), p) {
				outcome = o
			}
		}
		rep.ByOutcome[outcome]++
		id := recordID(m)
		seen[id]++
		if outcome == "dead_letter" {
			deadLetters = append(deadLetters, deadLetter{id, m.Headers().Get(nats.MsgIdHdr)})
		}
		if of := m.Headers().Get(worker.HeaderRedriveOf); of != "" {
			answered[of] = true
		}
		if selfDups && outcome == "duplicate" {
			var r struct {
				DuplicateOf string `json:"duplicate_of"`
			}
			if json.Unmarshal(m.Data(), &r) == nil && r.DuplicateOf == id {
				rep.SelfDuplicates = append(rep.SelfDuplicates, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("output stream %s: %w", wc.OutputStream, err)
	}
	for _, dl := range deadLetters {
		if answered[dl.msgID] {
			seen[dl.id]--
			rep.Redriven++
		}
	}
	rep.DistinctID = len(seen)
	for id, n := range seen {
		if n > 1 {
			rep.IDsTwice = append(rep.IDsTwice, id)
		}
	}
	wanted := map[string]bool{}
	for _, id := range want {
		wanted[id] = true
		if seen[id] == 0 {
			rep.Missing = append(rep.Missing, id)
		}
	}
	if len(want) > 0 {
		for id := range seen {
			if !wanted[id] {
				rep.Unexpected++
			}
		}
	}
	if len(rep.Missing) > 20 {
		rep.Missing = append(rep.Missing[:20], fmt.Sprintf("… and %d more", len(rep.Missing)-20))
	}
	return rep, nil
}

// recordID is the document id of an output message: the record's id, or
// for a dead letter of an input with no readable id, its Nats-Msg-Id (which
// names the input message).
func recordID(m jetstream.Msg) string {
	var r struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(m.Data(), &r) == nil && r.ID != "" {
		return r.ID
	}
	return m.Headers().Get(nats.MsgIdHdr)
}

func readIDs(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := corpus.Reader(f) // gzipped or not, as publish reads it
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var ids []string
	err = corpus.Lines(r, func(n int, line []byte) error {
		var d struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(schemas.TrimBOM(line), &d); err != nil || d.ID == "" {
			return fmt.Errorf("%s:%d: no \"id\"", path, n)
		}
		ids = append(ids, d.ID)
		return nil
	})
	return ids, err
}
