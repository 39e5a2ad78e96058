package moderate

import "github.com/winnow-dev/winnow/dedupe"

// Featurizer computes SpamFeatures with reusable buffers; not safe for
// concurrent use.
type Featurizer struct {
	bits  uint8
	n     *dedupe.Normalizer
	words []uint64
}

// NewFeaturizer returns a Featurizer for 2^bits buckets.
func NewFeaturizer(bits uint8) *Featurizer {
	return &Featurizer{bits: bits, n: dedupe.NewNormalizer()}
}

// Features appends the document's feature buckets to dst.
func (f *Featurizer) Features(text string, dst []uint32) []uint32 {
	dst, f.words = spamFeatures(f.n, text, f.bits, f.words, dst)
	return dst
}

// CVResult is a cross-validated operating point.
type CVResult struct {
	Threshold, F1, FPR float64
}

// ChooseThreshold scores every example with a model trained on the other
// folds (k-fold, folds by position) and returns the threshold with the best
// F1 among those whose ham false-positive rate is at most maxFPR.
func ChooseThreshold(examples []Example, o TrainOptions, k int, maxFPR float64) (float64, CVResult) {
	type scored struct {
		p    float64
		spam bool
	}
	all := make([]scored, 0, len(examples))
	for fold := 0; fold < k; fold++ {
		var train, test []Example
		for i, e := range examples {
			if i%k == fold {
				test = append(test, e)
			} else {
				train = append(train, e)
			}
		}
		m := TrainSpam(train, o)
		for _, e := range test {
			all = append(all, scored{m.Score(e.Features), e.Spam})
		}
	}
	best := CVResult{Threshold: 0.5}
	for t := 0.05; t < 0.99; t += 0.01 {
		var tp, fp, fn, ham int
		for _, s := range all {
			switch {
			case s.spam && s.p >= t:
				tp++
			case s.spam:
				fn++
			case s.p >= t:
				fp++
				ham++
			default:
				ham++
			}
		}
		fpr := float64(fp) / float64(max(ham, 1))
		f1 := 2 * float64(tp) / float64(max(2*tp+fp+fn, 1))
		if fpr <= maxFPR && f1 > best.F1 {
			best = CVResult{Threshold: t, F1: f1, FPR: fpr}
		}
	}
	return best.Threshold, best
}
