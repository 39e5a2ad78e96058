package worker

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Bytes is a size in bytes. A configuration gives it as a whole number
// (1048576) or as a whole number of KiB, MiB or GiB (1024, 8MiB, 1 GiB; Ki,
// Mi and Gi as Kubernetes writes them). KB, MB and GB are refused: they mean
// powers of 1000 to some and of 1024 to others, nats-server among them.
type Bytes int

var binaryUnits = map[string]int64{"": 1, "b": 1, "ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20, "gi": 1 << 30, "gib": 1 << 30}

// ambiguousUnits are refused with the unit to say instead.
var ambiguousUnits = map[string]bool{"k": true, "m": true, "g": true, "kb": true, "mb": true, "gb": true}

// BytesSyntax says what a size takes, in the words of the configuration's
// errors ("want " + BytesSyntax).
const BytesSyntax = "a whole number of bytes, or of KiB, MiB or GiB (8MiB)"

var errNotASize = errors.New("want " + BytesSyntax)

// ParseBytes reads a size as Bytes documents it.
func ParseBytes(s string) (Bytes, error) {
	s = strings.TrimSpace(s)
	rest := strings.TrimLeft(s, "0123456789_")
	num, unit := s[:len(s)-len(rest)], strings.ToLower(strings.TrimSpace(rest))
	mult, ok := binaryUnits[unit]
	switch {
	case num != "" && ambiguousUnits[unit]:
		return 0, fmt.Errorf("%s means 1000s to some and 1024s to others: say %siB, or give bytes", rest, strings.ToUpper(unit[:1]))
	case num == "" || !ok:
		return 0, errNotASize
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(num, "_", ""), 10, 64)
	if err != nil || n > math.MaxInt/mult {
		return 0, errors.New("too large a size")
	}
	return Bytes(n * mult), nil
}

// UnmarshalYAML takes a whole number or a string ParseBytes reads. Its
// errors read as yaml.v3's ("line 2: cannot unmarshal !!str `8MB` into
// worker.Bytes"), with ParseBytes's reason after a colon.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	var err error
	switch {
	case n.Kind != yaml.ScalarNode:
		err = errors.New("not a single value")
	case n.ShortTag() == "!!int" || n.ShortTag() == "!!str":
		*b, err = ParseBytes(n.Value)
	case n.ShortTag() == "!!float":
		f, perr := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if perr != nil || f != math.Trunc(f) || f < 0 || f >= 1<<62 {
			err = errors.New("want a whole number of bytes")
		} else {
			*b = Bytes(f)
		}
	default:
		err = errNotASize
	}
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s%s into worker.Bytes: %v", n.Line, n.ShortTag(), shownValue(n), err)}}
	}
	return nil
}

// shownValue is a node's value as yaml.v3's errors show it.
func shownValue(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	if len(n.Value) > 10 {
		return " `" + n.Value[:7] + "...`"
	}
	return " `" + n.Value + "`"
}
