package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/winnow-dev/winnow/schemas"
	"github.com/winnow-dev/winnow/worker"
)

// runRedrive republishes dead letters to the input subjects (see
// worker.Redrive) and prints what it did as JSON.
func runRedrive(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow redrive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath, apply := remoteFlags(fs)
	def := make([]string, len(worker.DefaultRedriveReasons))
	for i, r := range worker.DefaultRedriveReasons {
		def[i] = string(r)
	}
	reasons := fs.String("reasons", strings.Join(def, ","), "comma-separated dead-letter `reasons` to republish")
	dryRun := fs.Bool("dry-run", false, "count what would be republished; publish nothing")
	var since sinceFlag
	fs.Var(&since, "since", "read only the outputs stored since `WHEN`: a duration back from now (6h, 2d) or a time (2026-12-06T15:04:05Z, 2026-12-06; UTC where no zone is given); default: the whole stream")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow redrive [flags]\n\nRepublishes dead letters to the subjects their inputs arrived on, once the fault\nthat sent them there is fixed. Removes nothing; a dead letter already redriven\nis skipped, so it is safe to run again. Exit 1 on an error.\n\n")
		fs.PrintDefaults()
	}
	if _, code, done := parseArgs(fs, args, 0); done {
		return code
	}
	cfg, err := remoteConfig(*cfgPath, apply)
	if err != nil {
		return fail(stderr, "winnow redrive", err)
	}
	var opts worker.RedriveOptions
	for _, r := range strings.Split(*reasons, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !slices.Contains(schemas.Reasons, schemas.Reason(r)) {
			return fail(stderr, "winnow redrive", fmt.Errorf("--reasons: %q is not a dead-letter reason (%v)", r, schemas.Reasons))
		}
		opts.Reasons = append(opts.Reasons, schemas.Reason(r))
	}
	if len(opts.Reasons) == 0 {
		return fail(stderr, "winnow redrive", fmt.Errorf("--reasons names no reason"))
	}
	opts.DryRun = *dryRun
	opts.Since = since.from(time.Now())
	opts.Progress = func(what string, last uint64) func(jetstream.Msg) {
		return newReadProgress(stderr, "winnow redrive: "+what, last).at
	}
	nc, err := connect(cfg.NATS.URL, cfg.NATS, zap.NewNop())
	if err != nil {
		return fail(stderr, "winnow redrive", err)
	}
	defer nc.Close()
	js, err := worker.NewJetStream(nc, cfg.NATS.JetStreamDomain)
	if err != nil {
		return fail(stderr, "winnow redrive", err)
	}
	rep, err := worker.Redrive(ctx, js, cfg.Worker, opts)
	if rep != nil {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	}
	if err != nil {
		return fail(stderr, "winnow redrive", err)
	}
	return exitOK
}
