package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/worker"
)

// Config is the whole of winnow's configuration. Precedence, lowest first:
// defaults, the YAML file (--config / WINNOW_CONFIG), WINNOW_* environment
// variables (WINNOW_<SECTION>_<FIELD>, e.g. WINNOW_NATS_URL,
// WINNOW_WORKER_HANDLERS), then flags.
type Config struct {
	NATS     NATSConfig      `yaml:"nats"`
	Embedded EmbeddedConfig  `yaml:"embedded"`
	HTTP     HTTPConfig      `yaml:"http"`
	Log      LogConfig       `yaml:"log"`
	Policy   PolicyConfig    `yaml:"policy"`
	Worker   worker.Config   `yaml:"worker"`
	Pipeline pipeline.Config `yaml:"pipeline"`

	policyFile string   // --policy, read by applyPolicy
	configFile string   // the YAML file loadConfig read, if any
	overrides  []string // settings of the file the environment replaced
}

// fileProblem says why path cannot be read; for a relative path that is
// not there, it names the working directory the path was taken from (not
// the directory of the file that named it), and for a directory the YAML
// files in it.
func fileProblem(err error, path string) string {
	if errors.Is(err, fs.ErrNotExist) && !filepath.IsAbs(path) {
		if wd, werr := os.Getwd(); werr == nil {
			return fmt.Sprintf("%v (a relative path is taken from the working directory, %s)", err, wd)
		}
	}
	// A Kubernetes ConfigMap is mounted as a directory of files: the
	// mount's path given where the file's is meant.
	if errors.Is(err, syscall.EISDIR) {
		yamls, _ := filepath.Glob(filepath.Join(path, "*.y*ml"))
		switch {
		case len(yamls) > 3:
			return fmt.Sprintf("%v (give a file in it: %s, ...)", err, strings.Join(yamls[:3], ", "))
		case len(yamls) > 0:
			return fmt.Sprintf("%v (give a file in it: %s)", err, strings.Join(yamls, ", "))
		}
		return fmt.Sprintf("%v (give a file, not a directory)", err)
	}
	return err.Error()
}

// policyFiles are the files c's moderation policy came from: the
// configuration file, the --policy file, and the model and blocklist files
// the policy names.
func (c Config) policyFiles() []string {
	var files []string
	for _, f := range []string{c.configFile, c.policyFile, c.Pipeline.Moderation.Spam.ModelFile, c.Pipeline.Moderation.Blocklist.File} {
		if f != "" {
			files = append(files, f)
		}
	}
	return files
}

// NATSConfig says how to reach NATS. With no URL winnow embeds a server.
type NATSConfig struct {
	URL          string    `yaml:"url"`
	Name         string    `yaml:"name"`
	User         string    `yaml:"user"`
	Password     string    `yaml:"password"`
	Token        string    `yaml:"token"`
	NKeySeedFile string    `yaml:"nkey_seed_file"`
	CredsFile    string    `yaml:"creds_file"`
	TLS          TLSConfig `yaml:"tls"`
	// InboxPrefix replaces _INBOX in the subjects replies come back on
	// (JetStream API answers, pulled messages), for a user whose permissions
	// allow subscribing only below a prefix of its own.
	InboxPrefix string `yaml:"inbox_prefix"`
	// JetStreamDomain names the JetStream domain whose streams winnow uses
	// (its API is then $JS.<domain>.API): for a worker connected to a leaf
	// node that uses the hub's JetStream. Empty: the domain of the server
	// connected to. The embedded server takes it as its own domain.
	JetStreamDomain string        `yaml:"jetstream_domain"`
	ConnectTimeout  time.Duration `yaml:"connect_timeout"`
	// StartupWait is how long `winnow run` waits at start for a NATS
	// server that does not answer yet, and then for its JetStream, trying
	// again every 1 s to 5 s (0: fail at once).
	StartupWait time.Duration `yaml:"startup_wait"`
}

