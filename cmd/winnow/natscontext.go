package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nats-io/nats.go"
)

// natsContext is what winnow reads of a nats CLI context (`nats context
// save`, a JSON file under ~/.config/nats/context): where NATS is and how
// to log in. An operator who reaches a cluster with `nats --context prod`
// reaches it with `winnow show --context prod` too, without copying its
// credentials into flags or a configuration file.
type natsContext struct {
	URL             string `json:"url"`
	User            string `json:"user"`
	Password        string `json:"password"`
	Token           string `json:"token"`
	Creds           string `json:"creds"`
	NKey            string `json:"nkey"`
	Cert            string `json:"cert"`
	Key             string `json:"key"`
	CA              string `json:"ca"`
	InboxPrefix     string `json:"inbox_prefix"`
	JetStreamDomain string `json:"jetstream_domain"`

	// Settings winnow cannot honour. A context that sets one is refused:
	// connecting without it would reach another server, or the same one
	// as another user, than the nats CLI does.
	NSC                string   `json:"nsc"`
	UserJWT            string   `json:"user_jwt"`
	UserSeed           string   `json:"user_seed"`
	JetStreamAPIPrefix string   `json:"jetstream_api_prefix"`
	SocksProxy         string   `json:"socks_proxy"`
	TLSFirst           bool     `json:"tls_first"`
	WindowsCertStore   string   `json:"windows_cert_store"`
	WindowsCAMatch     []string `json:"windows_ca_certs_match"`
}

// natsContextDir is where the nats CLI keeps its contexts:
// $XDG_CONFIG_HOME/nats/context, else ~/.config/nats/context.
func natsContextDir() (string, error) {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "nats", "context"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".config", "nats", "context"), nil
}

// natsContextPath says which file --context names: a path when it holds a
// slash or ends in .json (`--context ./prod.json`), else a context of
// that name in the nats CLI's directory.
func natsContextPath(name string) (string, error) {
	if name == "" {
		return "", errors.New("want a context name (nats context ls lists them) or the path of a context file")
	}
	if strings.ContainsRune(name, '/') || strings.ContainsRune(name, filepath.Separator) || strings.HasSuffix(name, ".json") {
		return name, nil
	}
	if name == "." || name == ".." {
		return "", fmt.Errorf("%q is no context name", name)
	}
	dir, err := natsContextDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the nats CLI's contexts: %w", err)
	}
	return filepath.Join(dir, name+".json"), nil
}

// selectedContext is the context `nats context select` chose, "" when none
// was or it cannot be read. The tools do not use it unasked (a shell's
// selected context may be production); an error that wants a URL names it.
func selectedContext() string {
	dir, err := natsContextDir()
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "context.txt"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// knownContexts lists the context names in dir, for an error that names a
// context not there.
func knownContexts(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// loadNATSContext reads the context --context names.
func loadNATSContext(name string) (natsContext, error) {
	var c natsContext
	path, err := natsContextPath(name)
	if err != nil {
		return c, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && path != name {
		dir := filepath.Dir(path)
		if known := knownContexts(dir); len(known) > 0 {
			return c, fmt.Errorf("no context %q in %s; there are: %s", name, dir, strings.Join(known, ", "))
		}
		return c, fmt.Errorf("no context %q: %s does not exist (nats context save %s --server URL ... makes one)", name, path, name)
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: not a nats context file: %w", path, err)
	}
	var unsupported []string
	for _, s := range []struct {
		key string
		set bool
	}{
		{"nsc", c.NSC != ""}, {"user_jwt", c.UserJWT != ""}, {"user_seed", c.UserSeed != ""},
		{"jetstream_api_prefix", c.JetStreamAPIPrefix != ""}, {"socks_proxy", c.SocksProxy != ""},
		{"tls_first", c.TLSFirst}, {"windows_cert_store", c.WindowsCertStore != ""},
		{"windows_ca_certs_match", len(c.WindowsCAMatch) > 0},
	} {
		if s.set {
			unsupported = append(unsupported, s.key)
		}
	}
	if len(unsupported) > 0 {
		return c, fmt.Errorf("%s sets %s, which winnow cannot use: give --nats-url and a configuration file (nats.*) instead", path, strings.Join(unsupported, ", "))
	}
	if c.URL != "" {
		if problem := natsURLsProblem(c.URL); problem != "" {
			return c, fmt.Errorf("%s: url: %s", path, problem)
		}
	}
	for _, p := range []*string{&c.Creds, &c.NKey, &c.Cert, &c.Key, &c.CA} {
		*p = expandHome(*p)
	}
	return c, nil
}

// expandHome reads a leading ~/ as the home directory, as the nats CLI
// does for a context's files.
func expandHome(path string) string {
	rest, ok := strings.CutPrefix(path, "~/")
	if !ok {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return path
	}
	return filepath.Join(home, rest)
}

// apply makes the context the configuration's way to NATS: its URL (the
// nats CLI's default, nats://127.0.0.1:4222, when it has none), its
// credentials, TLS files, inbox prefix and JetStream domain replace the
// file's and the environment's, all of them, so a password in the file
// cannot ride along with the context's creds.
func (c natsContext) apply(n *NATSConfig) {
	n.URL = c.URL
	if n.URL == "" {
		n.URL = nats.DefaultURL
	}
	n.User, n.Password, n.Token = c.User, c.Password, c.Token
	n.CredsFile, n.NKeySeedFile = c.Creds, c.NKey
	n.TLS = TLSConfig{CA: c.CA, Cert: c.Cert, Key: c.Key}
	n.InboxPrefix, n.JetStreamDomain = c.InboxPrefix, c.JetStreamDomain
}
