package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/winnow-dev/winnow/moderate"
)

// exampleBody is an example file without its header, the comment lines
// before its first blank line, which say how it is made and used.
func exampleBody(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, body, ok := strings.Cut(string(b), "\n\n")
	if !ok {
		t.Fatalf("%s has no blank line after its header", path)
	}
	for _, l := range strings.Split(header, "\n") {
		if !strings.HasPrefix(l, "#") {
			t.Fatalf("%s: %q in its header", path, l)
		}
	}
	return body
}

// TestExampleConfigIsCurrent: deploy/winnow.example.yaml is what
// --check-config prints for the defaults, comments included (but for
// worker.handlers, which depends on the machine).
func TestExampleConfigIsCurrent(t *testing.T) {
	var want strings.Builder
	printConfig(&want, defaultConfig())
	handlers := regexp.MustCompile(`(?m)^(\s+handlers:) \d+$`)
	got := handlers.ReplaceAllString(exampleBody(t, "../../deploy/winnow.example.yaml"), "$1 N")
	exp := handlers.ReplaceAllString(want.String(), "$1 N")
	if got != exp {
		t.Fatalf("deploy/winnow.example.yaml is not the current defaults; regenerate its body from `winnow run --check-config`:\n%s", exp)
	}
}

// TestPolicyExampleIsCurrent: deploy/policy.example.yaml is the built-in
// policy, with the texts of the configuration's moderation keys.
func TestPolicyExampleIsCurrent(t *testing.T) {
	var want strings.Builder
	writeDocumented(&want, moderate.DefaultPolicy(), "pipeline.moderation")
	if got := exampleBody(t, "../../deploy/policy.example.yaml"); got != want.String() {
		t.Fatalf("deploy/policy.example.yaml is not the built-in policy; its body should be:\n%s", want.String())
	}
}

// TestConfigDocsCoverEveryKey: configDocs has a text (perhaps empty, for a
// key its neighbour's text covers) for every key --check-config prints, and
// no text for a key that does not exist; the printed comments fit in 92
// columns.
func TestConfigDocsCoverEveryKey(t *testing.T) {
	var n yaml.Node
	if err := n.Encode(defaultConfig()); err != nil {
		t.Fatal(err)
	}
	var paths []string
	eachKey(&n, "", func(path string, _ *yaml.Node) { paths = append(paths, path) })
	if len(paths) < 100 {
		t.Fatalf("only %d keys walked: %v", len(paths), paths)
	}
	for _, p := range paths {
		if _, ok := configDocs[p]; !ok {
			t.Errorf("configDocs has no text for %s", p)
		}
	}
	for p := range configDocs {
		if !slices.Contains(paths, p) {
			t.Errorf("configDocs has a text for %s, which is no key", p)
		}
	}
	var out strings.Builder
	printConfig(&out, defaultConfig())
	comments := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			comments++
		}
		if len(l) > 92 {
			t.Errorf("printed line of %d columns: %s", len(l), l)
		}
	}
	if comments < len(paths)/2 {
		t.Errorf("%d comment lines for %d keys", comments, len(paths))
	}
}