// TLSConfig holds the CA that signs the server's certificate and, for
// mutual TLS, the client certificate and key.
type TLSConfig struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// EmbeddedConfig configures the nats-server winnow runs when no URL is set.
type EmbeddedConfig struct {
	Host       string       `yaml:"host"`
	Port       int          `yaml:"port"`
	StoreDir   string       `yaml:"store_dir"`
	MaxPayload worker.Bytes `yaml:"max_payload"`
}

// HTTPConfig is the health and metrics listener; an empty addr disables it.
type HTTPConfig struct {
	Addr string `yaml:"addr"`
	// Pprof serves Go's runtime profiles at /debug/pprof/ on the same
	// listener, for diagnosing CPU or memory in place. Off by default: they
	// show the process's internals and a CPU profile costs while it runs.
	Pprof bool `yaml:"pprof"`
}

// PolicyConfig is how `winnow run` follows its moderation policy.
type PolicyConfig struct {
	// Watch, when set, is how often the files the policy comes from (the
	// --policy file or the configuration file, and the model and blocklist
	// files it names) are read; when their bytes change the policy is
	// reloaded, as on SIGHUP. 0: only SIGHUP reloads.
	Watch time.Duration `yaml:"watch"`
}

// LogConfig selects the log level (debug, info, warn, error) and format
// (json, console). Document text is logged only at debug.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

func defaultConfig() Config {
	return Config{
		NATS:     NATSConfig{Name: "winnow", ConnectTimeout: 5 * time.Second, StartupWait: 2 * time.Minute},
		Embedded: EmbeddedConfig{Host: "127.0.0.1", Port: 4222, StoreDir: "winnow-data", MaxPayload: 8 << 20},
		HTTP:     HTTPConfig{Addr: "127.0.0.1:8080"},
		Log:      LogConfig{Level: "info", Format: "json"},
		Worker:   worker.DefaultConfig(),
		Pipeline: pipeline.DefaultConfig(),
	}
}

// Validate checks every section; the error names the field.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("config: %s: %s", field, fmt.Sprintf(format, args...))
	}
	if problem := natsURLsProblem(c.NATS.URL); problem != "" {
		return bad("nats.url", "%s", problem)
	}
	for _, f := range []struct{ field, value, env string }{{"nats.password", c.NATS.Password, "WINNOW_NATS_PASSWORD"}, {"nats.token", c.NATS.Token, "WINNOW_NATS_TOKEN"}} {
		if f.value == secretMask {
			return bad(f.field, "%q is the mask --check-config prints for a secret, not the secret: give it again, or in %s", secretMask, f.env)
		}
	}
	n := 0
	for _, set := range []bool{c.NATS.User != "" || c.NATS.Password != "", c.NATS.Token != "", c.NATS.NKeySeedFile != "", c.NATS.CredsFile != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return bad("nats", "set only one of user/password, token, nkey_seed_file, creds_file")
	case c.NATS.User != "" && c.NATS.Password == "":
		return bad("nats.password", "required with nats.user")
	case (c.NATS.TLS.Cert == "") != (c.NATS.TLS.Key == ""):
		return bad("nats.tls", "cert and key go together")
	case c.NATS.ConnectTimeout <= 0:
		return bad("nats.connect_timeout", "%v: want > 0", c.NATS.ConnectTimeout)
	case c.NATS.StartupWait < 0:
		return bad("nats.startup_wait", "%v: want >= 0", c.NATS.StartupWait)
	case c.NATS.InboxPrefix != "" && !worker.LiteralSubject(c.NATS.InboxPrefix):
		return bad("nats.inbox_prefix", "%q: want a subject prefix without wildcards, such as _INBOX_winnow", c.NATS.InboxPrefix)
	case strings.ContainsAny(c.NATS.JetStreamDomain, ".*> \t\r\n"):
		return bad("nats.jetstream_domain", "%q: want one subject token (no dots, wildcards or spaces), such as hub", c.NATS.JetStreamDomain)
	}
	for _, f := range []struct{ field, path string }{{"nats.nkey_seed_file", c.NATS.NKeySeedFile}, {"nats.creds_file", c.NATS.CredsFile},
		{"nats.tls.ca", c.NATS.TLS.CA}, {"nats.tls.cert", c.NATS.TLS.Cert}, {"nats.tls.key", c.NATS.TLS.Key}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return bad(f.field, "%s", fileProblem(err, f.path))
		}
	}
	if c.NATS.URL == "" {
		switch {
		case c.Embedded.Host == "":
			return bad("embedded.host", "required")
		case c.Embedded.Port < 0 || c.Embedded.Port > 65535:
			return bad("embedded.port", "%d: want 0..65535", c.Embedded.Port)
		case c.Embedded.StoreDir == "":
			return bad("embedded.store_dir", "required")
		case c.Embedded.MaxPayload < c.Worker.MaxDocBytes:
			return bad("embedded.max_payload", "%d: want >= worker.max_doc_bytes (%d)", c.Embedded.MaxPayload, c.Worker.MaxDocBytes)
		}
	}
	if c.HTTP.Addr != "" {
		_, port, err := net.SplitHostPort(c.HTTP.Addr)
		if err != nil || port == "" {
			return bad("http.addr", "%q: want host:port, such as 127.0.0.1:8080 or :8080 (empty: no listener)", c.HTTP.Addr)
		}
		// A named port (":http") is net.Listen's to resolve.
		if n, err := strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
			return bad("http.addr", "%q: port %d: want 0..65535", c.HTTP.Addr, n)
		}
	}
	if _, ok := logLevel(c.Log.Level); !ok {
		return bad("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	if f := strings.ToLower(c.Log.Format); f != "json" && f != "console" {
		return bad("log.format", "%q: want json or console", c.Log.Format)
	}
	if c.Policy.Watch != 0 && c.Policy.Watch < 100*time.Millisecond {
		return bad("policy.watch", "%v: want 0 (off) or >= 100ms", c.Policy.Watch)
	}
	// The worker and the pipeline name their fields by their YAML paths.
	var we *worker.ConfigError
	if err := c.Worker.Validate(); errors.As(err, &we) {
		return bad(we.Field, "%s", we.Problem)
	} else if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return validatePipeline(c.Pipeline)
}

