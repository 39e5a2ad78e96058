package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/winnow-dev/winnow/internal/corpus"
	"github.com/winnow-dev/winnow/moderate"
)

// runTrainSpam trains the spam model reproducibly on exactly the messages
// listed in spam-train.txt (their text from bench.jsonl.gz; sa/spam-* are
// spam, every other sa/ id ham) and writes the model file. The decision
// threshold is chosen by 5-fold cross-validation on the same training set:
// the highest-F1 threshold whose held-out ham false-positive rate is at most
// --max-fpr. No evaluation data is read.
func runTrainSpam(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow train-spam", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("corpus", "../shared/corpus", "corpus `DIR` holding spam-train.txt and bench.jsonl.gz")
	out := fs.String("out", "moderate/model/spam.bin", "model `FILE` to write")
	maxFPR := fs.Float64("max-fpr", 0.01, "highest cross-validated ham false-positive rate the threshold may give")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow train-spam [flags]\n\nTrains the spam model on exactly the messages spam-train.txt lists (their text\nfrom bench.jsonl.gz), picks its threshold by 5-fold cross-validation on them, and\nwrites the model file. The same corpus gives the same bytes.\n\n")
		fs.PrintDefaults()
	}
	if _, code, done := parseArgs(fs, args, 0); done {
		return code
	}
	examples, err := loadTraining(*dir)
	if err != nil {
		return fail(stderr, "winnow train-spam", err)
	}
	opts := moderate.DefaultTrainOptions()
	thr, cv := moderate.ChooseThreshold(examples, opts, 5, *maxFPR)
	m := moderate.TrainSpam(examples, opts)
	m.Threshold = float32(thr)
	b, _ := m.MarshalBinary()
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fail(stderr, "winnow train-spam", err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fail(stderr, "winnow train-spam", err)
	}
	spam := 0
	for _, e := range examples {
		if e.Spam {
			spam++
		}
	}
	fmt.Fprintf(stdout, "trained %s on %d messages (%d spam); threshold %.3f (5-fold CV: F1 %.4f, ham FPR %.4f); wrote %s (%d bytes)\n",
		m.Version, len(examples), spam, thr, cv.F1, cv.FPR, *out, len(b))
	return exitOK
}

func loadTraining(dir string) ([]moderate.Example, error) {
	f, err := os.Open(filepath.Join(dir, "spam-train.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			ids = append(ids, id)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	want := make(map[string]int, len(ids))
	for i, id := range ids {
		want[id] = i
	}
	texts := make([]string, len(ids))
	found := 0
	err = corpus.Each(filepath.Join(dir, "bench.jsonl.gz"), func(line []byte) error {
		var d corpus.Doc
		if err := json.Unmarshal(line, &d); err != nil {
			return err
		}
		if i, ok := want[d.ID]; ok {
			texts[i] = d.Text
			found++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found != len(ids) {
		return nil, fmt.Errorf("%d of %d training ids not in bench.jsonl.gz", len(ids)-found, len(ids))
	}
	fx := moderate.NewFeaturizer(moderate.DefaultTrainOptions().Bits)
	examples := make([]moderate.Example, len(ids))
	for i, id := range ids {
		examples[i] = moderate.Example{Features: fx.Features(texts[i], nil), Spam: strings.HasPrefix(id, "sa/spam-")}
	}
	return examples, nil
}
