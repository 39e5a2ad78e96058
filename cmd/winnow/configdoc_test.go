package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
	writeDocumented(&want, moderate.DefaultPolicy(), "pipeline.moderation", false)
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

// TestCheckConfigOutputLoads: what --check-config prints on stdout is a
// configuration file that loads as the configuration it printed (its
// verdict goes to stderr). Before, stdout began "winnow: configuration is
// valid", which --config refused ("field winnow not found").
func TestCheckConfigOutputLoads(t *testing.T) {
	t.Setenv("WINNOW_WORKER_HANDLERS", "3")
	t.Setenv("WINNOW_PIPELINE_CROSS_OPTIONS_MEMORY_MAX_DOCS", "500")
	t.Setenv("WINNOW_NATS_NAME", "w-${POD}") // printed $${, as the file reads it
	var first, errb bytes.Buffer
	if code := Main(context.Background(), []string{"run", "--check-config", "--policy", "../../deploy/policy.example.yaml"}, nil, &first, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "configuration is valid") {
		t.Errorf("stderr %q has no verdict", errb.String())
	}
	file := filepath.Join(t.TempDir(), "winnow.yaml")
	if err := os.WriteFile(file, first.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("WINNOW_WORKER_HANDLERS") // t.Setenv puts back what was there
	os.Unsetenv("WINNOW_PIPELINE_CROSS_OPTIONS_MEMORY_MAX_DOCS")
	os.Unsetenv("WINNOW_NATS_NAME")
	var second bytes.Buffer
	errb.Reset()
	if code := Main(context.Background(), []string{"run", "--check-config", "--config", file}, nil, &second, &errb); code != exitOK {
		t.Fatalf("loading what --check-config printed: exit %d: %s", code, errb.String())
	}
	if second.String() != first.String() {
		t.Fatalf("loaded back, the configuration prints differently:\n%s\nthen\n%s", first.String(), second.String())
	}
	if !strings.Contains(second.String(), "handlers: 3\n") || !strings.Contains(second.String(), "max_docs: 500\n") ||
		!strings.Contains(second.String(), "name: w-$${POD}\n") {
		t.Fatalf("the settings from the environment are not in the printed file:\n%s", second.String())
	}
}

// TestMaskedSecretRefused: a configuration saved from --check-config holds
// the masks printed in place of its secrets; loaded back, each is refused
// by name, with where to give the secret, instead of connecting with the
// mask and failing authorization. The secret given in the environment
// loads.
func TestMaskedSecretRefused(t *testing.T) {
	t.Setenv("WINNOW_NATS_URL", "nats://127.0.0.1:4222")
	t.Setenv("WINNOW_NATS_USER", "winnow")
	t.Setenv("WINNOW_NATS_PASSWORD", "s3cret")
	var printed, errb bytes.Buffer
	if code := Main(context.Background(), []string{"run", "--check-config"}, nil, &printed, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(printed.String(), "s3cret") || !strings.Contains(printed.String(), "password: '********'") {
		t.Fatalf("the printed configuration does not mask the password:\n%s", printed.String())
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	saved := write("saved.yaml", printed.String())
	os.Unsetenv("WINNOW_NATS_URL")
	os.Unsetenv("WINNOW_NATS_USER")
	os.Unsetenv("WINNOW_NATS_PASSWORD")
	for _, c := range []struct{ name, file, want string }{
		{"password", saved, `config: nats.password: "********" is the mask --check-config prints for a secret, not the secret: give it again, or in WINNOW_NATS_PASSWORD`},
		{"token", write("token.yaml", "nats:\n  url: nats://127.0.0.1:4222\n  token: '********'\n"), "config: nats.token: "},
		{"url", write("url.yaml", "nats:\n  url: nats://127.0.0.1:4222,nats://winnow:xxxxx@10.0.0.2:4222\n"), `config: nats.url: "nats://winnow:xxxxx@10.0.0.2:4222" holds xxxxx`},
		{"url-token", write("urltoken.yaml", "nats:\n  url: nats://xxxxx@10.0.0.2:4222\n"), "config: nats.url: "},
	} {
		errb.Reset()
		if code := Main(context.Background(), []string{"run", "--check-config", "--config", c.file}, nil, &bytes.Buffer{}, &errb); code != exitFatal || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %q", c.name, code, errb.String(), c.want)
		}
	}
	t.Setenv("WINNOW_NATS_PASSWORD", "s3cret")
	errb.Reset()
	if code := Main(context.Background(), []string{"run", "--check-config", "--config", saved}, nil, &bytes.Buffer{}, &errb); code != exitOK {
		t.Errorf("the saved file with the password in the environment: exit %d, %s", code, errb.String())
	}
}
