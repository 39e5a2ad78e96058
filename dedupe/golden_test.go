package dedupe

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden runs fn over every testdata/<dir>/*.input and compares the result
// with the matching .golden file, as gofmt's tests do.
func golden(t *testing.T, dir string, fn func(t *testing.T, input string) string) {
	t.Helper()
	inputs, err := filepath.Glob(filepath.Join("testdata", dir, "*.input"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in testdata/%s: %v", dir, err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := fn(t, string(src))
			goldenPath := strings.TrimSuffix(in, ".input") + ".golden"
			if *update {
				if err := os.WriteFile(goldenPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from golden:\n--- got\n%s\n--- want\n%s", in, got, want)
			}
		})
	}
}

func TestNormalizeGolden(t *testing.T) {
	golden(t, "normalize", func(t *testing.T, input string) string {
		n := NewNormalizer()
		var b strings.Builder
		for _, line := range strings.Split(strings.TrimSuffix(input, "\n"), "\n") {
			got := n.String(line)
			if again := n.String(got); again != got {
				t.Errorf("not idempotent: %q -> %q -> %q", line, got, again)
			}
			fmt.Fprintf(&b, "%s\n", got)
		}
		return b.String()
	})
}

func TestSegmentGolden(t *testing.T) {
	golden(t, "segment", func(t *testing.T, input string) string {
		var b strings.Builder
		for _, blk := range Segment(input, nil) {
			fmt.Fprintf(&b, "%-9s lines %d-%d [%d,%d) %q\n", blk.Kind, blk.First, blk.Last, blk.Start, blk.End, input[blk.Start:blk.End])
			if blk.Kind != KindParagraph {
				for _, s := range Sentences(input, blk.Span, nil) {
					fmt.Fprintf(&b, "  sentence [%d,%d) %q\n", s.Start, s.End, input[s.Start:s.End])
				}
			}
		}
		// Segmenting the segments' own text again gives the same lines.
		again := Segment(input, nil)
		if len(again) != len(Segment(input, nil)) {
			t.Error("Segment is not deterministic")
		}
		return b.String()
	})
}
