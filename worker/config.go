package worker

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("worker: invalid config")

// Mode selects how the worker consumes.
type Mode string

// Modes.
const (
	// ModeJetStream: one durable pull consumer shared by every replica.
	ModeJetStream Mode = "jetstream"
	// ModeCore: a plain core-NATS queue group, for users without JetStream.
	// At-most-once: a worker that dies loses its in-flight documents.
	ModeCore Mode = "core"
)

// Subjects names the input subject and the four output subject prefixes.
// An input on <input prefix>.<suffix> produces <output prefix>.<suffix>.
type Subjects struct {
	Input    string `yaml:"input"`
	Clean    string `yaml:"clean"`
	Dup      string `yaml:"dup"`
	Rejected string `yaml:"rejected"`
	DLQ      string `yaml:"dlq"`
}

// Config tunes the worker. Start from DefaultConfig.
type Config struct {
	Mode     Mode     `yaml:"mode"`
	Subjects Subjects `yaml:"subjects"`

	// InputStream and OutputStream are the JetStream stream names.
	InputStream  string `yaml:"input_stream"`
	OutputStream string `yaml:"output_stream"`
	// CreateStreams creates both streams (when missing) and the consumer
	// at start when true, and keeps the streams' subjects and duplicate
	// window as configured, leaving their other settings to the operator;
	// otherwise they must exist.
	CreateStreams bool `yaml:"create_streams"`
	// Replicas of the streams winnow creates.
	Replicas int `yaml:"replicas"`
	// Compression of the streams winnow creates: "none" or "s2" (the
	// server compresses what it stores; records shrink to about half). A
	// stream that exists keeps its own.
	Compression string `yaml:"compression"`
	// DuplicateWindow is the output stream's Nats-Msg-Id window; it must be
	// longer than AckWait x MaxDeliver plus the backoff, so a redelivered
	// document's record is always recognised as a duplicate.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`

	Durable       string          `yaml:"durable"`
	QueueGroup    string          `yaml:"queue_group"`
	AckWait       time.Duration   `yaml:"ack_wait"`
	MaxDeliver    int             `yaml:"max_deliver"`
	Backoff       []time.Duration `yaml:"backoff"`
	MaxAckPending int             `yaml:"max_ack_pending"`
	// PullBatch is how many messages the worker pulls ahead of its
	// handlers. The server's ack-wait clock runs from delivery, so a
	// message must reach a handler within AckWait of being pulled or it is
	// redelivered while it waits: where documents can take seconds each,
	// lower it towards a small multiple of Handlers (or raise AckWait); a
	// smaller batch costs more pull requests. A handler keeps its own
	// message's deadline fresh while it works on it.
	PullBatch int `yaml:"pull_batch"`

	// Handlers is the number of documents processed at once (default
	// 4 x GOMAXPROCS: a handler spends most of a document waiting for its
	// record's PubAck, so one per core leaves the cores idle; they share
	// a pipeline per core, see Run).
	Handlers int `yaml:"handlers"`
	// MaxDocBytes is the largest input accepted; larger ones are
	// dead-lettered too_large, every byte kept (see Worker.deadLetter).
	MaxDocBytes Bytes `yaml:"max_doc_bytes"`
	// PublishTimeout bounds the wait for a PubAck.
	PublishTimeout time.Duration `yaml:"publish_timeout"`
	// DrainTimeout bounds shutdown: in-flight documents not finished by then
	// are left unacked and redelivered elsewhere.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// CarryHeaders names the input headers copied onto every outcome of
	// the input (record, duplicate, rejected, dead letter), matched
	// ignoring case: "traceparent", or a prefix ending in '*' ("X-Crawl-*");
	// "*" is every header. Nats-* and Winnow-* headers are never copied.
	// `winnow redrive` gives them back to the input it republishes.
	CarryHeaders []string `yaml:"carry_headers"`
	// PassThrough publishes each decoded document as its record without
	// cleaning: the baseline `winnow bench` measures the worker against
	// (same NATS path, same publish and ack protocol).
	PassThrough bool `yaml:"pass_through"`

	// State selects where cross-document dedup state lives: "memory" (this
	// process's handlers share it; replicas do not) or "kv" (every replica
	// shares it through a JetStream KV bucket, see SharedMemory).
	State  string       `yaml:"state"`
	Shared SharedConfig `yaml:"shared"`
	// Outage is what a JetStream worker does when something every document
	// needs does not answer or has no room (the output stream; the dedupe
	// bucket with state kv): "pause" (hold its documents and pull no more
	// until it answers; see OutagePause) or "retry" (nak with backoff and
	// dead-letter after max_deliver; see OutageRetry).
	Outage string `yaml:"outage"`
	// StartupWait is how long start-up waits for JetStream to answer (see
	// untilJetStreamAnswers); `winnow run` sets it from nats.startup_wait.
	StartupWait time.Duration `yaml:"-"`
	// JetStreamDomain is the JetStream domain whose streams the worker
	// uses (see NewJetStream); `winnow run` sets it from
	// nats.jetstream_domain.
	JetStreamDomain string `yaml:"-"`

	backlogEvery time.Duration // how often to look the consumer up (watchBacklog); 0: backlogEvery
	heldLongAt   time.Duration // when a held document is said (keepAlive); 0: heldLongAfter
}

