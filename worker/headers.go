package worker

import (
	"strings"

	"github.com/nats-io/nats.go"
)

// carrier copies an input's headers onto its outcome: the ones
// Config.CarryHeaders names (trace context, a crawl's job id), so a
// consumer downstream of winnow sees what the crawler sent.
type carrier struct {
	names    []string // matched whole, ignoring case
	prefixes []string // "X-Crawl-*" matches X-Crawl-Job
}

func newCarrier(list []string) carrier {
	var c carrier
	for _, n := range list {
		if p, ok := strings.CutSuffix(n, "*"); ok {
			c.prefixes = append(c.prefixes, p)
		} else {
			c.names = append(c.names, n)
		}
	}
	return c
}

// carry copies onto out the headers of in that c names, with every value
// and the case they came in. A header NATS or winnow reads (reserved) is
// never copied: an input's Nats-Msg-Id or Nats-Expected-Stream would
// change how the output is stored.
func (c carrier) carry(out, in nats.Header) {
	if len(c.names) == 0 && len(c.prefixes) == 0 {
		return
	}
	for k, vs := range in {
		if c.carried(k, vs) {
			out[k] = append([]string(nil), vs...)
		}
	}
}

// carries reports whether carry would copy any header of in.
func (c carrier) carries(in nats.Header) bool {
	for k, vs := range in {
		if c.carried(k, vs) {
			return true
		}
	}
	return false
}

func (c carrier) carried(k string, vs []string) bool {
	return len(vs) > 0 && !reservedHeader(k) && !bodyHeader(k) && c.match(k)
}

func (c carrier) match(k string) bool {
	for _, n := range c.names {
		if strings.EqualFold(k, n) {
			return true
		}
	}
	for _, p := range c.prefixes {
		if hasPrefixFold(k, p) {
			return true
		}
	}
	return false
}

// reservedHeader reports whether a header is NATS's or winnow's own.
func reservedHeader(k string) bool {
	return hasPrefixFold(k, "Nats-") || hasPrefixFold(k, "Winnow-")
}

// bodyHeader reports whether k describes the bytes of the message it is on
// (how they read), so it is never carried onto an outcome, whose body is
// winnow's JSON: an input's "Content-Type: text/plain; charset=shift_jis"
// on a record would tell a consumer to misread it. A dead letter keeps
// them in its JSON (content_type), and a redrive sends them back.
func bodyHeader(k string) bool {
	return strings.EqualFold(k, "Content-Type") || strings.EqualFold(k, "Content-Encoding")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validCarryHeader says what is wrong with an entry of carry_headers, or
// returns "".
func validCarryHeader(n string) string {
	name := strings.TrimSuffix(n, "*")
	switch {
	case n == "*":
		return "" // every header but the reserved ones
	case name == "":
		return "empty header name"
	case strings.Contains(name, "*"):
		return "'*' may only end an entry (a prefix: X-Crawl-*)"
	case strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == ':' }):
		return "a header name has no spaces, control characters, ':' or non-ASCII"
	case reservedHeader(name):
		return "Nats-* and Winnow-* headers are NATS's and winnow's own and never carried"
	case bodyHeader(name):
		return name + " says how the input's body reads, not the record's, and is never carried (a dead letter keeps it)"
	}
	return ""
}
