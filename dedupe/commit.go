package dedupe

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadCommit is returned for bytes that do not decode as a Commit.
var ErrBadCommit = errors.New("dedupe: bad commit encoding")

// commitVersion is the encoding's version byte. Version 2 also held the
// sketch's band keys (legacyBands of them), which version 3 leaves out: a
// replica makes them from the sketch, so the banding can change without
// changing the encoding. UnmarshalBinary reads both; a replica older than
// version 3 logs a newer commit as undecodable and skips it.
const (
	commitVersion = 3
	legacyBands   = 16
)

// MarshalBinary encodes a Commit (for shared memories that replicate
// commits between processes): a version byte, the id, the blocks and
// shingles as uvarint-counted uint64s, then the sketch when present (its
// band keys are made again from it). About 1.4 KB for a typical page.
func (c *Commit) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 16+len(c.ID)+8*(len(c.Blocks)+len(c.Shingles))+4*SketchSize)
	b = append(b, commitVersion)
	b = binary.AppendVarint(b, c.At)
	b = binary.AppendUvarint(b, uint64(len(c.ID)))
	b = append(b, c.ID...)
	for _, list := range [][]uint64{c.Blocks, c.Shingles} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, v := range list {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
	}
	if !c.Sketched {
		return append(b, 0), nil
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(c.Sketch.Size))
	for _, v := range c.Sketch.Mins {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b, nil
}

// UnmarshalBinary decodes MarshalBinary's output into c.
func (c *Commit) UnmarshalBinary(b []byte) error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrBadCommit, what) }
	if len(b) == 0 || (b[0] != 2 && b[0] != commitVersion) {
		return bad("version")
	}
	bands := 0 // band keys stored after the sketch
	if b[0] == 2 {
		bands = legacyBands
	}
	at, k := binary.Varint(b[1:])
	if k <= 0 {
		return bad("time")
	}
	c.At, b = at, b[1+k:]
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return bad("id")
	}
	c.ID, b = string(b[k:k+int(n)]), b[k+int(n):]
	lists := [2]*[]uint64{&c.Blocks, &c.Shingles}
	for _, list := range lists {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k)/8 < n {
			return bad("list")
		}
		b = b[k:]
		*list = (*list)[:0]
		for i := uint64(0); i < n; i++ {
			*list = append(*list, binary.LittleEndian.Uint64(b))
			b = b[8:]
		}
	}
	if len(b) < 1 {
		return bad("sketch flag")
	}
	c.Sketched, b = b[0] == 1, b[1:]
	if !c.Sketched {
		if len(b) != 0 {
			return bad("trailing bytes")
		}
		return nil
	}
	size, k := binary.Uvarint(b)
	if k <= 0 || len(b)-k != 4*SketchSize+8*bands {
		return bad("sketch")
	}
	b = b[k:]
	c.Sketch.Size = int(size)
	for i := range c.Sketch.Mins {
		c.Sketch.Mins[i], b = binary.LittleEndian.Uint32(b), b[4:]
	}
	c.Bands = c.Sketch.BandKeys()
	return nil
}
