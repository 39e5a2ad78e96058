package pipeline

import (
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
	// Moderation is the content policy (see moderate.Policy); Moderate
	// turns the stage off altogether.
	Moderate   bool            `yaml:"moderate"`
	Moderation moderate.Policy `yaml:"moderation"`
	// ModerationOptions carries what the policy names but the pure
	// packages cannot read (the spam model file, the blocklist file); the
	// caller fills it.
	ModerationOptions moderate.Options `yaml:"-"`
}

// DefaultConfig returns the documented defaults: every stage on.
func DefaultConfig() Config {
	return Config{Dedupe: dedupe.DefaultOptions(), Moderate: true, Moderation: moderate.DefaultPolicy()}
}

// Validate checks every field; the error names the first bad one.
func (c Config) Validate() error {
	if err := c.Dedupe.Validate(); err != nil {
		return fmt.Errorf("pipeline: dedupe: %w", err)
	}
	if err := c.Moderation.Validate(); err != nil {
		return fmt.Errorf("pipeline: moderation: %w", err)
	}
	return nil
}

// Pipeline cleans one document at a time.
type Pipeline struct {
	cfg     Config
	cleaner *dedupe.Cleaner
	stages  []Stage

	analysis dedupe.Analysis
	doc      Doc
	out      []byte
}

// New builds a pipeline for cfg. Extra stages run after in-document dedupe,
// in order.
func New(cfg Config, extra ...Stage) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := dedupe.NewCleaner(cfg.Dedupe)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	var stages []Stage
	if cfg.Moderate {
		m, err := moderate.New(cfg.Moderation, cfg.ModerationOptions)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		stages = append(stages, &moderation{m: m})
	}
	return &Pipeline{cfg: cfg, cleaner: c, stages: append(stages, extra...)}, nil
}

// Decode decodes one JSON input document; failures are *schemas.InputError.
func Decode(b []byte) (schemas.Document, error) { return schemas.DecodeDocument(b) }

// Process cleans one valid document and returns its outcome and record. The
// record shares no memory with the Pipeline.
func (p *Pipeline) Process(in schemas.Document) (Outcome, schemas.Record) {
	if cap(p.out) > 1<<20 {
		p.out = nil // do not pin one huge document's buffer
	}
	p.doc = Doc{In: in, A: &p.analysis}
	p.cleaner.Analyze(in.Text, &p.analysis)
	for _, s := range p.stages {
		s.Process(&p.doc)
	}
	rec := p.record()
	switch {
	case p.doc.Rejected != nil:
		return Rejected, rec
	case p.doc.DuplicateOf != "":
		return Duplicate, rec
	}
	return Clean, rec
}
