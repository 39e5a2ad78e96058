package main

import (
	"context"
	"fmt"
	"io"
)

func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "winnow run: the worker is not built yet")
	return exitFatal
}
