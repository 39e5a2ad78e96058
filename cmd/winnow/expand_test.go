package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExpandEnv: ${NAME} in a configuration file takes the variable's
// value, ${NAME:-default} (or ${NAME:default}) a default when it is unset
// or empty, $${ stays ${; comments are left alone, a '#' inside quotes is
// no comment. An unset variable without a default, a name that is none, a
// ${ never closed and a value with a line break are errors naming the line.
func TestExpandEnv(t *testing.T) {
	env := map[string]string{"URL": "nats://n:4222", "EMPTY": "", "N": "4", "NL": "a\nb"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	in := "a: ${URL} # not ${UNSET}\n" +
		"b: \"${UNSET:-x y}\" and ${EMPTY:-z} ${EMPTY:w} '${N}'\n" +
		"# ${UNSET} in a comment line\n" +
		"c: \"q # ${N}\" $${URL} it's ${N}\n"
	want := "a: nats://n:4222 # not ${UNSET}\n" +
		"b: \"x y\" and z w '4'\n" +
		"# ${UNSET} in a comment line\n" +
		"c: \"q # 4\" ${URL} it's 4\n"
	if got, err := expandEnv([]byte(in), lookup); err != nil || string(got) != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
	_, err := expandEnv([]byte("a: 1\nb: ${UNSET}\nc: ${1X}\nd: ${URL\ne: ${NL}\n"), lookup)
	for _, want := range []string{
		"line 2: ${UNSET}: UNSET is not set (${UNSET:-default} gives a default)",
		`line 3: ${1X}: "1X" is not a variable name`,
		"line 4: ${URL: no closing }",
		"line 5: ${NL}: its value holds a line break",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want %q", err, want)
		}
	}

	// Through loadConfig: typed settings read the values, and a later
	// error keeps its line.
	file := filepath.Join(t.TempDir(), "winnow.yaml")
	os.WriteFile(file, []byte("nats:\n  url: ${URL}\nworker:\n  handlers: ${N}\n  ack_wait: ${WAIT:-45s}\n"), 0o644)
	cfg, err := loadConfig(file, lookup)
	if err != nil || cfg.NATS.URL != "nats://n:4222" || cfg.Worker.Handlers != 4 || cfg.Worker.AckWait.String() != "45s" {
		t.Errorf("url %q, handlers %d, ack_wait %v: %v", cfg.NATS.URL, cfg.Worker.Handlers, cfg.Worker.AckWait, err)
	}
	os.WriteFile(file, []byte("nats:\n  url: ${URL}\nworker:\n  handlers: ${URL}\n"), 0o644)
	if _, err := loadConfig(file, lookup); err == nil || !strings.Contains(err.Error(), `line 4: worker.handlers: "nats://n:4222": want a whole number`) {
		t.Errorf("a wrong value from the environment: %v", err)
	}
}

// FuzzExpandEnv: expandEnv never panics, leaves a file without "${" as it
// is, and never changes the number of lines.
func FuzzExpandEnv(f *testing.F) {
	for _, s := range []string{"a: ${X}\n", "b: \"${Y:-1}\" # ${Z}\n", "c: $${X} '${X}' \"\\\"#${X}\"\n", "${", "${}", "d: ${X:}"} {
		f.Add(s)
	}
	lookup := func(k string) (string, bool) { return "v", k != "UNSET" }
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expandEnv([]byte(s), lookup)
		if !strings.Contains(s, "${") && (err != nil || string(out) != s) {
			t.Fatalf("%q: %q, %v", s, out, err)
		}
		if err == nil && strings.Count(string(out), "\n") != strings.Count(s, "\n") {
			t.Fatalf("%q: %q has other lines", s, out)
		}
	})
}
