package schemas

import "encoding/json"

// Document is an input document (winnow.v1.document).
type Document struct {
	ID          string          `json:"id"`
	Text        string          `json:"text"`
	URL         string          `json:"url,omitempty"`
	Source      string          `json:"source,omitempty"`
	Title       string          `json:"title,omitempty"`
	Lang        string          `json:"lang,omitempty"`
	FetchedAt   string          `json:"fetched_at,omitempty"`
	ContentType string          `json:"content_type,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
}

// Record is a cleaned document (winnow.v1.record).
type Record struct {
	Schema      string          `json:"schema"`
	ID          string          `json:"id"`
	Text        string          `json:"text"`
	URL         string          `json:"url,omitempty"`
	Source      string          `json:"source,omitempty"`
	Title       string          `json:"title,omitempty"`
	Lang        string          `json:"lang,omitempty"`
	FetchedAt   string          `json:"fetched_at,omitempty"`
	ContentType string          `json:"content_type,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	Removed     []Removal       `json:"removed"`
	// RemovedOmitted counts the removals past the most a record lists
	// (pipeline.max_removals), or that a record within the server's
	// max_payload or the output stream's max_msg_size could not hold;
	// Stats.RemovedByReason counts them too.
	RemovedOmitted int `json:"removed_omitted,omitempty"`
	// DuplicateOf names the earlier document this one near-duplicates,
	// DuplicateRule the rule that found it ("exact", "near" or "blocks").
	DuplicateOf         string     `json:"duplicate_of,omitempty"`
	DuplicateSimilarity float64    `json:"duplicate_similarity,omitempty"`
	DuplicateRule       string     `json:"duplicate_rule,omitempty"`
	Rejected            *Rejection `json:"rejected,omitempty"`
	Flags               []Flag     `json:"flags"`
	Stats               Stats      `json:"stats"`
}

// Removal is one removed block or span with its reason and evidence.
type Removal struct {
	Text   string `json:"text"`
	Reason string `json:"reason"`
	Kind   string `json:"kind,omitempty"`
	// Offset and Length are UTF-8 byte positions in the input text.
	Offset int `json:"offset"`
	Length int `json:"length"`
	// RefOffset and RefLength locate the block this one repeats in the same
	// document; RefDoc names the earlier document for a cross-document repeat.
	RefOffset  *int    `json:"ref_offset,omitempty"`
	RefLength  *int    `json:"ref_length,omitempty"`
	RefDoc     string  `json:"ref_doc,omitempty"`
	Similarity float64 `json:"similarity,omitempty"`
	Score      float64 `json:"score,omitempty"`
	Action     string  `json:"action,omitempty"`
	Evidence   string  `json:"evidence,omitempty"`
}

// Flag marks a document without changing it, e.g. {"rule":"spam","score":0.97}.
type Flag struct {
	Rule     string  `json:"rule"`
	Score    float64 `json:"score,omitempty"`
	Evidence string  `json:"evidence,omitempty"`
}

// Rejection says which moderation rule rejected the whole document.
type Rejection struct {
	Rule     string  `json:"rule"`
	Score    float64 `json:"score,omitempty"`
	Evidence string  `json:"evidence,omitempty"`
}

// Stats summarises what cleaning did to one document.
type Stats struct {
	BytesIn         int            `json:"bytes_in"`
	BytesOut        int            `json:"bytes_out"`
	LinesIn         int            `json:"lines_in"`
	LinesOut        int            `json:"lines_out"`
	RemovedByReason map[string]int `json:"removed_by_reason,omitempty"`
}

// DeadLetter is an input winnow could not process (winnow.v1.dead_letter).
type DeadLetter struct {
	Schema    string `json:"schema"`
	Reason    Reason `json:"reason"`
	Error     string `json:"error"`
	ID        string `json:"id,omitempty"`
	Subject   string `json:"subject,omitempty"`
	Line      int    `json:"line,omitempty"`
	Size      int    `json:"size"`
	Truncated bool   `json:"truncated,omitempty"`
	// Parts is how many messages keep an input larger than one holds
	// (worker): this dead letter, part 1, with its first bytes, and the
	// continuations published before it on its subject, each part n of
	// them holding the bytes from Offset (see DeadLetterV1's schema). Every
	// part is Truncated, so a reader that knows nothing of parts takes
	// none of them for the whole input.
	Part   int `json:"part,omitempty"`
	Parts  int `json:"parts,omitempty"`
	Offset int `json:"offset,omitempty"`
	// ContentType is the input's Content-Type header (worker), which says
	// how data reads: a plain-text body's charset. A redrive sends it back.
	ContentType string `json:"content_type,omitempty"`
	// ContentEncoding is the input's Content-Encoding header (worker): data
	// holds the bytes as they came, compressed.
	ContentEncoding string `json:"content_encoding,omitempty"`
	Encoding        string `json:"encoding"`
	Data            string `json:"data"`
}
