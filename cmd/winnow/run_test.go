package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"

	"github.com/winnow-dev/winnow/internal/natstest"
	"github.com/winnow-dev/winnow/pipeline"
)

// refusingPort returns a port no other process can take until release,
// on which nothing listens meanwhile, so a dial to it is refused as at a
// port nothing holds ("no servers available" to a NATS client; a cluster
// node's route dial fails as to a node not up yet). It is a socket bound
// but not listening, without SO_REUSEADDR: any other bind of the port
// fails while it stands. release frees it just before the server that
// takes it starts. The port is taken as listenFree takes one: below the
// kernel's ephemeral range, where an outgoing connection's source port (a
// cluster node's dials to routes not yet up) or another test's listener on
// :0 does not land, and never twice in one test binary.
func refusingPort(t *testing.T) (port int, release func()) {
	t.Helper()
	for range 10 {
		l := listenFree(t)
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			syscall.Close(fd) // taken since listenFree closed it: try another
			continue
		}
		var once sync.Once
		release = func() { once.Do(func() { syscall.Close(fd) }) }
		t.Cleanup(release)
		return port, release
	}
	t.Fatal("no port could be bound in 10 tries")
	return 0, nil
}

// givenPorts are the ports listenFree has given in this test binary.
var givenPorts sync.Map