// validatePipeline checks the pipeline section, naming a bad field by its
// path ("config: pipeline.dedupe.near_threshold: 1.5: want (0, 1]").
func validatePipeline(pc pipeline.Config) error {
	var pe *pipeline.ConfigError
	if err := pc.Validate(); errors.As(err, &pe) {
		return fmt.Errorf("config: pipeline.%s: %s", pe.Field, pe.Problem)
	} else if err != nil {
		return fmt.Errorf("config: pipeline: %w", err)
	}
	return nil
}

// loadConfig returns the defaults overlaid with the YAML file at path (if
// any) and the WINNOW_* environment. Unknown keys in the file are errors.
// It does not validate: flags may still change it.
func loadConfig(path string, lookupEnv func(string) (string, bool)) (Config, error) {
	cfg := defaultConfig()
	if path == "" {
		path, _ = lookupEnv("WINNOW_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %s", fileProblem(err, path))
		}
		if b, err = expandEnv(b, lookupEnv); err != nil {
			return cfg, fmt.Errorf("config: %s: %w", path, err)
		}
		if err := decodeYAML(b, &cfg, ""); err != nil {
			return cfg, fmt.Errorf("config: %s: %w", path, err)
		}
		cfg.configFile = path
		cfg.overrides = envOverrides(b, path, lookupEnv)
	}
	if err := applyEnv(&cfg, "WINNOW", lookupEnv); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// envOverrides says which settings of the configuration file src (at
