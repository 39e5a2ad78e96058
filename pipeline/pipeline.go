package pipeline

import (
	"errors"
	"fmt"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/moderate"
	"github.com/winnow-dev/winnow/schemas"
)

// Outcome is where a processed document goes.
type Outcome int

// Outcomes, one per output subject.
const (
	// Clean: a cleaned record (docs.clean.>).
	Clean Outcome = iota
	// Duplicate: the whole document near-duplicates an earlier one (docs.dup.>).
	Duplicate
	// Rejected: a moderation rule rejected the document (docs.rejected.>).
	Rejected
)

var outcomeNames = [...]string{"clean", "duplicate", "rejected"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// Config selects and tunes the stages.
type Config struct {
	Dedupe dedupe.Options `yaml:"dedupe"`
	// Cross turns on cross-document dedup (near-duplicate documents,
	// recurring blocks, quoted passages) against Memory.
	Cross        bool                `yaml:"cross"`
	CrossOptions dedupe.CrossOptions `yaml:"cross_options"`
	// Memory is the cross-document state, shared by every pipeline that
	// should see the same stream; nil gives each pipeline its own in-memory
	// one (batch mode).
	Memory dedupe.Memory `yaml:"-"`
	// Moderation is the content policy (see moderate.Policy); Moderate
	// turns the stage off altogether.
	Moderate   bool            `yaml:"moderate"`
	Moderation moderate.Policy `yaml:"moderation"`
	// ModerationOptions carries what the policy names but the pure
	// packages cannot read (the spam model file, the blocklist file); the
	// caller fills it.
	ModerationOptions moderate.Options `yaml:"-"`
	// MaxRemovals is the most removals a record lists (an example of every
	// reason and repeated block first, see schemas.ListingOrder); the rest
	// are counted in its removed_omitted (and, with every other, in
	// stats.removed_by_reason). 0 lists them all.
	MaxRemovals int `yaml:"max_removals"`
}

// DefaultConfig returns the documented defaults: every stage on.
func DefaultConfig() Config {
	return Config{Dedupe: dedupe.DefaultOptions(), Cross: true, CrossOptions: dedupe.DefaultCrossOptions(),
		Moderate: true, Moderation: moderate.DefaultPolicy(), MaxRemovals: DefaultMaxRemovals}
}

// DefaultMaxRemovals is Config.MaxRemovals's default, about twice the most
// a page of the bench corpus has (545): past it, a record's removals are
// tiny repeats by the thousand, a page's entry many times its size.
const DefaultMaxRemovals = 1000

// ConfigError names a bad field of a Config by its YAML path. Err is the
// dedupe or moderate error it came from.
type ConfigError struct {
	Field   string // e.g. "dedupe.near_threshold", "moderation.spam.action"
	Problem string // the value and what is wanted: "1.5: want (0, 1]"
	Err     error
}

func (e *ConfigError) Error() string {
	return "pipeline: invalid config: " + e.Field + ": " + e.Problem
}

// Unwrap lets errors.Is(err, dedupe.ErrInvalidOptions) and the like hold.
func (e *ConfigError) Unwrap() error { return e.Err }

// Validate checks every field; the error (a *ConfigError) names the first
// bad one.
func (c Config) Validate() error {
	if err := c.Dedupe.Validate(); err != nil {
		return fieldError("dedupe", err)
	}
	if err := c.CrossOptions.Validate(); err != nil {
		return fieldError("cross_options", err)
	}
	if err := c.Moderation.Validate(); err != nil {
		return fieldError("moderation", err)
	}
	if c.MaxRemovals < 0 {
		return &ConfigError{Field: "max_removals", Problem: fmt.Sprintf("%d: want 0 (list every removal) or more", c.MaxRemovals)}
	}
	return nil
}

// fieldError puts the field err names under section.
func fieldError(section string, err error) error {
	var oe *dedupe.OptionError
	var pe *moderate.PolicyError
	switch {
	case errors.As(err, &oe):
		return &ConfigError{Field: section + "." + oe.Field, Problem: oe.Problem, Err: err}
	case errors.As(err, &pe):
		return &ConfigError{Field: section + "." + pe.Field, Problem: pe.Problem, Err: err}
	}
	return &ConfigError{Field: section, Problem: err.Error(), Err: err}
}

// Pipeline cleans one document at a time.
type Pipeline struct {
	cfg     Config
	cleaner *dedupe.Cleaner
	cross   *crossStage
	stages  []Stage
	// mod masks the personal data its policy redacts in the text a record
	// quotes from removed lines (nil without moderation).
	mod *moderate.Moderator

	analysis dedupe.Analysis
	doc      Doc
	out      []byte
	order    []removalRef
}

// New builds a pipeline for cfg. Extra stages run after in-document dedupe,
// in order.
func New(cfg Config, extra ...Stage) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return build(cfg, nil, extra)
}