func listenFree(t *testing.T) net.Listener {
	t.Helper()
	low := 32768 // Linux's default ip_local_port_range starts there
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	const from = 10000
	for range 100 {
		if low <= from {
			break
		}
		port := from + rand.IntN(low-from)
		if _, given := givenPorts.LoadOrStore(port, true); given {
			continue
		}
		if l, err := net.Listen("tcp", fmt.Sprint("127.0.0.1:", port)); err == nil {
			return l
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// syncBuffer is a bytes.Buffer safe to read while Main writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "winnow.yaml")
	os.WriteFile(file, []byte("worker:\n  handlers: 3\n  ack_wait: 45s\npipeline:\n  dedupe:\n    near_threshold: 0.9\n"), 0o644)
	env := map[string]string{"WINNOW_WORKER_HANDLERS": "4", "WINNOW_WORKER_BACKOFF": "1s,2s", "WINNOW_NATS_URL": "nats://x:4222"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := loadConfig(file, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Worker.Handlers != 4 || cfg.Worker.AckWait != 45*time.Second || cfg.Pipeline.Dedupe.NearThreshold != 0.9 ||
		cfg.NATS.URL != "nats://x:4222" || len(cfg.Worker.Backoff) != 2 || cfg.Worker.Backoff[1] != 2*time.Second {
		t.Fatalf("file and env not applied: %+v", cfg.Worker)
	}
	// An unknown key is named by its path, with the key it is closest to
	// (yaml.v3 says "field handlerz not found in type worker.Config").
	os.WriteFile(file, []byte("worker:\n  handlerz: 3\n  subjects: {inptu: docs.raw.>}\nnats:\n  tls: {certt: x}\nzzz: 1\n"), 0o644)
	_, err = loadConfig(file, lookup)
	for _, want := range []string{"line 2: unknown key worker.handlerz (worker.handlers?)\n",
		"line 3: unknown key worker.subjects.inptu (worker.subjects.input?)\n",
		"line 5: unknown key nats.tls.certt (nats.tls.cert?)\n", "line 6: unknown key zzz"} {
		if err == nil || !strings.Contains(err.Error()+"\n", want) {
			t.Errorf("unknown keys: %v, want %q", err, want)
		}
	}
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policy, []byte("spam:\n  enabld: false\n"), 0o644)
	pc := pipeline.DefaultConfig()
	if err := applyPolicy(&pc, policy); err == nil || !strings.HasSuffix(err.Error(), "line 2: unknown key spam.enabld (spam.enabled?)") {
		t.Errorf("unknown policy key: %v", err)
	}
	// A policy given for the configuration, and the other way round, says
	// so (each section was an unknown key, no more).
	os.WriteFile(file, []byte("spam:\n  enabled: false\n"), 0o644)
	if _, err := loadConfig(file, lookup); err == nil || !strings.HasSuffix(err.Error(),
		"line 1: unknown key spam (a moderation policy's section: put it under pipeline.moderation, or give the file with --policy)") {
		t.Errorf("a policy for the configuration: %v", err)
	}
	os.WriteFile(policy, []byte("worker:\n  handlers: 2\n"), 0o644)
	if err := applyPolicy(&pc, policy); err == nil || !strings.HasSuffix(err.Error(), "line 1: unknown key worker (a configuration file's section: give the file with --config)") {
		t.Errorf("a configuration for the policy: %v", err)
	}
	os.WriteFile(file, []byte("worker:\n  ack_wait: 30\n"), 0o644)
	if _, err := loadConfig(file, lookup); err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "with its unit: 500ms, 30s") {
		t.Errorf("a duration without its unit: %v", err)
	}
	env["WINNOW_WORKER_ACK_WAIT"] = "soon"
	if _, err := loadConfig("", lookup); err == nil || !strings.Contains(err.Error(), "WINNOW_WORKER_ACK_WAIT") {
		t.Errorf("bad env value: %v", err)
	}
}

// TestConfigErrorsNameThePath: a bad setting, from the environment or a
// file, is named by its YAML path (or its variable) with what is wanted,
// whichever package checks it: no Go parse errors, no stutter of package
// prefixes ("config: pipeline: pipeline: dedupe: dedupe: invalid options").
func TestConfigErrorsNameThePath(t *testing.T) {
	for env, want := range map[string]string{
		"WINNOW_WORKER_HANDLERS=abc":                       `config: WINNOW_WORKER_HANDLERS="abc": want a whole number`,
		"WINNOW_WORKER_BACKOFF=1s,x":                       `config: WINNOW_WORKER_BACKOFF="1s,x": item 2, "x": want a duration with its unit: 500ms, 30s, 5m, 2h, 7d`,
		"WINNOW_PIPELINE_CROSS=maybe":                      `config: WINNOW_PIPELINE_CROSS="maybe": want true or false`,
		"WINNOW_PIPELINE_DEDUPE_NEAR_THRESHOLD=high":       `config: WINNOW_PIPELINE_DEDUPE_NEAR_THRESHOLD="high": want a number`,
		"WINNOW_WORKER_HANDLERS=0":                         `config: worker.handlers: 0: want >= 1`,
		"WINNOW_HTTP_ADDR=bogus":                           `config: http.addr: "bogus": want host:port, such as 127.0.0.1:8080 or :8080 (empty: no listener)`,
		"WINNOW_HTTP_ADDR=127.0.0.1":                       `config: http.addr: "127.0.0.1": want host:port, such as 127.0.0.1:8080 or :8080 (empty: no listener)`,
		"WINNOW_HTTP_ADDR=:99999":                          `config: http.addr: ":99999": port 99999: want 0..65535`,
		"WINNOW_PIPELINE_DEDUPE_NEAR_THRESHOLD=1.5":        `config: pipeline.dedupe.near_threshold: 1.5: want (0, 1]`,
		"WINNOW_PIPELINE_CROSS_OPTIONS_DUP_JACCARD=2":      `config: pipeline.cross_options.dup_jaccard: 2: want (0, 1]`,
		"WINNOW_PIPELINE_CROSS_OPTIONS_MEMORY_MAX_DOCS=0":  `config: pipeline.cross_options.memory.max_docs: 0: want >= 1`,
		"WINNOW_PIPELINE_MODERATION_SPAM_ACTION=nuke":      `config: pipeline.moderation.spam.action: "nuke": want one of [flag reject]`,
		"WINNOW_NATS_URL=nats://u:pw@a:4222 nats://b:4222": `config: nats.url: "nats://u:xxxxx@a:4222 nats://b:4222" is not a NATS URL (nats://host:port): separate several with commas`,
		"WINNOW_NATS_URL=http://nats:8222":                 `config: nats.url: "http://nats:8222" is an HTTP URL, as the server's monitoring port (8222) answers: winnow connects as a client, nats://host:4222`,
		"WINNOW_NATS_URL=mqtt://nats":                      `config: nats.url: "mqtt://nats" has scheme mqtt: want nats://, tls://, ws:// or wss://`,
		"WINNOW_NATS_URL=nats:99999":                       `config: nats.url: "nats:99999" has port 99999: want 1..65535`,
		"WINNOW_NATS_URL=nats://a:4222, ws://b:8080":       `config: nats.url: mixes websocket URLs (ws://b:8080) with others (nats://a:4222), which nats.go refuses: give one kind`,
	} {
		name, value, _ := strings.Cut(env, "=")
		cfg, err := loadConfig("", oneEnv(name, value))
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", env, err, want)
		}
	}
	t.Setenv("WINNOW_PIPELINE_DEDUPE_NEAR_THRESHOLD", "1.5")
	var errb bytes.Buffer
	if code := Main(context.Background(), []string{"clean"}, strings.NewReader(""), &bytes.Buffer{}, &errb); code != exitFatal ||
		errb.String() != "winnow clean: config: pipeline.dedupe.near_threshold: 1.5: want (0, 1]\n" {
		t.Errorf("winnow clean: exit %d, %q", code, errb.String())
	}
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policy, []byte("spam:\n  action: nuke\n"), 0o644)
	pc := pipeline.DefaultConfig()
	if err := applyPolicy(&pc, policy); err == nil || err.Error() != `policy: spam.action: "nuke": want one of [flag reject]` {
		t.Errorf("policy file: %v", err)
	}

	// A value of the wrong kind in a file is named by its path with what the
	// setting takes, as the environment's are (yaml.v3 says "cannot
	// unmarshal !!str `four` into int"), and a fraction given for a whole
	// number is refused (yaml.v3 would cut 2.5 to 2 without a word).
	file := filepath.Join(t.TempDir(), "winnow.yaml")
	for src, want := range map[string]string{
		"worker:\n  handlers: four\n":             `line 2: worker.handlers: "four": want a whole number`,
		"worker:\n  handlers: 2.5\n":              `line 2: worker.handlers: 2.5: want a whole number`,
		"worker:\n  ack_wait: 30\n":               `line 2: worker.ack_wait: 30: want a duration with its unit: 500ms, 30s, 5m, 2h, 7d`,
		"worker:\n  backoff: [1s, 2]\n":           `line 2: worker.backoff item 2: 2: want a duration with its unit: 500ms, 30s, 5m, 2h, 7d`,
		"worker:\n  handlers: [1, 2]\n":           `line 2: worker.handlers: want a whole number, not a list`,
		"worker:\n  subjects: docs.raw\n":         `line 2: worker.subjects: "docs.raw": want a mapping of input, clean, dup, rejected, dlq`,
		"nats:\n  url: {host: x}\n":               `line 2: nats.url: want a single value, not a mapping`,
		"pipeline:\n  cross: maybe_not_at_all\n":  `line 2: pipeline.cross: "maybe_not_at_all": want true or false`,
		"worker: {handlers: 1, max_deliver: x}\n": `line 1: worker.max_deliver: "x": want a whole number`,
		"worker:\n  <<: {handlers: 2.5}\n":        `line 2: worker.handlers: 2.5: want a whole number`,
		"pipeline:\n  cross: \"false\"\n":         `line 2: pipeline.cross: "false": want true or false, without the quotes`,
		"worker:\n  handlers: '4'\n":              `line 2: worker.handlers: "4": want a whole number, without the quotes`,
		"worker:\n  handlers: \"2.5\"\n":          `line 2: worker.handlers: "2.5": want a whole number`,
		"worker:\n  max_doc_bytes: 8MB\n":         `line 2: worker.max_doc_bytes: "8MB": MB means 1000s to some and 1024s to others: say MiB, or give bytes`,
		"embedded:\n  max_payload: lots\n":        `line 2: embedded.max_payload: "lots": want a whole number of bytes, or of KiB, MiB or GiB (8MiB)`,
		"[nats, worker]\n":                        `line 1: the file: want a mapping of nats, embedded, http, log, policy, worker, pipeline, not a list`,
	} {
		os.WriteFile(file, []byte(src), 0o644)
		_, err := loadConfig(file, noEnv)
		if err == nil || err.Error() != "config: "+file+": yaml: unmarshal errors:\n  "+want {
			t.Errorf("%q: %v, want %s", src, err, want)
		}
	}
	// A line indented with a tab is named (yaml.v3 says "found character
	// that cannot start any token", or names the line before it).
	for src, want := range map[string]string{
		"worker:\n    \thandlers: 3\n":             "yaml: line 2: found character that cannot start any token (line 2 is indented with a tab: YAML indents with spaces)",
		"worker:\n  handlers: 3\n\tack_wait: 5s\n": "yaml: line 2: found a tab character that violates indentation (line 3 is indented with a tab: YAML indents with spaces)",
	} {
		os.WriteFile(file, []byte(src), 0o644)
		if _, err := loadConfig(file, noEnv); err == nil || err.Error() != "config: "+file+": "+want {
			t.Errorf("%q: %v, want %s", src, err, want)
		}
	}
	os.WriteFile(file, []byte("worker:\n  max_doc_bytes: 1e6\n  handlers: 2.0\n"), 0o644)
	if cfg, err := loadConfig(file, noEnv); err != nil || cfg.Worker.MaxDocBytes != 1e6 || cfg.Worker.Handlers != 2 {
		t.Errorf("whole numbers written as floats: %v, %d, %d", err, cfg.Worker.MaxDocBytes, cfg.Worker.Handlers)
	}
	// A size takes a unit, the same in a file and the environment.
	os.WriteFile(file, []byte("embedded:\n  max_payload: 16MiB\nworker:\n  max_doc_bytes: 4Mi\n"), 0o644)
	if cfg, err := loadConfig(file, noEnv); err != nil || cfg.Embedded.MaxPayload != 16<<20 || cfg.Worker.MaxDocBytes != 4<<20 {
		t.Errorf("sizes with units in a file: %v, %d, %d", err, cfg.Embedded.MaxPayload, cfg.Worker.MaxDocBytes)
	}
	for value, want := range map[string]string{"2MiB": "", "8MB": `config: WINNOW_WORKER_MAX_DOC_BYTES="8MB": MB means 1000s to some and 1024s to others: say MiB, or give bytes`} {
		cfg, err := loadConfig("", oneEnv("WINNOW_WORKER_MAX_DOC_BYTES", value))
		if want == "" && (err != nil || cfg.Worker.MaxDocBytes != 2<<20) || want != "" && (err == nil || err.Error() != want) {
			t.Errorf("WINNOW_WORKER_MAX_DOC_BYTES=%s: %v, %d", value, err, cfg.Worker.MaxDocBytes)
		}
	}

	// A boolean takes the same words in the environment as in a file.
	for value, want := range map[string]bool{"yes": true, "On": true, "y": true, "no": false, "OFF": false, "False": false} {
		cfg, err := loadConfig("", oneEnv("WINNOW_PIPELINE_CROSS", value))
		if err != nil || cfg.Pipeline.Cross != want {
			t.Errorf("WINNOW_PIPELINE_CROSS=%s: %v, cross %v, want %v", value, err, cfg.Pipeline.Cross, want)
		}
		os.WriteFile(file, []byte("pipeline:\n  cross: "+value+"\n"), 0o644)
		if cfg, err := loadConfig(file, noEnv); err != nil || cfg.Pipeline.Cross != want {
			t.Errorf("cross: %s in a file: %v, cross %v, want %v", value, err, cfg.Pipeline.Cross, want)
		}
	}
	os.WriteFile(policy, []byte("spam:\n  threshold: high\n  sources: mail\n"), 0o644)
	pc = pipeline.DefaultConfig()
	if err := applyPolicy(&pc, policy); err == nil || err.Error() != "policy: "+policy+": yaml: unmarshal errors:\n"+
		`  line 2: spam.threshold: "high": want a number`+"\n"+`  line 3: spam.sources: "mail": want a list, each a single value` {
		t.Errorf("policy file of the wrong kinds: %v", err)
	}
}

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

