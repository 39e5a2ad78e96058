package moderate

import (
	"errors"
	"fmt"
)

// Action is what a finding asks the pipeline to do.
type Action string

// Actions.
const (
	// ActionDropBlock removes the whole block (line).
	ActionDropBlock Action = "drop_block"
	// ActionRedact removes a span inside a block.
	ActionRedact Action = "redact"
	// ActionFlag marks the document and changes nothing.
	ActionFlag Action = "flag"
	// ActionReject routes the whole document to docs.rejected.>.
	ActionReject Action = "reject"
	// ActionOff disables a rule or a kind within one.
	ActionOff Action = "off"
)

// ErrInvalidPolicy is wrapped by every error Policy.Validate returns.
var ErrInvalidPolicy = errors.New("moderate: invalid policy")

// Policy selects the rules, their thresholds and actions. Start from
// DefaultPolicy; every field is documented with its default.
type Policy struct {
	Promotional PromoPolicy       `yaml:"promotional" json:"promotional"`
	Spam        SpamPolicy        `yaml:"spam" json:"spam"`
	PII         PIIPolicy         `yaml:"pii" json:"pii"`
	Blocklist   BlocklistPolicy   `yaml:"blocklist" json:"blocklist"`
	Boilerplate BoilerplatePolicy `yaml:"boilerplate" json:"boilerplate"`
}

// PromoPolicy: call-to-action and shopping language, prices and discounts,
// newsletter and subscription pitches. A block whose sentences are mostly
// pitches is dropped (an ad); a pitch sentence inside other content is
// redacted. When most of a document is promotional, or the spam rule
// flags it, it is flagged instead (it is an ad or spam as a whole; removing
// it line by line would leave nothing, or a mangled ad).
type PromoPolicy struct {
	Enabled bool `yaml:"enabled" json:"enabled"` // default true
	// BlockRatio: the share of a block's sentences that must be pitches for
	// the block to be dropped rather than redacted (default 0.35).
	BlockRatio float64 `yaml:"block_ratio" json:"block_ratio"`
	// DocumentRatio: the share of a document's content lines that, once
	// promotional, makes the rule flag the document instead (default 0.3).
	DocumentRatio float64 `yaml:"document_ratio" json:"document_ratio"`
	// ExtraPhrases are added to the built-in pitch phrases.
	ExtraPhrases []string `yaml:"extra_phrases" json:"extra_phrases"`
}

// SpamPolicy: the spam classifier (flag or reject above the threshold).
type SpamPolicy struct {
	Enabled bool   `yaml:"enabled" json:"enabled"` // default true
	Action  Action `yaml:"action" json:"action"`   // flag (default) or reject
	// Threshold overrides the model's own (chosen by cross-validation) when
	// above 0.
	Threshold float64 `yaml:"threshold" json:"threshold"`
	// ModelFile replaces the embedded model (a `winnow train-spam` output).
	ModelFile string `yaml:"model_file" json:"model_file"`
	// Sources, when not empty, limits the rule to documents whose `source`
	// field is one of them ("" names documents without one). The model
	// knows mail and nothing else: on newswire it flags a third of the
	// stories (README), so a stream that mixes mail with other text names
	// its mail sources here.
	Sources []string `yaml:"sources" json:"sources"`
}

// PIIPolicy: e-mail addresses (plain and obfuscated), phone numbers and
// Luhn-valid payment card numbers, each redact, flag or off. Defaults: cards
// redact; e-mail and phone flag, because mail signatures, list trailers and
// contact lines are mostly body text that a redaction would mangle; set them
// to redact for a training-data store.
type PIIPolicy struct {
	Enabled bool   `yaml:"enabled" json:"enabled"` // default true
	Email   Action `yaml:"email" json:"email"`
	Phone   Action `yaml:"phone" json:"phone"`
	Card    Action `yaml:"card" json:"card"`
}

