package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publisher writes one output message and reports when it is durable, and
// whether the stream already held a message of its Nats-Msg-Id (within its
// duplicate window), in which case this one was not stored.
type publisher interface {
	publish(ctx context.Context, subject, msgID string, body []byte, h nats.Header) (dup bool, err error)
}

// jsPublisher publishes to JetStream and waits for the PubAck. A Duplicate
// ack (the stream already has this Nats-Msg-Id) is success.
type jsPublisher struct {
	js jetstream.JetStream
	w  *Worker
}

func (p *jsPublisher) publish(ctx context.Context, subject, msgID string, body []byte, h nats.Header) (bool, error) {
	m := &nats.Msg{Subject: subject, Data: body, Header: h}
	ack, err := p.send(ctx, m, msgID)
	if errors.Is(err, jetstream.ErrNoStreamResponse) && p.w.recreateOutput(ctx) {
		ack, err = p.send(ctx, m, msgID)
	}
	if tooLargeForStream(err) {
		return false, fmt.Errorf("%w: %w: %d-byte message: %v", errPermanent, errOverMaxMsgSize, len(body)+headerBytes(m.Header), err)
	}
	if errors.Is(err, nats.ErrMaxPayload) {
		return false, fmt.Errorf("%w: %d-byte message: %v", errPermanent, len(body), err)
	}
	if noRoom(err) {
		return false, fmt.Errorf("%w: %w", errNoRoom, err)
	}
	if refused := publishRefused(p.w.nc, err, m.Subject+`"`); refused != nil {
		return false, fmt.Errorf("%w: %v: %w", errNotPermitted, err, refused)
	}
	if err != nil {
		return false, err
	}
	return ack.Duplicate, nil
}

// send publishes m once, waiting up to publish_timeout for its PubAck.
func (p *jsPublisher) send(ctx context.Context, m *nats.Msg, msgID string) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, p.w.cfg.PublishTimeout)
	defer cancel()
	return p.js.PublishMsg(ctx, m, jetstream.WithMsgID(msgID))
}

// errNoRoom marks a publish the output stream refused for want of room
// (its own limits under discard: new, or the JetStream storage of its
// account or server) or because it is sealed. The stream still answers its
// info, so only a write can tell when it takes writes again (see
// outage.confirm): a sealed one never does, but one made in its place
// (create_streams makes it when it is deleted) does.
var errNoRoom = errors.New("output stream takes no writes")

// errNotPermitted marks a publish the server refused the user: it drops a
// message the user may not publish, so its PubAck times out, and says why
// only aside (the connection's last error). Every document's output on that
// subject prefix meets it, until an operator changes the user's
// permissions: as for errNoRoom, only a write can tell.
var errNotPermitted = errors.New("the server does not let this user publish there")

// publishRefused returns the server's refusal of a publish to a subject
// beginning with prefix (a subject and its closing quote for that subject
// alone) when err is a timeout and the connection's last error is that
// refusal; else nil. The server drops a publish the user may not make, so
// a request for it times out, and says why only aside.
func publishRefused(nc *nats.Conn, err error, prefix string) error {
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
		return nil
	}
	last := nc.LastError()
	if errors.Is(last, nats.ErrPermissionViolation) && strings.Contains(last.Error(), `Publish to "`+prefix) {
		return last
	}
	return nil
}

// noRoom reports whether err is a PubAck error for want of room, or of a
// sealed stream.
func noRoom(err error) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode {
	case 10023, 10002: // insufficient resources (the server's storage); resource limits exceeded for account
		return true
	case 10077: // store failed; a discard-new stream at its message or byte limit says so.
		// Not at its per-subject limit: that holds back one subject, not every document.
		return api.Description == "maximum messages exceeded" || api.Description == "maximum bytes exceeded"
	case 10109: // invalid operation on sealed stream: no writes until an operator replaces it
		return true
	}
	return false
}

// errOverMaxMsgSize marks a publish the output stream refused as over its
// max_msg_size (see Worker.fitToStream).
var errOverMaxMsgSize = errors.New("over the stream's max_msg_size")

// headerBytes is how many bytes h takes as nats.go sends it, which the
// server's max_payload and a stream's max_msg_size count with the body.
func headerBytes(h nats.Header) int {
	if len(h) == 0 {
		return 0
	}
	n := len("NATS/1.0\r\n\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4 // "k: v\r\n"
		}
	}
	return n
}

// tooLargeForStream reports whether err is a PubAck error for a message
// over the stream's max_msg_size: sent again, it is refused again.
func tooLargeForStream(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}

// corePublisher publishes with core NATS: no acknowledgement, so delivery is
// at most once. Nats-Msg-Id is still set for downstream deduplication.
type corePublisher struct {
	nc *nats.Conn
}

func (p *corePublisher) publish(_ context.Context, subject, msgID string, body []byte, h nats.Header) (bool, error) {
	h.Set(nats.MsgIdHdr, msgID)
	err := p.nc.PublishMsg(&nats.Msg{Subject: subject, Data: body, Header: h})
	if errors.Is(err, nats.ErrMaxPayload) {
		return false, fmt.Errorf("%w: %d-byte message: %v", errPermanent, len(body), err)
	}
	return false, err
}
