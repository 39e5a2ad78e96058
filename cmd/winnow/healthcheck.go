package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// runHealthcheck probes a running winnow's readiness endpoint: a health
// check for images without a shell (exec form).
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "readiness `URL` to probe")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow healthcheck [flags]\n\nAsks a running winnow's readiness endpoint: exit 0 when it is ready, else 1 with\nthe reason it gives on stderr. The image's health check (it has no shell).\n\n")
		fs.PrintDefaults()
	}
	if _, code, done := parseArgs(fs, args, 0); done {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fail(stderr, "winnow healthcheck", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fail(stderr, "winnow healthcheck", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The body says why (/readyz: "not ready: paused for an outage
		// since ..."), which docker inspect shows among the health logs.
		fmt.Fprintln(stderr, "winnow healthcheck:", *url, resp.Status+":", strings.TrimSpace(string(body)))
		return exitFatal
	}
	fmt.Fprintln(stdout, "ok")
	return exitOK
}