// oneEnv is an environment holding one variable.
func oneEnv(name, value string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if k == name {
			return value, true
		}
		return "", false
	}
}

// TestMissingFileNamesTheWorkingDirectory: a relative path to a file that
// is not there is reported with the directory it was taken from, which is
// the working directory, not the directory of the file that named it; a
// directory where a file goes, with the YAML files in it.
func TestMissingFileNamesTheWorkingDirectory(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	hint := "no such file or directory (a relative path is taken from the working directory, " + wd + ")"
	env := func(path string) func(string) (string, bool) { return oneEnv("WINNOW_NATS_CREDS_FILE", path) }
	cfg, err := loadConfig("", env("nope.creds"))
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil || !strings.HasPrefix(err.Error(), "config: nats.creds_file: stat nope.creds: ") || !strings.HasSuffix(err.Error(), hint) {
		t.Errorf("relative creds file: %v", err)
	}
	abs := filepath.Join(t.TempDir(), "nope.creds")
	cfg, err = loadConfig("", env(abs))
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil || strings.Contains(err.Error(), "working directory") {
		t.Errorf("absolute creds file: %v, want no word of the working directory", err)
	}
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("blocklist:\n  file: words.txt\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "words.txt"), []byte("casino\n"), 0o644) // beside the policy, not in wd
	pc := pipeline.DefaultConfig()
	if err := applyPolicy(&pc, policy); err == nil || err.Error() != "policy: blocklist.file: open words.txt: "+hint {
		t.Errorf("relative blocklist file: %v", err)
	}
	// A directory given for the configuration or the policy (a ConfigMap's
	// mount) names the YAML files in it.
	if _, err := loadConfig(dir, noEnv); err == nil || err.Error() != "config: read "+dir+": is a directory (give a file in it: "+policy+")" {
		t.Errorf("a directory for the configuration: %v", err)
	}
	if err := applyPolicy(&pc, t.TempDir()); err == nil || !strings.HasSuffix(err.Error(), ": is a directory (give a file, not a directory)") {
		t.Errorf("an empty directory for the policy: %v", err)
	}
}

func TestCheckConfig(t *testing.T) {
	t.Setenv("WINNOW_WORKER_HANDLER", "3")            // a typo
	t.Setenv("WINNOW_SERVICE_HOST", "10.0.0.7")       // Kubernetes, for a Service named winnow
	t.Setenv("WINNOW_PORT_8080_TCP_ADDR", "10.0.0.7") // the same
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"run", "--check-config", "--handlers", "7"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "handlers: 7") {
		t.Errorf("flag not in the printed config:\n%s", out.String())
	}
	if want := "winnow: warning: WINNOW_WORKER_HANDLER names no setting; ignored (WINNOW_WORKER_HANDLERS?)\n"; !strings.Contains(errb.String(), want) ||
		strings.Contains(errb.String(), "SERVICE_HOST") || strings.Contains(errb.String(), "8080") {
		t.Errorf("stderr %q: want the typo's warning alone", errb.String())
	}
	t.Setenv("WINNOW_WORKER_MAX_DELIVER", "0")
	errb.Reset()
	if code := Main(context.Background(), []string{"--check-config"}, nil, &out, &errb); code != exitFatal || !strings.Contains(errb.String(), "worker.max_deliver") {
		t.Errorf("exit %d, stderr %q: want 1 naming worker.max_deliver", code, errb.String())
	}
}

