package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBenchReportsRoundsAndRatios runs the load tool end to end on a small
// corpus: every run of every round is reported with its CPU and latency,
// the ratios are taken per round and summarised; at a fixed rate no ratio
// is printed and the offered rate is kept.
func TestBenchReportsRoundsAndRatios(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded server per run")
	}
	path := filepath.Join(t.TempDir(), "docs.jsonl")
	var lines bytes.Buffer
	for i := range 60 {
		b, _ := json.Marshal(map[string]string{"id": fmt.Sprint("d", i),
			"text": fmt.Sprintf("Story %d about the harbour.\nIt rained on day %d, said the mayor of the town.", i, i)})
		lines.Write(append(b, '\n'))
	}
	if err := os.WriteFile(path, lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), append([]string{"bench", "--docs", path}, args...), nil, &out, &errb); code != 0 {
			t.Fatalf("winnow bench %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}

	out := run("--n", "120", "--rounds", "2", "--modes", "pass-through,winnow")
	runLine := regexp.MustCompile(`(?m)^(pass-through|winnow) +120 docs .* cpu +\d+ µs/doc \(\d+\.\d\d cores\) +latency p50 \S+ p99 \S+ max \S+$`)
	if got := len(runLine.FindAllString(out, -1)); got != 4 {
		t.Fatalf("%d run lines, want 4 (2 runs x 2 rounds):\n%s", got, out)
	}
	for _, want := range []string{"round 1: winnow / pass-through ", "round 2: winnow / pass-through ",
		"winnow / pass-through: median "} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "KV state") {
		t.Fatalf("a KV ratio without a KV run:\n%s", out)
	}

	out = run("--n", "40", "--warmup", "20", "--modes", "winnow")
	if !regexp.MustCompile(`(?m)^winnow +40 docs `).MatchString(out) {
		t.Fatalf("warm-up documents counted in the measured run:\n%s", out)
	}

	out = run("--n", "60", "--rate", "200", "--modes", "winnow")
	if strings.Contains(out, "ratio") || strings.Contains(out, "median") {
		t.Fatalf("ratios printed at a fixed rate:\n%s", out)
	}
	// 60 documents offered at 200/s take 0.3 s: a rate well above that
	// would mean the pacing is gone.
	m := regexp.MustCompile(`(\d+) docs/s`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no docs/s in:\n%s", out)
	}
	var got int
	fmt.Sscan(m[1], &got)
	if got > 220 {
		t.Fatalf("%d docs/s measured for --rate 200:\n%s", got, out)
	}
}
