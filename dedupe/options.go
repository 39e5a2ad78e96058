package dedupe

import (
	"errors"
	"fmt"
)

// ErrInvalidOptions is wrapped by every error Options.Validate returns.
var ErrInvalidOptions = errors.New("dedupe: invalid options")

// OptionError names an option out of range by its YAML name. It wraps
// ErrInvalidOptions.
type OptionError struct {
	Field   string // e.g. "near_threshold", "memory.max_docs"
	Problem string // the value and what is wanted: "1.5: want (0, 1]"
}

func (e *OptionError) Error() string { return "dedupe: invalid options: " + e.Field + ": " + e.Problem }

// Unwrap lets errors.Is(err, ErrInvalidOptions) hold.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

func badOption(field, format string, args ...any) error {
	return &OptionError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Options tune the in-document decisions. The zero value is not valid; start
// from DefaultOptions.
type Options struct {
	// ShingleSize is k of the word k-shingles (default 5).
	ShingleSize int `yaml:"shingle_size" json:"shingle_size"`
	// NearThreshold is the Jaccard similarity of shingle sets at or above
	// which a block near-duplicates an earlier one (default 0.85).
	NearThreshold float64 `yaml:"near_threshold" json:"near_threshold"`
	// NearMinWords is the fewest words a block needs before it can be a near
	// repeat; shorter blocks (captions, menu words) repeat only exactly
	// (default 8).
	NearMinWords int `yaml:"near_min_words" json:"near_min_words"`
	// MaxPostings bounds how many earlier blocks one shingle points at when
	// looking for near repeats, so a document of near-identical lines stays
	// linear (default 32).
	MaxPostings int `yaml:"max_postings" json:"max_postings"`
	// MaxNearWords is the most words a block may have and still be compared
	// for near repeats; longer blocks (a whole page run into one line) repeat
	// only exactly, which keeps memory per document bounded (default 5000).
	MaxNearWords int `yaml:"max_near_words" json:"max_near_words"`
	// InLine removes text a line repeats inside itself: a caption or a
	// teaser printed twice, a notice shown twice, on a page an extractor
	// put on one line (default true; see inline.go).
	InLine bool `yaml:"in_line" json:"in_line"`
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{ShingleSize: 5, NearThreshold: 0.85, NearMinWords: 8, MaxPostings: 32, MaxNearWords: 5000, InLine: true}
}

// Validate reports the first field that is out of range (an *OptionError).
func (o Options) Validate() error {
	switch {
	case o.ShingleSize < 1 || o.ShingleSize > 32:
		return badOption("shingle_size", "%d: want 1..32", o.ShingleSize)
	case !(o.NearThreshold > 0 && o.NearThreshold <= 1):
		return badOption("near_threshold", "%v: want (0, 1]", o.NearThreshold)
	case o.NearMinWords < 1:
		return badOption("near_min_words", "%d: want >= 1", o.NearMinWords)
	case o.MaxPostings < 1:
		return badOption("max_postings", "%d: want >= 1", o.MaxPostings)
	case o.MaxNearWords < o.NearMinWords:
		return badOption("max_near_words", "%d: want >= near_min_words (%d)", o.MaxNearWords, o.NearMinWords)
	}
	return nil
}