// BlocklistPolicy: operator-supplied words and phrases, matched on
// normalised words in linear time (Aho-Corasick over words).
type BlocklistPolicy struct {
	Enabled bool     `yaml:"enabled" json:"enabled"` // default true; inert while empty
	Action  Action   `yaml:"action" json:"action"`   // drop_block (default), redact, flag or reject
	Phrases []string `yaml:"phrases" json:"phrases"`
	// File holds more phrases, one a line (# comments); read at start-up.
	File string `yaml:"file" json:"file"`
}

// BoilerplatePolicy: cookie and consent notices, legal lines, share/follow
// widgets (C4-style line rules). Off by default: on news pages these words
// also occur in body text.
type BoilerplatePolicy struct {
	Enabled bool   `yaml:"enabled" json:"enabled"` // default false
	Action  Action `yaml:"action" json:"action"`   // drop_block (default) or flag
}

// DefaultPolicy returns the documented defaults.
func DefaultPolicy() Policy {
	return Policy{
		Promotional: PromoPolicy{Enabled: true, BlockRatio: 0.35, DocumentRatio: 0.3},
		Spam:        SpamPolicy{Enabled: true, Action: ActionFlag},
		PII:         PIIPolicy{Enabled: true, Email: ActionFlag, Phone: ActionFlag, Card: ActionRedact},
		Blocklist:   BlocklistPolicy{Enabled: true, Action: ActionDropBlock},
		Boilerplate: BoilerplatePolicy{Enabled: false, Action: ActionDropBlock},
	}
}

// PolicyError names a bad policy field by its YAML path. It wraps
// ErrInvalidPolicy.
type PolicyError struct {
	Field   string // e.g. "spam.action"
	Problem string // the value and what is wanted
}

func (e *PolicyError) Error() string {
	return "moderate: invalid policy: " + e.Field + ": " + e.Problem
}

// Unwrap lets errors.Is(err, ErrInvalidPolicy) hold.
func (e *PolicyError) Unwrap() error { return ErrInvalidPolicy }

// Validate reports the first bad field by its YAML path (a *PolicyError).
func (p Policy) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &PolicyError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	oneOf := func(field string, a Action, allowed ...Action) error {
		for _, x := range allowed {
			if a == x {
				return nil
			}
		}
		return bad(field, "%q: want one of %v", a, allowed)
	}
	switch {
	case p.Promotional.BlockRatio <= 0 || p.Promotional.BlockRatio > 1:
		return bad("promotional.block_ratio", "%v: want (0, 1]", p.Promotional.BlockRatio)
	case p.Promotional.DocumentRatio <= 0 || p.Promotional.DocumentRatio > 1:
		return bad("promotional.document_ratio", "%v: want (0, 1]", p.Promotional.DocumentRatio)
	case p.Spam.Threshold < 0 || p.Spam.Threshold >= 1:
		return bad("spam.threshold", "%v: want [0, 1)", p.Spam.Threshold)
	}
	for _, c := range []struct {
		field string
		a     Action
		ok    []Action
	}{
		{"spam.action", p.Spam.Action, []Action{ActionFlag, ActionReject}},
		{"pii.email", p.PII.Email, []Action{ActionRedact, ActionFlag, ActionOff}},
		{"pii.phone", p.PII.Phone, []Action{ActionRedact, ActionFlag, ActionOff}},
		{"pii.card", p.PII.Card, []Action{ActionRedact, ActionFlag, ActionOff}},
		{"blocklist.action", p.Blocklist.Action, []Action{ActionDropBlock, ActionRedact, ActionFlag, ActionReject}},
		{"boilerplate.action", p.Boilerplate.Action, []Action{ActionDropBlock, ActionFlag}},
	} {
		if err := oneOf(c.field, c.a, c.ok...); err != nil {
			return err
		}
	}
	for _, list := range []struct {
		field   string
		phrases []string
	}{{"promotional.extra_phrases", p.Promotional.ExtraPhrases}, {"blocklist.phrases", p.Blocklist.Phrases}} {
		for i, ph := range list.phrases {
			if normalizedWords(ph) == 0 {
				return bad(fmt.Sprintf("%s[%d]", list.field, i), "%q has no words", ph)
			}
		}
	}
	return nil
}
