package moderate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/winnow-dev/winnow/dedupe"
)

// SpamModel is a logistic-regression spam classifier over hashed word
// features: every word and word bigram of the normalised text (subject-line
// features kept apart from body ones) is hashed with xxhash into one of 2^Bits
// buckets; a document's score is the logistic of the bias plus the weights of
// its buckets, each counted once and scaled by 1/sqrt(buckets present).
type SpamModel struct {
	Version   string
	Bits      uint8
	Bias      float32
	Threshold float32
	Weights   []float32 // len 1<<Bits
}

const (
	spamMagic     = "WNSPAM"
	subjectSalt   = 0x5bd1e9955bd1e995
	bigramSalt    = 0x27d4eb2f165667c5
	defaultBits   = 16
	weightEpsilon = 1e-4
)

// SpamFeatures returns the sorted, distinct feature buckets of a document
// (subject line, blank line, body, as the mail corpus stores them; any text
// works, its first line counts as the subject), appended to dst. A
// Featurizer does the same with reusable buffers.
func SpamFeatures(n *dedupe.Normalizer, text string, bits uint8, dst []uint32) []uint32 {
	dst, _ = spamFeatures(n, text, bits, nil, dst)
	return dst
}

// spamFeatures is SpamFeatures with a word buffer, returned for reuse.
func spamFeatures(n *dedupe.Normalizer, text string, bits uint8, words []uint64, dst []uint32) ([]uint32, []uint64) {
	subject, body := dedupe.FirstLine(text) // the line a dedupe.Analysis makes line 0
	words = n.HashWords(words[:0], subject)
	split := len(words)
	words = n.HashWords(words, body)
	return SpamFeaturesFromWords(words[:split], words[split:], bits, dst), words
}

// SpamFeaturesFromWords computes the features from word hashes already made
// (a dedupe.Analysis has them): every word and adjacent pair, subject salted
// apart from body, into 2^bits buckets; sorted and distinct.
func SpamFeaturesFromWords(subject, body []uint64, bits uint8, dst []uint32) []uint32 {
	n0 := len(dst)
	for _, part := range [2]struct {
		words []uint64
		salt  uint64
	}{{subject, subjectSalt}, {body, 0}} {
		for i, w := range part.words {
			dst = append(dst, unigramBucket(w, part.salt, bits))
			if i > 0 {
				dst = append(dst, bigramBucket(part.words[i-1], w, part.salt, bits))
			}
		}
	}
	set := dst[n0:]
	slices.Sort(set)
	return dst[:n0+len(slices.Compact(set))]
}

// unigramBucket and bigramBucket map word hashes (xxhash, already uniform)
// to buckets by multiply-shift: the top bits of an odd multiple.
func unigramBucket(w, salt uint64, bits uint8) uint32 {
	return uint32(((w ^ salt) * 0x9e3779b97f4a7c15) >> (64 - bits))
}

func bigramBucket(prev, w, salt uint64, bits uint8) uint32 {
	return uint32((((prev^salt^bigramSalt)*0xc2b2ae3d27d4eb4f + w) * 0x9e3779b97f4a7c15) >> (64 - bits))
}

// Score returns the spam probability of a feature set.
func (m *SpamModel) Score(features []uint32) float64 {
	z := float64(m.Bias)
	if len(features) > 0 {
		scale := 1 / math.Sqrt(float64(len(features)))
		for _, f := range features {
			z += float64(m.Weights[f]) * scale
		}
	}
	return 1 / (1 + math.Exp(-z))
}

// TrainOptions tune TrainSpam.
type TrainOptions struct {
	Bits    uint8
	Epochs  int
	Rate    float64
	L2      float64
	Seed    uint64
	Version string
}

// DefaultTrainOptions are the options the committed model was trained with.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Bits: defaultBits, Epochs: 30, Rate: 0.5, L2: 1e-6, Seed: 20240501, Version: "spam-lr-v1"}
}

// Example is one labeled training document's features.
type Example struct {
	Features []uint32
	Spam     bool
}