// heldLongAfter is how long a handler may hold a document, outside an
// outage, before the worker says so (a warning naming its input, and
// winnow_documents_held_long_total): documents take milliseconds, a page of
// 250,000 one-letter lines about half a second.
const heldLongAfter = 5 * time.Minute

func (c Config) heldLong() time.Duration {
	if c.heldLongAt > 0 {
		return c.heldLongAt
	}
	return heldLongAfter
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Mode: ModeJetStream,
		Subjects: Subjects{Input: "docs.raw.>", Clean: "docs.clean", Dup: "docs.dup",
			Rejected: "docs.rejected", DLQ: "docs.dlq"},
		InputStream: "WINNOW_RAW", OutputStream: "WINNOW_OUT", CreateStreams: true, Replicas: 1, Compression: "none",
		DuplicateWindow: 10 * time.Minute,
		Durable:         "winnow", QueueGroup: "winnow",
		AckWait: 30 * time.Second, MaxDeliver: 5,
		Backoff:       []time.Duration{time.Second, 5 * time.Second, 30 * time.Second},
		MaxAckPending: 1024, PullBatch: 128,
		Handlers:    4 * runtime.GOMAXPROCS(0),
		MaxDocBytes: 1 << 20, PublishTimeout: 10 * time.Second, DrainTimeout: 25 * time.Second,
		State: "memory", Shared: DefaultSharedConfig(), Outage: OutagePause,
	}
}

// InputPrefix is the input subject without its trailing wildcard.
func (s Subjects) InputPrefix() string {
	return strings.TrimSuffix(strings.TrimSuffix(s.Input, ">"), ".")
}

// worstRedelivery is how long a document can take from first delivery to its
// last: every ack wait plus every backoff.
func (c Config) worstRedelivery() time.Duration {
	d := c.AckWait * time.Duration(c.MaxDeliver)
	for i := 0; i < c.MaxDeliver; i++ {
		d += c.backoff(i + 1)
	}
	return d
}

// backoff returns the NakWithDelay delay after the given delivery.
func (c Config) backoff(delivery int) time.Duration {
	if len(c.Backoff) == 0 {
		return time.Second
	}
	return c.Backoff[min(max(delivery-1, 0), len(c.Backoff)-1)]
}

// LiteralSubject reports whether s is a subject (or subject prefix)
// without wildcards: tokens of at least one byte, no '*', '>' or white
// space. It allocates nothing: the worker asks it of every input's
// subject.
func LiteralSubject(s string) bool {
	return s != "" && !strings.ContainsAny(s, "*> \t\r\n") && !strings.Contains(s, "..") && s[0] != '.' && s[len(s)-1] != '.'
}

// ConfigError names a bad setting by its YAML path. It wraps
// ErrInvalidConfig.
type ConfigError struct {
	Field   string // e.g. "worker.handlers"
	Problem string // the value and what is wanted: "0: want >= 1"
}

func (e *ConfigError) Error() string { return "worker: invalid config: " + e.Field + ": " + e.Problem }

