package schemas

import (
	"encoding/base64"
	"strings"
)

// MsgIDPrefix starts the Nats-Msg-Id of a document id that a NATS header
// cannot carry as it is (see MsgID).
const MsgIDPrefix = "b64:"

// MsgID is the Nats-Msg-Id of the outputs of a document with this id (and
// of its input, when `winnow publish` sends it). It is the id itself,
// unless a NATS header would change it: NATS trims spaces and tabs from a
// header value's ends and turns CR and LF into spaces, so "a", " a" and
// "a\n" would share one Nats-Msg-Id, as would "a\nb" and "a b", and the
// output stream would keep the record of only one of them. Such an id, and
// an id that starts with MsgIDPrefix, becomes MsgIDPrefix followed by its
// unpadded URL-safe base64: the mapping is one to one, and every other id
// is left as it is.
func MsgID(id string) string {
	if headerSafe(id) && !strings.HasPrefix(id, MsgIDPrefix) {
		return id
	}
	return MsgIDPrefix + base64.RawURLEncoding.EncodeToString([]byte(id))
}

// headerSafe reports whether a NATS header value carries s unchanged.
func headerSafe(s string) bool {
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return false
	}
	blank := func(c byte) bool { return c == ' ' || c == '\t' }
	return !blank(s[0]) && !blank(s[len(s)-1])
}