func TestEmbeddedPortBusy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("WINNOW_EMBEDDED_PORT", fmt.Sprint(l.Addr().(*net.TCPAddr).Port))
	var errb bytes.Buffer
	code := Main(context.Background(), []string{"run", "--store-dir", t.TempDir(), "--http-addr", ""}, nil, &bytes.Buffer{}, &errb)
	if code != exitFatal || !strings.Contains(errb.String(), "cannot listen") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// TestRunEmbedded starts `winnow run` with its embedded server, cleans one
// document through it, and stops it as SIGTERM would (context cancel); the
// embedded server takes nats.jetstream_domain as its own domain when one
// is set.
func TestRunEmbedded(t *testing.T) {
	for _, domain := range []string{"", "site"} {
		t.Run("domain "+domain, func(t *testing.T) { testRunEmbedded(t, domain) })
	}
}

func testRunEmbedded(t *testing.T, domain string) {
	// Ports the system picks, read back from the start-up log (ports found
	// free and closed again can be taken before winnow binds them).
	t.Setenv("WINNOW_EMBEDDED_PORT", "0")
	t.Setenv("WINNOW_NATS_JETSTREAM_DOMAIN", domain)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{done: make(chan int, 1), stderr: &syncBuffer{}, cancel: cancel}
	go func() {
		r.done <- Main(ctx, []string{"run", "--store-dir", t.TempDir(), "--http-addr", "127.0.0.1:0"}, nil, &bytes.Buffer{}, r.stderr)
	}()
	done, stderr := r.done, r.stderr
	waitReady(t, r, 20*time.Second)
	addr := regexp.MustCompile(`"msg":"embedded nats-server listening","url":"([^"]+)"`).FindStringSubmatch(stderr.String())
	if addr == nil {
		t.Fatalf("no embedded server address logged: %s", stderr.String())
	}
	nc := natsConn(t, addr[1])
	sub, _ := nc.SubscribeSync("docs.clean.t")
	b, _ := json.Marshal(map[string]string{"id": "e1", "text": "same\nsame"})
	nc.Publish("docs.raw.t", b)
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Data), `"text":"same"`) {
		t.Errorf("record %s", m.Data)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d after shutdown: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop")
	}
	if !strings.Contains(stderr.String(), "stopped cleanly") {
		t.Errorf("log lacks the clean stop: %s", stderr.String())
	}
	// A clean start and stop warns of nothing (the shutdown's own close
	// of the connection logged "nats disconnected").
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, `"level":"warn"`) || strings.Contains(l, `"level":"error"`) {
			t.Errorf("a clean run logged %s", l)
		}
	}
}

// TestWrongCredentialFailsStartup: a wrong password stops start-up with
// the server's error and exit 1, and a right one with white space around
// it (a Secret made from a file keeps its line break) says so.
func TestWrongCredentialFailsStartup(t *testing.T) {
	s := natstest.Start(t, func(o *server.Options) { o.Username, o.Password = "winnow", "right" })
	t.Setenv("WINNOW_NATS_USER", "winnow")
	t.Setenv("WINNOW_NATS_PASSWORD", "wrong")
	var errb bytes.Buffer
	code := Main(context.Background(), []string{"run", "--nats-url", s.ClientURL(), "--http-addr", ""}, nil, &bytes.Buffer{}, &errb)
	if code != exitFatal || !strings.Contains(strings.ToLower(errb.String()), "authorization violation") || strings.Contains(errb.String(), "white space") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	// The right password with a Secret file's line break after it: the
	// error says which credential holds white space.
	t.Setenv("WINNOW_NATS_PASSWORD", "right\n")
	errb.Reset()
	code = Main(context.Background(), []string{"run", "--nats-url", s.ClientURL(), "--http-addr", ""}, nil, &bytes.Buffer{}, &errb)
	if code != exitFatal || !strings.Contains(errb.String(), "(nats.password starts or ends with white space, a line break perhaps, which is sent as it is)") {
		t.Fatalf("a password with a line break: exit %d, stderr %q", code, errb.String())
	}
}

// TestNoJetStreamFailsStartup: a server without JetStream stops start-up
// with a message that says so, with either dedupe state and with or
// without create_streams (before: "no responders available for request",
// and a hint to set create_streams).
func TestNoJetStreamFailsStartup(t *testing.T) {
	s := natstest.Start(t, func(o *server.Options) { o.JetStream = false })
	for _, env := range [][2]string{{"WINNOW_WORKER_STATE", "memory"}, {"WINNOW_WORKER_STATE", "kv"}, {"WINNOW_WORKER_CREATE_STREAMS", "false"}} {
		t.Run(env[0]+"="+env[1], func(t *testing.T) {
			t.Setenv(env[0], env[1])
			var errb syncBuffer // the connection's callbacks log from their own goroutine
			code := Main(context.Background(), []string{"run", "--nats-url", s.ClientURL(), "--http-addr", ""}, nil, &bytes.Buffer{}, &errb)
			if code != exitFatal || !strings.Contains(errb.String(), "JetStream is not enabled on the NATS server") ||
				strings.Contains(errb.String(), "create_streams to create") {
				t.Fatalf("exit %d, stderr %q", code, errb.String())
			}
		})
	}
}