// TrainSpam fits the model with AdaGrad on the logistic loss. The result
// depends only on the examples (in order) and the options: the shuffle is
// seeded.
func TrainSpam(examples []Example, o TrainOptions) *SpamModel {
	dim := 1 << o.Bits
	w := make([]float64, dim)
	g2 := make([]float64, dim)
	var bias, gb2 float64
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	for epoch := 0; epoch < o.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			ex := examples[i]
			if len(ex.Features) == 0 {
				continue
			}
			scale := 1 / math.Sqrt(float64(len(ex.Features)))
			z := bias
			for _, f := range ex.Features {
				z += w[f] * scale
			}
			p := 1 / (1 + math.Exp(-z))
			y := 0.0
			if ex.Spam {
				y = 1
			}
			g := p - y
			gb2 += g * g
			bias -= o.Rate * g / math.Sqrt(gb2+1e-8)
			for _, f := range ex.Features {
				gf := g*scale + o.L2*w[f]
				g2[f] += gf * gf
				w[f] -= o.Rate * gf / math.Sqrt(g2[f]+1e-8)
			}
		}
	}
	m := &SpamModel{Version: o.Version, Bits: o.Bits, Bias: float32(bias), Threshold: 0.5, Weights: make([]float32, dim)}
	for i, v := range w {
		if math.Abs(v) >= weightEpsilon {
			m.Weights[i] = float32(v)
		}
	}
	return m
}

// MarshalBinary encodes the model: magic, version, bits, bias, threshold,
// then the non-zero weights as (bucket, weight) pairs, little-endian.
func (m *SpamModel) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(spamMagic)
	b.WriteByte(byte(len(m.Version)))
	b.WriteString(m.Version)
	b.WriteByte(m.Bits)
	binary.Write(&b, binary.LittleEndian, m.Bias)
	binary.Write(&b, binary.LittleEndian, m.Threshold)
	var n uint32
	for _, v := range m.Weights {
		if v != 0 {
			n++
		}
	}
	binary.Write(&b, binary.LittleEndian, n)
	for i, v := range m.Weights {
		if v != 0 {
			binary.Write(&b, binary.LittleEndian, uint32(i))
			binary.Write(&b, binary.LittleEndian, v)
		}
	}
	return b.Bytes(), nil
}

// ErrBadModel is returned for a model file that does not decode.
var ErrBadModel = errors.New("moderate: bad spam model")

// UnmarshalBinary decodes MarshalBinary's output.
func (m *SpamModel) UnmarshalBinary(data []byte) error {
	r := bytes.NewReader(data)
	magic := make([]byte, len(spamMagic))
	if _, err := r.Read(magic); err != nil || string(magic) != spamMagic {
		return fmt.Errorf("%w: no %s header", ErrBadModel, spamMagic)
	}
	vl, err := r.ReadByte()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	ver := make([]byte, vl)
	if _, err := r.Read(ver); err != nil {
		return fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	bits, err := r.ReadByte()
	if err != nil || bits < 8 || bits > 24 {
		return fmt.Errorf("%w: feature bits %d", ErrBadModel, bits)
	}
	var n uint32
	m.Version, m.Bits, m.Weights = string(ver), bits, make([]float32, 1<<bits)
	if err := errors.Join(binary.Read(r, binary.LittleEndian, &m.Bias), binary.Read(r, binary.LittleEndian, &m.Threshold),
		binary.Read(r, binary.LittleEndian, &n)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	for i := uint32(0); i < n; i++ {
		var idx uint32
		var v float32
		if err := errors.Join(binary.Read(r, binary.LittleEndian, &idx), binary.Read(r, binary.LittleEndian, &v)); err != nil {
			return fmt.Errorf("%w: weight %d: %v", ErrBadModel, i, err)
		}
		if int(idx) >= len(m.Weights) {
			return fmt.Errorf("%w: bucket %d out of range", ErrBadModel, idx)
		}
		m.Weights[idx] = v
	}
	if r.Len() != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadModel, r.Len())
	}
	return nil
}
