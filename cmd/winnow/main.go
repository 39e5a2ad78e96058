// Command winnow cleans scraped documents: it drops repeated blocks inside
// and across documents and moderates content, as a NATS JetStream worker
// (`winnow run`, the default) or over JSON lines (`winnow clean`).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