// TestRunWaitsForNATS: started before its NATS server, the worker is alive
// and not ready while it waits, and consumes once the server is up; given
// up after nats.startup_wait, or at once with 0, it exits 1 saying why. A
// shutdown during the wait exits 0.
func TestRunWaitsForNATS(t *testing.T) {
	status := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitStatus := func(r *running, path string, want int) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); status(r.base()+path) != want; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never %d: %s", path, want, r.stderr.String())
			}
		}
	}
	exit := func(r *running) int {
		t.Helper()
		select {
		case code := <-r.done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("did not stop")
			return -1
		}
	}
	nowhere := func() string { port, _ := refusingPort(t); return fmt.Sprint("nats://127.0.0.1:", port) }

	port, release := refusingPort(t)
	if l, err := net.Listen("tcp", fmt.Sprint("127.0.0.1:", port)); err == nil {
		l.Close()
		t.Fatalf("port %d is not held: another listener took it", port)
	}
	r := startRun(t, fmt.Sprint("nats://127.0.0.1:", port))
	waitStatus(r, "/healthz", http.StatusOK)
	if got := status(r.base() + "/readyz"); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d while waiting for NATS", got)
	}
	time.Sleep(1500 * time.Millisecond) // a failed attempt or two
	// The 503 says which step start-up is at, and why it waits.
	if resp, err := http.Get(r.base() + "/readyz"); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("not ready: starting: waiting for NATS at nats://127.0.0.1:%d since ", port)
		if !strings.HasPrefix(string(body), want) || !strings.Contains(string(body), "no servers available") {
			t.Fatalf("/readyz while waiting for NATS: %q", body)
		}
	}
	release()
	natstest.Start(t, func(o *server.Options) { o.Port = port })
	waitStatus(r, "/readyz", http.StatusOK)
	r.cancel()
	if code := exit(r); code != exitOK || !strings.Contains(r.stderr.String(), "waiting for NATS") {
		t.Fatalf("exit %d: %s", code, r.stderr.String())
	}

	t.Setenv("WINNOW_NATS_STARTUP_WAIT", "2s")
	start := time.Now()
	r = startRun(t, nowhere())
	if code := exit(r); code != exitFatal || !strings.Contains(r.stderr.String(), "no servers available") ||
		!strings.Contains(r.stderr.String(), "nats.startup_wait") {
		t.Fatalf("no server for 2s: exit %d: %s", code, r.stderr.String())
	}
	t.Logf("gave up after %v", time.Since(start))

	t.Setenv("WINNOW_NATS_STARTUP_WAIT", "0s")
	r = startRun(t, nowhere())
	if code := exit(r); code != exitFatal || strings.Contains(r.stderr.String(), "waiting for NATS") {
		t.Fatalf("startup_wait 0: exit %d: %s", code, r.stderr.String())
	}

	t.Setenv("WINNOW_NATS_STARTUP_WAIT", "1m")
	r = startRun(t, nowhere())
	waitStatus(r, "/healthz", http.StatusOK)
	r.cancel()
	if code := exit(r); code != exitOK {
		t.Fatalf("stopped while waiting: exit %d: %s", code, r.stderr.String())
	}
}

// TestRunWaitsForJetStream: one server of a three-node cluster is up, so
// JetStream has no meta leader and its API times out or answers "temporarily
// unavailable". The worker (KV state, so the bucket and then the streams
// wait) waits, not ready, and consumes once the other two servers join.
// Before, start-up failed after 30 s with "context deadline exceeded".
func TestRunWaitsForJetStream(t *testing.T) {
	// The routes name every node's cluster port from the start; each is
	// held until its node starts (a port picked free and let go was once
	// taken by another process in the seconds before the node bound it).
	// Client ports are the server's own pick.
	var cports []int
	var releases []func()
	var routes []string
	for range 3 {
		p, release := refusingPort(t)
		cports, releases = append(cports, p), append(releases, release)
		routes = append(routes, fmt.Sprint("nats://127.0.0.1:", p))
	}
	node := func(i int) *server.Server {
		releases[i]()
		return natstest.Start(t, func(o *server.Options) {
			o.ServerName = fmt.Sprint("n", i)
			o.Cluster.Name, o.Cluster.Host, o.Cluster.Port = "c", "127.0.0.1", cports[i]
			o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		})
	}
	s := node(0)
	t.Setenv("WINNOW_WORKER_STATE", "kv")
	r := startRun(t, s.ClientURL())
	time.Sleep(2 * time.Second)
	if r.ready() {
		t.Fatal("ready without JetStream")
	}
	node(1)
	node(2)
	waitReady(t, r, 60*time.Second)
	if !strings.Contains(r.stderr.String(), "waiting for JetStream") {
		t.Errorf("no wait logged: %s", r.stderr.String())
	}
	r.cancel()
	if code := <-r.done; code != exitOK {
		t.Fatalf("exit %d after shutdown", code)
	}
}

