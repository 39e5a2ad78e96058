package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/winnow-dev/winnow/internal/evaluate"
)

func runEval(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	gold := fs.String("gold", "../shared/corpus/gold", "gold set `DIR` (docs.jsonl, labels.jsonl, pairs.jsonl, blocks.jsonl)")
	examples := fs.Int("examples", 5, "list up to `N` misses of each kind")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow eval [flags] [CLEAN-OUTPUT]\n\nScores `winnow clean` output (a file or stdin, gzipped or not) against a\ngold set as shared/corpus/EVALUATION.md describes, and prints the report\nas JSON.\n\n")
		fs.PrintDefaults()
	}
	pos, code, done := parseArgs(fs, args, 1)
	if done {
		return code
	}
	path := "-"
	if len(pos) > 0 {
		path = pos[0]
	}
	r, closeIn, err := openInput(path, stdin)
	if err != nil {
		return fail(stderr, "winnow eval", err)
	}
	defer closeIn()
	g, err := evaluate.LoadGold(*gold)
	if err != nil {
		return fail(stderr, "winnow eval", err)
	}
	outs, err := evaluate.ReadOutputs(r)
	if err != nil {
		return fail(stderr, "winnow eval", err)
	}
	rep := evaluate.Score(g, outs, *examples)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		return fail(stderr, "winnow eval", err)
	}
	return exitOK
}
