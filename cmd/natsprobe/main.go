// Command natsprobe is the health check of the nats-server image, which has
// no shell: it exits 0 when the server's monitoring endpoint answers 200
// (by default /healthz?js-enabled-only=true on 127.0.0.1:8222).
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	url := "http://127.0.0.1:8222/healthz?js-enabled-only=true"
	if len(os.Args) > 1 {
		url = os.Args[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
	}
	fmt.Fprintln(os.Stderr, "natsprobe:", err)
	os.Exit(1)
}
