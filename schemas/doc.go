// Package schemas holds winnow's versioned wire contracts: the JSON Schemas
// of the input document, the cleaned record and the dead-letter record
// (embedded from v1/*.json) and the Go types that encode and decode them.
//
// The schema files are the contract; the Go decoder enforces the same rules
// without a schema engine on the hot path, and the package tests check that a
// real JSON Schema validator and the decoder agree on every fixture. The
// package does no I/O beyond reading its embedded files.
package schemas
