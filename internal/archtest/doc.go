// Package archtest holds the test that keeps winnow's layering honest: the
// pure packages (dedupe, moderate, pipeline, schemas) never import I/O,
// logging, metrics or NATS packages.
package archtest