// Factory checks cfg and returns a function that builds pipelines for it,
// one for each goroutine that cleans (a worker's handlers). They share
// what the moderation policy compiles to (see moderate.Moderator.Fork),
// compiled here once: a copy per handler multiplied a long blocklist's
// memory by the handlers.
func Factory(cfg Config) (func() (*Pipeline, error), error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var shared *moderate.Moderator
	if cfg.Moderate {
		m, err := moderate.New(cfg.Moderation, cfg.ModerationOptions)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		shared = m
	}
	return func() (*Pipeline, error) { return build(cfg, shared, nil) }, nil
}

// build makes a pipeline for a checked cfg, its moderation a Fork of
// shared when one is given.
func build(cfg Config, shared *moderate.Moderator, extra []Stage) (*Pipeline, error) {
	c, err := dedupe.NewCleaner(cfg.Dedupe)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	var stages []Stage
	var cross *crossStage
	if cfg.Cross {
		mem := cfg.Memory
		if mem == nil {
			mem = dedupe.NewMemory(cfg.CrossOptions.Memory)
		}
		x, err := dedupe.NewCross(cfg.CrossOptions, cfg.Dedupe.ShingleSize, mem)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		cross = &crossStage{x: x, mem: mem}
		stages = append(stages, cross)
	}
	var m *moderate.Moderator
	if cfg.Moderate {
		if shared != nil {
			m = shared.Fork()
		} else if m, err = moderate.New(cfg.Moderation, cfg.ModerationOptions); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		stages = append(stages, &moderation{m: m})
	}
	return &Pipeline{cfg: cfg, cleaner: c, cross: cross, stages: append(stages, extra...), mod: m}, nil
}

// Commit records the last processed document in the cross-document
// memory. Call it once the document's record is durable (batch mode: at
// once), so a document that is redelivered after a crash is not taken for a
// duplicate of itself. Duplicates and rejected documents commit nothing.
func (p *Pipeline) Commit() {
	if p.committable() {
		p.cross.mem.Commit(&p.cross.dec.Commit)
		p.cross.pending = false
	}
}

// committable reports whether the last processed document has a commit
// still to record (duplicates and rejected documents have none).
func (p *Pipeline) committable() bool {
	return p.cross != nil && p.cross.pending && p.doc.Rejected == nil
}

// Pending is a processed document's commit detached from its Pipeline, so
// the pipeline can take the next document while this one's record is being
// published. The zero value is ready; its buffers are reused by the next
// Detach into it.
type Pending struct {
	mem dedupe.Memory
	c   dedupe.Commit
	ok  bool
}

// Detach moves the last processed document's commit into d (as Commit
// would record it) and leaves the Pipeline with nothing to commit.
func (p *Pipeline) Detach(d *Pending) {
	d.ok = false
	if !p.committable() {
		return
	}
	src := &p.cross.dec.Commit
	blocks, shingles := append(d.c.Blocks[:0], src.Blocks...), append(d.c.Shingles[:0], src.Shingles...)
	d.c = *src
	d.c.Blocks, d.c.Shingles = blocks, shingles
	d.mem, d.ok = p.cross.mem, true
	p.cross.pending = false
}

// Commit records the detached document in the cross-document memory (see
// Pipeline.Commit); a second call does nothing.
func (d *Pending) Commit() {
	if d.ok {
		d.mem.Commit(&d.c)
		d.ok = false
	}
}

// Decode decodes one JSON input document; failures are *schemas.InputError.
func Decode(b []byte) (schemas.Document, error) { return schemas.DecodeDocument(b) }

// Process cleans one valid document and returns its outcome and record. The
// record shares no memory with the Pipeline. An error is never the
// document's fault (it is a stage's shared state failing): retry later.
func (p *Pipeline) Process(in schemas.Document) (Outcome, schemas.Record, error) {
	if cap(p.out) > 1<<20 {
		p.out = nil // do not pin one huge document's buffer
	}
	p.doc = Doc{In: in, A: &p.analysis}
	if p.cross != nil {
		p.cross.pending = false
	}
	p.cleaner.Analyze(in.Text, &p.analysis)
	for _, r := range p.analysis.Cuts {
		rm := inDocRemoval(in.Text, r)
		rm.Kind = r.Kind.String()
		p.doc.Cuts = append(p.doc.Cuts, Cut{Span: r.Span, Removal: rm})
	}
	for _, s := range p.stages {
		s.Process(&p.doc)
		if p.doc.Err != nil {
			if p.cross != nil {
				p.cross.pending = false
			}
			return Clean, schemas.Record{}, fmt.Errorf("pipeline: %w", p.doc.Err)
		}
	}
	rec := p.record()
	switch {
	case p.doc.Rejected != nil:
		return Rejected, rec, nil
	case p.doc.DuplicateOf != "":
		return Duplicate, rec, nil
	}
	return Clean, rec, nil
}
