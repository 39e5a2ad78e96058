package schemas

import "embed"

// Type strings, carried in the "schema" field of every record winnow writes.
const (
	DocumentV1   = "winnow.v1.document"
	RecordV1     = "winnow.v1.record"
	DeadLetterV1 = "winnow.v1.dead_letter"
)

//go:embed v1/*.json
var files embed.FS

// File returns the JSON Schema for a type string (DocumentV1, RecordV1 or
// DeadLetterV1), or false for an unknown one.
func File(typ string) ([]byte, bool) {
	name, ok := map[string]string{
		DocumentV1:   "v1/document.json",
		RecordV1:     "v1/record.json",
		DeadLetterV1: "v1/dead_letter.json",
	}[typ]
	if !ok {
		return nil, false
	}
	b, err := files.ReadFile(name)
	return b, err == nil
}
