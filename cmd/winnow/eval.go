package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/winnow-dev/winnow/internal/evaluate"
)

func runEval(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	gold := fs.String("gold", "../shared/corpus/gold", "gold set `DIR` (docs.jsonl, labels.jsonl, pairs.jsonl, blocks.jsonl)")
	examples := fs.Int("examples", 5, "list up to `N` misses of each kind")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow eval [flags] [CLEAN-OUTPUT]\n\nScores `winnow clean` output (a file, or stdin) against a gold set as\nshared/corpus/EVALUATION.md describes, and prints the report as JSON.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitFatal
	}
	r := stdin
	if fs.NArg() > 0 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, "winnow eval:", err)
			return exitFatal
		}
		defer f.Close()
		r = f
	}
	g, err := evaluate.LoadGold(*gold)
	if err != nil {
		fmt.Fprintln(stderr, "winnow eval:", err)
		return exitFatal
	}
	outs, err := evaluate.ReadOutputs(r)
	if err != nil {
		fmt.Fprintln(stderr, "winnow eval:", err)
		return exitFatal
	}
	rep := evaluate.Score(g, outs, *examples)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintln(stderr, "winnow eval:", err)
		return exitFatal
	}
	return exitOK
}
