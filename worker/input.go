package worker

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/schemas"
)

// Header names winnow reads and writes.
const (
	// HeaderID carries a plain-text document's id.
	HeaderID = "Winnow-Id"
	// HeaderReason and HeaderError explain a dead letter.
	HeaderReason = "Winnow-Reason"
	HeaderError  = "Winnow-Error"
	// HeaderSubject is the subject an input arrived on.
	HeaderSubject = "Winnow-Subject"
	// HeaderOutcome is the outcome a record stands for.
	HeaderOutcome = "Winnow-Outcome"
)

// decodeInput turns a message body into a document. A Content-Type header
// says which a body is: application/json (a JSON document) or text/plain
// (plain text, whatever it starts with: code, RTF). Without one, a body
// whose first non-space byte (after a byte order mark) is '{' is a JSON
// document, and any other body plain text. Plain text takes its id from
// the Winnow-Id or Nats-Msg-Id header. Failures are *schemas.InputError.
func decodeInput(data []byte, h nats.Header, maxBytes int) (schemas.Document, error) {
	if len(data) > maxBytes {
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonTooLarge,
			Detail: fmt.Sprintf("%d bytes is over the %d-byte limit", len(data), maxBytes), ID: headerID(h)}
	}
	switch mediaType(h) {
	case "application/json":
		return pipeline.Decode(data)
	case "text/plain":
	default:
		trimmed := bytes.TrimLeft(schemas.TrimBOM(data), " \t\r\n")
		if len(trimmed) > 0 && trimmed[0] == '{' {
			return pipeline.Decode(data)
		}
	}
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonEmpty, Detail: "empty body", ID: headerID(h)}
	case !utf8.Valid(data):
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonInvalidUTF8, Detail: "plain-text body is not valid UTF-8", ID: headerID(h)}
	}
	id := headerID(h)
	switch {
	case id == "":
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonNoID,
			Detail: "plain-text body without a " + HeaderID + " or " + nats.MsgIdHdr + " header"}
	case len(id) > schemas.MaxIDBytes:
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonInvalidField,
			Detail: fmt.Sprintf("the id header is longer than %d bytes", schemas.MaxIDBytes)}
	case !utf8.ValidString(id):
		return schemas.Document{}, &schemas.InputError{Reason: schemas.ReasonInvalidField,
			Detail: "the id header is not valid UTF-8"}
	}
	return schemas.Document{ID: id, Text: string(data)}, nil
}

// mediaType is the Content-Type header's media type, lower case, without
// parameters ("text/plain; charset=utf-8" is "text/plain"); "" when none.
func mediaType(h nats.Header) string {
	if h == nil {
		return ""
	}
	t, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return strings.ToLower(strings.TrimSpace(t))
}

func headerID(h nats.Header) string {
	if h == nil {
		return ""
	}
	if id := h.Get(HeaderID); id != "" {
		return id
	}
	return h.Get(nats.MsgIdHdr)
}
