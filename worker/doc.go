// Package worker is winnow's I/O side: JetStream in -> pipeline -> JetStream
// out. It owns the ack policy (one place decides every message's outcome),
// dead letters, metrics, logging, health and drain. Cleaning decisions are
// the pipeline's; the worker never makes one.
//
// Every input ends as exactly one of four outcomes, each a subject family on
// the output stream: a cleaned record (docs.clean.>), a whole-document
// duplicate (docs.dup.>), a document rejected by a moderation rule
// (docs.rejected.>) or a dead letter (docs.dlq.>). Records are published with
// Nats-Msg-Id set from the document id and the input is acked only after the
// PubAck, so a redelivery after a crash is deduplicated by the server instead
// of producing a second record.
package worker