// Unwrap lets errors.Is(err, ErrInvalidConfig) hold.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Validate reports the first bad field by its YAML path (a *ConfigError).
func (c Config) Validate() error {
	bad := func(field string, format string, args ...any) error {
		return &ConfigError{Field: "worker." + field, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case c.Mode != ModeJetStream && c.Mode != ModeCore:
		return bad("mode", "%q: want jetstream or core", c.Mode)
	case !strings.HasSuffix(c.Subjects.Input, ".>") || !LiteralSubject(c.Subjects.InputPrefix()):
		// Outputs are named by what follows the prefix (docs.raw.site ->
		// docs.clean.site), so the prefix is literal: with a '*' in it no
		// subject starts with it, and every output went to docs.clean._.
		return bad("subjects.input", "%q: want a literal prefix ending in .> (e.g. docs.raw.>), no other wildcard", c.Subjects.Input)
	}
	for name, s := range map[string]string{"clean": c.Subjects.Clean, "dup": c.Subjects.Dup, "rejected": c.Subjects.Rejected, "dlq": c.Subjects.DLQ} {
		if !LiteralSubject(s) {
			return bad("subjects."+name, "%q: want a literal subject prefix such as docs.%s", s, name)
		}
		if strings.HasPrefix(s+".", c.Subjects.InputPrefix()+".") {
			return bad("subjects."+name, "%q overlaps the input subject %q", s, c.Subjects.Input)
		}
	}
	switch {
	case c.Handlers < 1:
		return bad("handlers", "%d: want >= 1", c.Handlers)
	case c.MaxDocBytes < 1024:
		return bad("max_doc_bytes", "%d: want >= 1024", c.MaxDocBytes)
	case c.PublishTimeout <= 0:
		return bad("publish_timeout", "%v: want > 0", c.PublishTimeout)
	case c.DrainTimeout <= 0:
		return bad("drain_timeout", "%v: want > 0", c.DrainTimeout)
	}
	switch {
	case c.State != "memory" && c.State != "kv":
		return bad("state", "%q: want memory or kv", c.State)
	case c.State == "kv" && c.Mode == ModeCore:
		return bad("state", "kv needs JetStream (mode jetstream)")
	case c.State == "kv" && (c.Shared.Bucket == "" || strings.ContainsAny(c.Shared.Bucket, ". *>")):
		return bad("shared.bucket", "%q: want a bucket name", c.Shared.Bucket)
	case c.State == "kv" && c.Shared.TTL < time.Minute:
		return bad("shared.ttl", "%v: want >= 1m", c.Shared.TTL)
	case c.State == "kv" && c.Shared.MaxBytes != 0 && c.Shared.MaxBytes < 1<<20:
		return bad("shared.max_bytes", "%d: want 0 (no limit but the ttl) or >= 1MiB", c.Shared.MaxBytes)
	case c.Outage != OutagePause && c.Outage != OutageRetry:
		return bad("outage", "%q: want %s or %s", c.Outage, OutagePause, OutageRetry)
	}
	for i, n := range c.CarryHeaders {
		if why := validCarryHeader(n); why != "" {
			return bad(fmt.Sprintf("carry_headers[%d]", i), "%q: %s", n, why)
		}
	}
	if c.Mode == ModeCore {
		if c.QueueGroup == "" {
			return bad("queue_group", "required in core mode")
		}
		return nil
	}
	switch {
	case c.InputStream == "" || strings.ContainsAny(c.InputStream, ". *>"):
		return bad("input_stream", "%q: want a stream name", c.InputStream)
	case c.OutputStream == "" || strings.ContainsAny(c.OutputStream, ". *>") || c.OutputStream == c.InputStream:
		return bad("output_stream", "%q: want a stream name other than the input's", c.OutputStream)
	case c.Durable == "" || strings.ContainsAny(c.Durable, ". *>"):
		return bad("durable", "%q: want a consumer name", c.Durable)
	case c.Replicas < 1 || c.Replicas > 5:
		return bad("replicas", "%d: want 1..5", c.Replicas)
	case c.Compression != "none" && c.Compression != "s2":
		return bad("compression", "%q: want none or s2", c.Compression)
	case c.AckWait < time.Second:
		return bad("ack_wait", "%v: want >= 1s", c.AckWait)
	case c.MaxDeliver < 1:
		return bad("max_deliver", "%d: want >= 1", c.MaxDeliver)
	case c.MaxAckPending < c.Handlers:
		return bad("max_ack_pending", "%d: want >= handlers (%d)", c.MaxAckPending, c.Handlers)
	case c.PullBatch < 1:
		return bad("pull_batch", "%d: want >= 1", c.PullBatch)
	case c.DuplicateWindow <= c.worstRedelivery():
		return bad("duplicate_window", "%v: want longer than ack_wait x max_deliver + backoff (%v)", c.DuplicateWindow, c.worstRedelivery())
	}
	for i, b := range c.Backoff {
		if b <= 0 {
			return bad(fmt.Sprintf("backoff[%d]", i), "%v: want > 0", b)
		}
	}
	return nil
}
