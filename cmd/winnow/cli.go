package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/winnow-dev/winnow/internal/corpus"
)

// Exit codes.
const (
	exitOK       = 0
	exitFatal    = 1
	exitRejected = 2 // winnow clean: some input lines were dead-lettered
)

const usage = `winnow: clean scraped documents (dedupe + moderation)

Usage:
  winnow [run] [flags]          run the NATS worker (embedded NATS unless --nats-url)
  winnow clean [flags] [FILE…]  clean JSON lines (--text: text files) from FILEs or stdin to stdout
  winnow eval [flags]           score clean output against a gold set
  winnow bench [flags]          load test: end-to-end docs/s and latency, beside a pass-through worker
  winnow publish [flags] [FILE] publish JSON lines to the input subject with acks and retries
  winnow audit [flags]          check every input has exactly one outcome on the output stream
  winnow redrive [flags]        republish dead letters of processing failures once the fault is fixed
  winnow show [flags] ID…       say what winnow did with documents: outcome, removals and their evidence
                                (--follow: each new one as it is stored)
  winnow healthcheck [--url U]  exit 0 when a running winnow is ready
  winnow train-spam [flags]     train the spam model on ../shared/corpus/spam-train.txt
  winnow version                print the version, the commit built from and the Go release

publish, audit, redrive and show reach NATS by --nats-url URL or --context NAME
(a nats CLI context). Run 'winnow COMMAND -h' for a command's flags.
`

// Main runs the command line args and returns the exit code. It is main
// without the process: tests call it with their own streams.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		args = []string{"version"}
	}
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runWorker(ctx, args, stdout, stderr)
	case "clean":
		return runClean(ctx, args, stdin, stdout, stderr)
	case "eval":
		return runEval(ctx, args, stdin, stdout, stderr)
	case "train-spam":
		return runTrainSpam(ctx, args, stdin, stdout, stderr)
	case "bench":
		return runBench(ctx, args, stdin, stdout, stderr)
	case "publish":
		return runPublish(ctx, args, stdin, stdout, stderr)
	case "audit":
		return runAudit(ctx, args, stdout, stderr)
	case "redrive":
		return runRedrive(ctx, args, stdout, stderr)
	case "show":
		return runShow(ctx, args, stdin, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, buildOf())
		return exitOK
	case "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "winnow: unknown command %q\n\n%s", cmd, usage)
	return exitFatal
}

// openInput opens the file path (stdin for "-") for reading as it was
// written, gzip-decompressed when it is gzip (corpus.Reader); errors name
// the path. done closes the file.
func openInput(path string, stdin io.Reader) (r io.Reader, done func(), err error) {
	r, done = stdin, func() {}
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		r, done = f, func() { f.Close() }
	}
	if r, err = corpus.Reader(r); err != nil {
		done()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, done, nil
}