// path) a WINNOW_ variable replaces with another value: the environment
// comes after the file, and an image's own variables (the winnow image
// sets WINNOW_HTTP_ADDR and WINNOW_EMBEDDED_*) replaced a file's
// http.addr without a word. Secrets are masked.
func envOverrides(src []byte, path string, lookupEnv func(string) (string, bool)) []string {
	root := yamlRoot(src)
	if root == nil {
		return nil
	}
	var out []string
	eachValue(root, "", reflect.TypeOf(Config{}), func(setting string, n *yaml.Node, _ reflect.Type) {
		var file string
		switch {
		case strings.Contains(setting, " item "):
			return
		case n.Kind == yaml.ScalarNode:
			file = n.Value
		case n.Kind == yaml.SequenceNode:
			items := make([]string, len(n.Content))
			for i, item := range n.Content {
				items[i] = item.Value
			}
			file = strings.Join(items, ",")
		default:
			return
		}
		name := envVar("WINNOW", setting)
		env, ok := lookupEnv(name)
		if !ok || env == file {
			return
		}
		switch setting {
		case "nats.password", "nats.token":
			env, file = secretMask, secretMask
		case "nats.url":
			env, file = redactURLs(env), redactURLs(file)
		}
		out = append(out, fmt.Sprintf("%s=%q replaces %s: %q of %s", name, env, setting, file, path))
	})
	return out
}

// natsURLsProblem says what is wrong with a comma-separated list of NATS
// server URLs, naming the URL with its credentials masked, or "".
func natsURLsProblem(urls string) string {
	websocket := map[bool][]string{}
	for _, u := range strings.Split(urls, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue // nats.go skips an empty item too
		}
		if masked(u) {
			return fmt.Sprintf("%q holds %s, the mask winnow prints for a secret, not the secret: give it again, or in WINNOW_NATS_URL", redactURLs(u), urlSecretMask)
		}
		if problem := natsURLProblem(u); problem != "" {
			return fmt.Sprintf("%q %s", redactURLs(u), problem)
		}
		scheme, _, _ := strings.Cut(u, "://")
		ws := scheme == "ws" || scheme == "wss"
		websocket[ws] = append(websocket[ws], redactURLs(u))
	}
	if len(websocket) == 2 {
		return fmt.Sprintf("mixes websocket URLs (%s) with others (%s), which nats.go refuses: give one kind", strings.Join(websocket[true], ","), strings.Join(websocket[false], ","))
	}
	return ""
}

// natsURLProblem says what is wrong with one NATS server URL as nats.go
// reads it (nats:// when no scheme is given), or "". It took a
// space-separated list (valid by --check-config, then refused at connect)
// and the server's monitoring URL, http://nats:8222, which the worker
// then tried for as long as startup_wait allowed ("no servers available").
func natsURLProblem(u string) string {
	if !strings.Contains(u, "://") && strings.Contains(u, "/") {
		return "is not a NATS URL (nats://host:port)"
	}
	if strings.ContainsAny(u, " \t") {
		return "is not a NATS URL (nats://host:port): separate several with commas"
	}
	p, err := parseNATSURL(u)
	switch {
	case err != nil:
		return "is not a NATS URL (nats://host:port)"
	case p.Scheme == "http" || p.Scheme == "https":
		return "is an HTTP URL, as the server's monitoring port (8222) answers: winnow connects as a client, nats://host:4222"
	case p.Scheme != "nats" && p.Scheme != "tls" && p.Scheme != "ws" && p.Scheme != "wss":
		return fmt.Sprintf("has scheme %s: want nats://, tls://, ws:// or wss://", p.Scheme)
	}
	if n, err := strconv.Atoi(p.Port()); p.Port() != "" && (err != nil || n < 1 || n > 65535) {
		return fmt.Sprintf("has port %s: want 1..65535", p.Port())
	}
	return ""
}

// parseNATSURL reads one server URL as nats.go does: nats:// when it
// names no scheme.
func parseNATSURL(u string) (*url.URL, error) {
	if !strings.Contains(u, "://") {
		u = "nats://" + u
	}
	return url.Parse(u)
}

// masked reports whether a NATS URL's user information is the mask
// redactURLs writes: a URL copied from winnow's output.
func masked(u string) bool {
	p, err := parseNATSURL(strings.TrimSpace(u))
	if err != nil || p.User == nil {
		return false
	}
	if pw, ok := p.User.Password(); ok {
		return pw == urlSecretMask
	}
	return p.User.Username() == urlSecretMask
}
