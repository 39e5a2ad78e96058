package moderate

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/winnow-dev/winnow/internal/corpus"
)

// TestSpamOnGoldMail scores the committed model on the development gold mail
// (none of it in the training list) as EVALUATION.md does: F1 >= 0.95 with a
// ham false-positive rate <= 1%.
func TestSpamOnGoldMail(t *testing.T) {
	dir, err := corpus.Dir()
	if err != nil {
		t.Fatal(err)
	}
	m, err := BuiltinSpamModel()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	err = corpus.Each(filepath.Join(dir, "gold", "labels.jsonl"), func(line []byte) error {
		var l struct {
			ID   string `json:"id"`
			Spam *bool  `json:"spam"`
		}
		if err := json.Unmarshal(line, &l); err != nil {
			return err
		}
		if l.Spam != nil {
			labels[l.ID] = *l.Spam
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := corpus.Docs(filepath.Join(dir, "gold", "docs.jsonl"), 0)
	if err != nil {
		t.Fatal(err)
	}
	fx := NewFeaturizer(m.Bits)
	var tp, fp, fn, ham int
	for _, d := range docs {
		spam, ok := labels[d.ID]
		if !ok {
			continue
		}
		flagged := m.Score(fx.Features(d.Text, nil)) >= float64(m.Threshold)
		switch {
		case spam && flagged:
			tp++
		case spam:
			fn++
		case flagged:
			fp++
			ham++
		default:
			ham++
		}
	}
	f1 := 2 * float64(tp) / float64(2*tp+fp+fn)
	fpr := float64(fp) / float64(ham)
	t.Logf("gold mail: tp %d fp %d fn %d ham %d: F1 %.4f, ham FPR %.4f (threshold %.2f)", tp, fp, fn, ham, f1, fpr, m.Threshold)
	if tp+fn == 0 || ham == 0 {
		t.Fatal("no labeled mail found")
	}
	if f1 < 0.95 || fpr > 0.01 {
		t.Errorf("F1 %.4f (want >= 0.95), ham FPR %.4f (want <= 0.01)", f1, fpr)
	}
}

func TestSpamModelRoundTrip(t *testing.T) {
	m, err := BuiltinSpamModel()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.MarshalBinary()
	if !bytes.Equal(b, spamModelFile) {
		t.Fatal("re-encoding the committed model changed its bytes")
	}
	for _, bad := range [][]byte{nil, []byte("WNSPAM"), append(bytes.Clone(b), 0)} {
		if err := new(SpamModel).UnmarshalBinary(bad); !errors.Is(err, ErrBadModel) {
			t.Errorf("%d bytes: err %v, want ErrBadModel", len(bad), err)
		}
	}
}