func TestUnknownEnv(t *testing.T) {
	env := []string{"PATH=/bin", "WINNOW_NATS_URL=nats://x", "WINNOW_NATS_URLS=nats://x", "WINNOW_CONFIG=/c.yaml",
		"WINNOW_WORKER_SUBJECTS_INPUT=a.>", "WINNOW_WORKER_SUBJECT_INPUT=a.>", "WINNOW_NATS_SERVICE_PORT_CLIENT=4222",
		"WINNOW_NATS_PORT=tcp://10.0.0.8:4222", "WINNOW_SOMETHING=1", "WINNOWX=1"}
	got := unknownEnv(&Config{}, "WINNOW", env)
	want := []string{
		"WINNOW_NATS_URLS names no setting; ignored (WINNOW_NATS_URL?)",
		"WINNOW_SOMETHING names no setting; ignored",
		"WINNOW_WORKER_SUBJECT_INPUT names no setting; ignored (WINNOW_WORKER_SUBJECTS_INPUT?)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// TestPolicyReload: SIGHUP, or with policy.watch a change to the --policy
// file, reads the policy again and the documents that follow are moderated
// by it; a policy that does not load leaves the running one in place, and
// is not tried again until the file changes (one ok, one failed counted).
func TestPolicyReload(t *testing.T) {
	for _, by := range []string{"SIGHUP", "watch"} {
		t.Run(by, func(t *testing.T) {
			if by == "watch" {
				t.Setenv("WINNOW_POLICY_WATCH", "100ms")
			}
			testPolicyReload(t, by == "SIGHUP")
		})
	}
}

func testPolicyReload(t *testing.T, hangUp bool) {
	s := natstest.Start(t, nil)
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(text string) {
		if err := os.WriteFile(policy, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("blocklist:\n  action: reject\n  phrases: [forbidden fruit]\n")
	r := startRun(t, s.ClientURL(), "--policy", policy)
	waitReady(t, r, 20*time.Second)
	nc := natsConn(t, s.ClientURL())
	out, err := nc.SubscribeSync("docs.*.t")
	if err != nil {
		t.Fatal(err)
	}
	outcome := func(id, text string) string {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"id": id, "text": text})
		if err := nc.Publish("docs.raw.t", b); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := out.NextMsg(10 * time.Second)
			if err != nil {
				t.Fatalf("%s: no outcome: %v", id, err)
			}
			if m.Subject != "docs.raw.t" {
				return m.Subject
			}
		}
	}
	change := func(policy, logged string) {
		t.Helper()
		write(policy)
		if hangUp {
			if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(r.stderr.String(), logged); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q: %s", logged, r.stderr.String())
			}
		}
	}
	if got := outcome("a", "We ate the forbidden fruit today."); got != "docs.rejected.t" {
		t.Fatalf("before the reload: %s", got)
	}
	change("blocklist:\n  action: reject\n  phrases: [other phrase]\n", "moderation policy reloaded")
	if got := outcome("b", "On Sunday a neighbour picked the forbidden fruit off the tree."); got != "docs.clean.t" {
		t.Fatalf("after the reload, the old phrase: %s", got)
	}
	if got := outcome("c", "They said the other phrase again."); got != "docs.rejected.t" {
		t.Fatalf("after the reload, the new phrase: %s", got)
	}
	change("blocklist:\n  action: explode\n", "moderation policy not reloaded")
	if got := outcome("d", "Nobody in the village had heard the other phrase before that week."); got != "docs.rejected.t" {
		t.Fatalf("after a failed reload: %s (the running policy should stay)", got)
	}
	time.Sleep(300 * time.Millisecond) // a few watch ticks over unchanged files: no reload
	resp, err := http.Get(r.base() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`winnow_policy_reloads_total{result="ok"} 1`, `winnow_policy_reloads_total{result="failed"} 1`,
		"winnow_policy_last_reload_successful 0"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	r.cancel()
	if code := <-r.done; code != exitOK {
		t.Fatalf("exit %d: %s", code, r.stderr.String())
	}
}

// TestServerLoss: a server that goes away is a warning ("nats
// disconnected"), though a shutdown's own close no longer logs one; and a
// shutdown while it is away ends at drain_timeout. Before, the drained
// iterator, which closes only once the server answers, kept the worker
// waiting until its 10 s consumer check happened to end it, whatever
// drain_timeout said (1.7 s now with 1 s; 10.0 s before). In core mode,
// where a subscription cannot drain either, no handler holding a document
// means nothing was lost: exit 0 (it said "unfinished documents are lost"
// whenever the deadline's timer won the race with the handlers' end).
func TestServerLoss(t *testing.T) {
	for _, mode := range []string{"jetstream", "core"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("WINNOW_WORKER_DRAIN_TIMEOUT", "1s")
			t.Setenv("WINNOW_WORKER_MODE", mode)
			s := natstest.Start(t, nil)
			r := startRun(t, s.ClientURL())
			waitReady(t, r, 20*time.Second)
			s.Shutdown()
			warned := regexp.MustCompile(`"level":"warn","ts":"[^"]*","msg":"nats disconnected"`)
			for deadline := time.Now().Add(10 * time.Second); !warned.MatchString(r.stderr.String()); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no warning of the lost server: %s", r.stderr.String())
				}
			}
			stop := time.Now()
			r.cancel()
			select {
			case code := <-r.done:
				took := time.Since(stop)
				if took > 7*time.Second {
					t.Fatalf("stopped %v after the cancel, want soon after the 1 s drain deadline: %s", took, r.stderr.String())
				}
				switch {
				case mode == "jetstream" && (code != exitFatal || !strings.Contains(r.stderr.String(), "drain deadline 1s passed; unfinished documents will be redelivered")):
					t.Fatalf("exit %d, want 1 with the deadline (pulled messages were left unacked): %s", code, r.stderr.String())
				case mode == "core" && code != exitOK:
					t.Fatalf("exit %d, want 0: no handler held a document: %s", code, r.stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatal("did not stop")
			}
		})
	}
}

// TestModerationMetrics: flags and rejections are counted by rule, so an
// operator sees what moderation does without reading records
// (winnow_flags_total, winnow_rejections_total).
func TestModerationMetrics(t *testing.T) {
	s := natstest.Start(t, nil)
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policy, []byte("spam:\n  enabled: false\nblocklist:\n  action: reject\n  phrases: [forbidden fruit]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, s.ClientURL(), "--policy", policy)
	waitReady(t, r, 20*time.Second)
	nc := natsConn(t, s.ClientURL())
	for id, text := range map[string]string{
		"mail":   "Write to jane.doe@example.com or to john@example.org about the meeting on Monday.",
		"banned": "We ate the forbidden fruit today and nobody saw us do it.",
		"plain":  "The council met on Monday to discuss the new bridge over the river.",
	} {
		b, _ := json.Marshal(map[string]string{"id": id, "text": text})
		if err := nc.Publish("docs.raw.t", b); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{`winnow_flags_total{rule="pii.email"} 1`, `winnow_rejections_total{rule="blocklist"} 1`,
		`winnow_flags_total{rule="spam"} 0`, `winnow_rejections_total{rule="spam"} 0`, `winnow_documents_total{outcome="clean"} 2`}
	var body []byte
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(r.base() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool { return strings.Contains(string(body), w+"\n") })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q:\n%s", missing, body)
		}
	}
}

