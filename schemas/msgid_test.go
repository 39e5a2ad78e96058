package schemas

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestMsgID: an id a NATS header carries unchanged is its own Nats-Msg-Id;
// the rest (and ids that look encoded) are encoded, and no two ids share one.
// (worker's TestRecordIDsNATSWouldMerge sends them through a server.)
func TestMsgID(t *testing.T) {
	for _, id := range []string{"a", "a b", "a\tb", "a  b", "https://example.com/x?y=1", "é", "\va", "a\u00a0", "b64", "xb64:a"} {
		if got := MsgID(id); got != id {
			t.Errorf("MsgID(%q) = %q, want the id", id, got)
		}
	}
	ids := []string{"a", " a", "a ", "\ta", "a\t", "a\n", "\na", "a\r", "a\r\n", "a b", "a\nb", "a\rb", "a  b", "a\r\nb",
		"b64:YQ", "b64:", MsgIDPrefix + base64.RawURLEncoding.EncodeToString([]byte(" a")), ""}
	seen := map[string]string{}
	for _, id := range ids {
		got := MsgID(id)
		if other, ok := seen[got]; ok {
			t.Errorf("%q and %q share Nats-Msg-Id %q", id, other, got)
		}
		seen[got] = id
		if strings.ContainsAny(got, "\r\n") || strings.TrimSpace(got) != got || got == "" {
			t.Errorf("MsgID(%q) = %q, which a header does not carry", id, got)
		}
		if enc, ok := strings.CutPrefix(got, MsgIDPrefix); ok {
			if dec, err := base64.RawURLEncoding.DecodeString(enc); err != nil || string(dec) != id {
				t.Errorf("MsgID(%q) = %q decodes to %q, %v", id, got, dec, err)
			}
		}
	}
}

// FuzzMsgID: two different ids never share a Nats-Msg-Id, and every
// Nats-Msg-Id is one a NATS header carries unchanged.
func FuzzMsgID(f *testing.F) {
	f.Add("a", " a")
	f.Add("a\nb", "a b")
	f.Add("b64:IGE", " a")
	f.Add("b64:", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		ma, mb := MsgID(a), MsgID(b)
		if a != b && ma == mb {
			t.Errorf("%q and %q share Nats-Msg-Id %q", a, b, ma)
		}
		for _, m := range []string{ma, mb} {
			if !headerSafe(m) {
				t.Errorf("Nats-Msg-Id %q is not carried unchanged by a header", m)
			}
		}
	})
}
