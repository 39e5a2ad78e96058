package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// runHealthcheck probes a running winnow's readiness endpoint: a health
// check for images without a shell (exec form).
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "readiness `URL` to probe (default: /readyz at the configuration's http.addr, from WINNOW_HTTP_ADDR or the --config file, as `winnow run` reads it)")
	cfgPath := fs.String("config", "", "YAML config `FILE` (also WINNOW_CONFIG) whose http.addr to probe")
	timeout := durationFlag(3 * time.Second)
	fs.Var(&timeout, "timeout", "give up after `DURATION`")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow healthcheck [flags]\n\nAsks a running winnow's readiness endpoint: exit 0 when it is ready, else 1 with\nthe reason it gives on stderr. The image's health check (it has no shell).\n\n")
		fs.PrintDefaults()
	}
	if _, code, done := parseArgs(fs, args, 0); done {
		return code
	}
	if *url == "" {
		cfg, err := loadConfig(*cfgPath, os.LookupEnv)
		if err != nil {
			return fail(stderr, "winnow healthcheck", err)
		}
		if *url, err = readyURL(cfg.HTTP.Addr); err != nil {
			return fail(stderr, "winnow healthcheck", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(timeout))
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

// readyURL is the readiness URL of a winnow listening on addr (http.addr):
// the image's health check probed 127.0.0.1:8080 whatever the container
// set, so WINNOW_HTTP_ADDR=0.0.0.0:9090 left it unhealthy for good. A
// wildcard host is probed on the loopback.
func readyURL(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("http.addr is empty: this winnow serves no /readyz (give --url)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("http.addr %q: %w", addr, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