// TestLogSampling: above debug, 250 lines of one message in a burst write
// the first 100 and then every 100th (101), and the 149 left out are
// counted; other messages are not held back by it; at debug all are
// written.
func TestLogSampling(t *testing.T) {
	for _, level := range []string{"info", "debug"} {
		var buf syncBuffer
		log, err := newLogger(LogConfig{Level: level, Format: "json"}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		before := logsDropped.Load()
		for i := range 250 {
			log.Info("dead letter", zap.Int("n", i))
		}
		log.Warn("something else")
		lines := strings.Count(buf.String(), `"msg":"dead letter"`)
		dropped := logsDropped.Load() - before
		want, wantDropped := 101, int64(149)
		if level == "debug" {
			want, wantDropped = 250, 0
		}
		if lines != want || dropped != wantDropped || !strings.Contains(buf.String(), `"msg":"something else"`) {
			t.Errorf("%s: %d lines written, %d dropped, want %d and %d; the other message written: %v",
				level, lines, dropped, want, wantDropped, strings.Contains(buf.String(), "something else"))
		}
	}
}

// TestPprof: http.pprof serves Go's profiles beside the health and metrics
// endpoints; off (the default), /debug/pprof/ is not served.
func TestPprof(t *testing.T) {
	s := natstest.Start(t, nil)
	for _, on := range []bool{false, true} {
		t.Setenv("WINNOW_HTTP_PPROF", fmt.Sprint(on))
		r := startRun(t, s.ClientURL())
		waitReady(t, r, 20*time.Second)
		resp, err := http.Get(r.base() + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if served := resp.StatusCode == http.StatusOK && strings.Contains(string(body), "goroutine profile:"); served != on {
			t.Errorf("pprof %v: /debug/pprof/goroutine answered %d %.80q", on, resp.StatusCode, body)
		}
		if resp, err := http.Get(r.base() + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("pprof %v: /readyz %v %v", on, resp, err)
		} else {
			resp.Body.Close()
		}
		r.cancel()
		if code := <-r.done; code != exitOK {
			t.Fatalf("exit %d: %s", code, r.stderr.String())
		}
	}
}

// TestHealthcheckSaysWhy: `winnow healthcheck` (the image's health check)
// passes on the readiness endpoint's reason, which docker inspect then
// shows among the health logs.
func TestHealthcheckSaysWhy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not ready: paused for an outage since 2026-11-28T08:00:00Z (5s ago): the output stream is full", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"healthcheck", "--url", srv.URL + "/readyz"}, nil, &out, &errb)
	if want := "503 Service Unavailable: not ready: paused for an outage since 2026-11-28T08:00:00Z (5s ago): the output stream is full\n"; code != exitFatal || !strings.HasSuffix(errb.String(), want) {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// TestArgumentsAndFlagsInAnyOrder: flags after a positional argument are
// read (the flag package stopped at the first one and left them unread:
// `winnow run winnow.yaml --check-config` started a worker with the
// defaults), a command is refused an argument it does not take, and "--"
// ends the flags.
func TestArgumentsAndFlagsInAnyOrder(t *testing.T) {
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := Main(ctx, []string{"run", "winnow.yaml", "--check-config"}, nil, &out, &errb); code != exitFatal ||
		errb.String() != "winnow run: unexpected argument \"winnow.yaml\": it takes flags only (winnow run -h lists them)\n" || out.Len() > 0 {
		t.Errorf("run with an argument: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := Main(ctx, []string{"publish", "a.jsonl", "b.jsonl"}, nil, &out, &errb); code != exitFatal ||
		!strings.HasPrefix(errb.String(), "winnow publish: unexpected argument \"b.jsonl\": it takes at most 1 argument(s) besides its flags") {
		t.Errorf("publish with two files: exit %d, %q", code, errb.String())
	}
	// Every command's -h says what it does above its flags, and exits 0.
	for _, cmd := range []string{"clean", "eval", "train-spam", "bench", "publish", "audit", "redrive", "show", "healthcheck"} {
		var help bytes.Buffer
		if code := Main(ctx, []string{cmd, "-h"}, nil, &out, &help); code != exitOK ||
			!strings.HasPrefix(help.String(), "Usage: winnow "+cmd+" [flags]") || !strings.Contains(help.String(), ".\n\n  -") {
			t.Errorf("%s -h: exit %d, %q", cmd, code, help.String())
		}
	}

	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile("in.jsonl", []byte("{\"id\":\"a\",\"text\":\"x\"}\nnot json\n"), 0o644)
	os.WriteFile("-odd.jsonl", []byte("{\"id\":\"b\",\"text\":\"y\"}\n"), 0o644)
	out.Reset()
	if code := Main(ctx, []string{"clean", "in.jsonl", "--rejects", "rejects.jsonl", "--quiet", "--", "-odd.jsonl"}, nil, &out, &bytes.Buffer{}); code != exitRejected {
		t.Fatalf("clean: exit %d", code)
	}
	if got := strings.Count(out.String(), `"schema":"winnow.v1.record"`); got != 2 || !strings.Contains(readFile(t, "rejects.jsonl"), `"line":2`) {
		t.Errorf("clean in.jsonl --rejects ... -- -odd.jsonl: %d records, rejects %q", got, readFile(t, "rejects.jsonl"))
	}
}

// TestLogLevelsAsOperatorsWrite: log.level in any case, and "warning",
// as Benthos and many charts write them (WARN was refused, "want debug,
// info, warn or error"); log.format too. Anything else is still refused.
func TestLogLevelsAsOperatorsWrite(t *testing.T) {
	for _, level := range []string{"WARN", "Warning", " warn"} {
		cfg, err := loadConfig("", oneEnv("WINNOW_LOG_LEVEL", level))
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			t.Fatalf("WINNOW_LOG_LEVEL=%q: %v", level, err)
		}
		cfg.Log.Format = "Console"
		var buf syncBuffer
		log, err := newLogger(cfg.Log, &buf)
		if err != nil {
			t.Fatalf("%q: %v", level, err)
		}
		log.Info("left out")
		log.Warn("written")
		if out := buf.String(); strings.Contains(out, "left out") || !strings.Contains(out, "\twarn\twritten") {
			t.Errorf("level %q, format Console: %q", level, out)
		}
	}
	for env, want := range map[string]string{
		"WINNOW_LOG_LEVEL":  `log.level: "trace": want debug, info, warn or error`,
		"WINNOW_LOG_FORMAT": `log.format: "trace": want json or console`,
	} {
		cfg, err := loadConfig("", oneEnv(env, "trace"))
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=trace: %v, want %q", env, err, want)
		}
	}
}

// TestDurationsInDays: a duration setting takes whole days ahead of Go's
// units (ttl: 7d, 1d12h), in the file, a flow list or mapping and the
// environment alike, where yaml.v3 and time.ParseDuration refused "7d".
// The file is rewritten in place for the decoder, so the lines of later
// errors keep their numbers.
func TestDurationsInDays(t *testing.T) {
	file := filepath.Join(t.TempDir(), "winnow.yaml")
	os.WriteFile(file, []byte("worker:\n  shared: {bucket: \"é—b\", ttl: 7d}\n  backoff: [1d, '1d12h', 2d]\n"+
		"pipeline:\n  cross_options:\n    memory:\n      max_age: 30d # a month\n"), 0o644)
	cfg, err := loadConfig(file, oneEnv("WINNOW_WORKER_ACK_WAIT", "1d"))
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Worker; w.Shared.TTL != 7*24*time.Hour || w.Shared.Bucket != "é—b" || !slices.Equal(w.Backoff, []time.Duration{24 * time.Hour, 36 * time.Hour, 48 * time.Hour}) ||
		w.AckWait != 24*time.Hour || cfg.Pipeline.CrossOptions.Memory.MaxAge != 30*24*time.Hour {
		t.Errorf("ttl %v, bucket %q, backoff %v, ack_wait %v, max_age %v", w.Shared.TTL, w.Shared.Bucket, w.Backoff, w.AckWait,
			cfg.Pipeline.CrossOptions.Memory.MaxAge)
	}
	os.WriteFile(file, []byte("worker:\n  shared:\n    ttl: 7d\n  ack_wait: 1dx\n  handlers: 2d\n"), 0o644)
	_, err = loadConfig(file, noEnv)
	for _, want := range []string{
		`line 4: worker.ack_wait: "1dx": want a duration with its unit: 500ms, 30s, 5m, 2h, 7d`,
		`line 5: worker.handlers: "2d": want a whole number`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want %q", err, want)
		}
	}
	if _, err := loadConfig("", oneEnv("WINNOW_WORKER_SHARED_TTL", "99999999d")); err == nil ||
		!strings.Contains(err.Error(), `WINNOW_WORKER_SHARED_TTL="99999999d": want a duration`) {
		t.Errorf("99999999 days: %v", err)
	}
}

// TestHealthcheckProbesHTTPAddr: without --url, the health check probes
// /readyz where the configuration says winnow listens (WINNOW_HTTP_ADDR, a
// wildcard host on the loopback); it probed 127.0.0.1:8080 whatever was
// set, so a container on another port was unhealthy for good. An empty
// http.addr (no listener) says so.
func TestHealthcheckProbesHTTPAddr(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for addr, want := range map[string]string{
		"0.0.0.0:" + port:   "",
		"127.0.0.1:" + port: "",
		":" + port:          "",
		"":                  "winnow healthcheck: http.addr is empty: this winnow serves no /readyz (give --url)\n",
	} {
		t.Setenv("WINNOW_HTTP_ADDR", addr)
		var out, errb bytes.Buffer
		code := Main(context.Background(), []string{"healthcheck"}, nil, &out, &errb)
		if want == "" && (code != exitOK || out.String() != "ok\n") || want != "" && (code != exitFatal || errb.String() != want) {
			t.Errorf("WINNOW_HTTP_ADDR=%q: exit %d, %q, %q", addr, code, out.String(), errb.String())
		}
	}
}

// TestEnvironmentReplacingTheFileIsSaid: a WINNOW_ variable that replaces a
// setting the configuration file gives with another value is said, on the
// start line's heels and by --check-config, secrets masked: the image's own
// WINNOW_HTTP_ADDR replaced a file's http.addr without a word. The same
// value in both is not.
func TestEnvironmentReplacingTheFileIsSaid(t *testing.T) {
	file := filepath.Join(t.TempDir(), "winnow.yaml")
	os.WriteFile(file, []byte("http:\n  addr: 0.0.0.0:9090\nnats:\n  user: u\n  password: fromfile\nworker:\n  backoff: [1s, 5s]\n  handlers: 4\n"), 0o644)
	env := map[string]string{"WINNOW_HTTP_ADDR": "0.0.0.0:8080", "WINNOW_NATS_PASSWORD": "fromenv", "WINNOW_WORKER_BACKOFF": "1s,5s", "WINNOW_WORKER_HANDLERS": "4"}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var errb bytes.Buffer
	if code := Main(context.Background(), []string{"run", "--config", file, "--check-config"}, nil, &bytes.Buffer{}, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := `winnow: note: WINNOW_HTTP_ADDR="0.0.0.0:8080" replaces http.addr: "0.0.0.0:9090" of ` + file + "\n" +
		`winnow: note: WINNOW_NATS_PASSWORD="********" replaces nats.password: "********" of ` + file + "\n" +
		"winnow: configuration is valid\n"
	if errb.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errb.String(), want)
	}
}
