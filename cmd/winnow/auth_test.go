package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/winnow-dev/winnow/internal/natstest"
)

// running is a `winnow run` started by a test: its exit code arrives on
// done, its log in stderr.
type running struct {
	done   chan int
	stderr *syncBuffer
	cancel context.CancelFunc
}

// startRun starts `winnow run` against the NATS url, its health listener
// on a port the system picks (a port found free and then closed can be
// taken by another test's server before winnow binds it: a CI run failed
// so, "bind: address already in use"), with any further flags.
func startRun(t *testing.T, url string, flags ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &running{done: make(chan int, 1), stderr: &syncBuffer{}, cancel: cancel}
	go func() {
		args := append([]string{"run", "--nats-url", url, "--http-addr", "127.0.0.1:0"}, flags...)
		r.done <- Main(ctx, args, nil, &bytes.Buffer{}, r.stderr)
	}()
	return r
}

// listening is the start-up log line that gives the health listener's
// address.
var listening = regexp.MustCompile(`"msg":"health and metrics","addr":"([^"]+)"`)

// base is r's health listener's URL, "" until it listens.
func (r *running) base() string {
	if m := listening.FindStringSubmatch(r.stderr.String()); m != nil {
		return "http://" + m[1]
	}
	return ""
}

// ready reports whether r's /readyz answers 200.
func (r *running) ready() bool {
	base := r.base()
	return base != "" && Main(context.Background(), []string{"healthcheck", "--url", base + "/readyz"}, nil, &bytes.Buffer{}, &bytes.Buffer{}) == exitOK
}

// waitReady waits until r is ready, failing the test if it exits first
// or is not ready within d.
func waitReady(t *testing.T, r *running, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); !r.ready(); time.Sleep(50 * time.Millisecond) {
		select {
		case code := <-r.done:
			t.Fatalf("winnow run exited %d: %s", code, r.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in %v: %s", d, r.stderr.String())
		}
	}
}

// runUntilReady runs `winnow run` with env and waits until it is ready,
// then stops it; it returns the exit code and stderr. A run that fails
// before it is ready returns at once.
func runUntilReady(t *testing.T, url string, env map[string]string) (int, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	r := startRun(t, url)
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case code := <-r.done:
			return code, r.stderr.String()
		default:
		}
		if r.ready() {
			r.cancel()
			return <-r.done, r.stderr.String()
		}
		if time.Now().After(deadline) {
			t.Fatalf("neither ready nor failed: %s", r.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAuthMatrix(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// NKey user.
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	useed, _ := ukp.Seed()
	otherKP, _ := nkeys.CreateUser()
	otherSeed, _ := otherKP.Seed()

	// Operator mode: operator -> account (JetStream enabled) -> user creds.
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ac := jwt.NewAccountClaims(apub)
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	ajwt, err := ac.Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	skp, _ := nkeys.CreateAccount() // the system account operator mode needs
	spub, _ := skp.PublicKey()
	sysJWT, err := jwt.NewAccountClaims(spub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	ckp, _ := nkeys.CreateUser()
	cpub, _ := ckp.PublicKey()
	cseed, _ := ckp.Seed()
	ujwt, err := jwt.NewUserClaims(cpub).Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := jwt.FormatUserConfig(ujwt, cseed)
	strangerKP, _ := nkeys.CreateAccount() // signs a user the server does not trust
	sjwt, _ := jwt.NewUserClaims(cpub).Encode(strangerKP)
	badCreds, _ := jwt.FormatUserConfig(sjwt, cseed)

	// TLS with client certificates.
	pki := newPKI(t, dir)

	cases := []struct {
		name     string
		server   func(*server.Options)
		scheme   string
		good     map[string]string
		bad      map[string]string
		badError string
	}{
		{"user/password", func(o *server.Options) { o.Username, o.Password = "winnow", "s3cret" }, "nats",
			map[string]string{"WINNOW_NATS_USER": "winnow", "WINNOW_NATS_PASSWORD": "s3cret"},
			map[string]string{"WINNOW_NATS_USER": "winnow", "WINNOW_NATS_PASSWORD": "wrong"}, "authorization violation"},
		{"token", func(o *server.Options) { o.Authorization = "tok-123" }, "nats",
			map[string]string{"WINNOW_NATS_TOKEN": "tok-123"},
			map[string]string{"WINNOW_NATS_TOKEN": "tok-999"}, "authorization violation"},
		{"nkey", func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: upub}} }, "nats",
			map[string]string{"WINNOW_NATS_NKEY_SEED_FILE": write("user.nk", useed)},
			map[string]string{"WINNOW_NATS_NKEY_SEED_FILE": write("other.nk", otherSeed)}, "authorization violation"},
		{"creds (JWT)", func(o *server.Options) {
			o.TrustedOperators = []*jwt.OperatorClaims{oc}
			r := &server.MemAccResolver{}
			r.Store(apub, ajwt)
			r.Store(spub, sysJWT)
			o.AccountResolver = r
			o.SystemAccount = spub
		}, "nats",
			map[string]string{"WINNOW_NATS_CREDS_FILE": write("user.creds", creds)},
			map[string]string{"WINNOW_NATS_CREDS_FILE": write("bad.creds", badCreds)}, "authorization violation"},
		{"TLS client certificate", func(o *server.Options) {
			o.TLSConfig = pki.serverConfig
			o.TLSVerify = true
			o.TLS = true
		}, "tls",
			map[string]string{"WINNOW_NATS_TLS_CA": pki.ca, "WINNOW_NATS_TLS_CERT": pki.clientCert, "WINNOW_NATS_TLS_KEY": pki.clientKey},
			map[string]string{"WINNOW_NATS_TLS_CA": pki.ca, "WINNOW_NATS_TLS_CERT": pki.rogueCert, "WINNOW_NATS_TLS_KEY": pki.rogueKey}, "tls"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := natstest.Start(t, c.server)
			url := strings.Replace(s.ClientURL(), "nats://", c.scheme+"://", 1)
			if code, stderr := runUntilReady(t, url, c.good); code != exitOK {
				t.Fatalf("good credentials: exit %d: %s", code, stderr)
			}
			code, stderr := runUntilReady(t, url, c.bad)
			if code != exitFatal || !strings.Contains(strings.ToLower(stderr), c.badError) {
				t.Fatalf("wrong credentials: exit %d, stderr %q; want exit 1 mentioning %q", code, stderr, c.badError)
			}
			t.Logf("wrong credential: %s", strings.TrimSpace(stderr[strings.LastIndex(stderr[:len(stderr)-1], "\n")+1:]))
		})
	}
}

type pki struct {
	ca, clientCert, clientKey, rogueCert, rogueKey string
	serverConfig                                   *tls.Config
}

// newPKI makes a CA, a server certificate for 127.0.0.1, a client
// certificate the CA signed and a self-signed "rogue" one.
func newPKI(t *testing.T, dir string) *pki {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(1)
	cert := func(cn string, k *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, usage x509.ExtKeyUsage) (*x509.Certificate, []byte) {
		serial++
		tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: isCA,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		if !isCA {
			tpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		}
		if parent == nil {
			parent, parentKey = tpl, k
		}
		der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &k.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	keyPEM := func(k *ecdsa.PrivateKey) []byte {
		b, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: b})
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey := key()
	caCert, caPEM := cert("winnow test CA", caKey, nil, nil, true, 0)
	srvKey := key()
	_, srvPEM := cert("127.0.0.1", srvKey, caCert, caKey, false, x509.ExtKeyUsageServerAuth)
	cliKey := key()
	_, cliPEM := cert("winnow", cliKey, caCert, caKey, false, x509.ExtKeyUsageClientAuth)
	rogueKey := key()
	_, roguePEM := cert("rogue", rogueKey, nil, nil, false, x509.ExtKeyUsageClientAuth)

	srvPair, err := tls.X509KeyPair(srvPEM, keyPEM(srvKey))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &pki{
		ca: write("ca.pem", caPEM), clientCert: write("client.pem", cliPEM), clientKey: write("client.key", keyPEM(cliKey)),
		rogueCert: write("rogue.pem", roguePEM), rogueKey: write("rogue.key", keyPEM(rogueKey)),
		serverConfig: &tls.Config{Certificates: []tls.Certificate{srvPair}, ClientCAs: pool,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12},
	}
}

// TestInboxPrefix: a user allowed to subscribe only below an inbox prefix of
// its own fails start-up at once saying so, and runs with nats.inbox_prefix
// set to it.
func TestInboxPrefix(t *testing.T) {
	s := natstest.Start(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "winnow", Password: "pw", Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{">"}},
			Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX_winnow.>"}},
		}}}
	})
	env := map[string]string{"WINNOW_NATS_USER": "winnow", "WINNOW_NATS_PASSWORD": "pw"}
	// Before, this waited out nats.startup_wait (2 min) for JetStream "to
	// answer" (runUntilReady gives up after 20 s), then failed with
	// "context deadline exceeded".
	code, stderr := runUntilReady(t, s.ClientURL(), env)
	if want := "may not subscribe to its reply inbox; allow it _INBOX.> or set nats.inbox_prefix"; code != exitFatal || !strings.Contains(stderr, want) {
		t.Fatalf("without the prefix: exit %d, stderr %q; want exit 1 saying %q", code, stderr, want)
	}
	t.Logf("without the prefix: %s", strings.TrimSpace(stderr[strings.LastIndex(stderr[:len(stderr)-1], "\n")+1:]))
	env["WINNOW_NATS_INBOX_PREFIX"] = "_INBOX_winnow"
	if code, stderr := runUntilReady(t, s.ClientURL(), env); code != exitOK {
		t.Fatalf("with nats.inbox_prefix: exit %d: %s", code, stderr)
	}
}

// TestDeniedJetStreamAPIFailsStartup: a user the server will not let call a
// JetStream API winnow needs (here, creating its consumer) fails start-up
// after one attempt, saying so. Before, the refused call timed out, start-up
// tried again for nats.startup_wait (2 min; runUntilReady gives up after
// 20 s) and then blamed too few servers.
func TestDeniedJetStreamAPIFailsStartup(t *testing.T) {
	s := natstest.Start(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "winnow", Password: "pw", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{">"}, Deny: []string{"$JS.API.CONSUMER.CREATE.>"}},
		}}}
	})
	code, stderr := runUntilReady(t, s.ClientURL(), map[string]string{"WINNOW_NATS_USER": "winnow", "WINNOW_NATS_PASSWORD": "pw"})
	want := `as the server refused a JetStream call: nats: permissions violation: Permissions Violation for Publish to "$JS.API.CONSUMER.CREATE.WINNOW_RAW`
	if code != exitFatal || !strings.Contains(stderr, want) || strings.Contains(stderr, "waiting for JetStream") {
		t.Fatalf("exit %d, stderr %q; want exit 1 at the first attempt saying %q", code, stderr, want)
	}
}

// TestCredentialsInURLStayOutOfLogs: a password or token given in the NATS
// URL (nats://user:pass@host, nats://token@host) is masked where the URL is
// printed: the "connected" log line, a failed connection's error,
// --check-config. Before, each printed it.
func TestCredentialsInURLStayOutOfLogs(t *testing.T) {
	for _, c := range []struct {
		name, userinfo, wrong string
		server                func(*server.Options)
	}{
		{"password", "winnow:s3cret-pw@", "winnow:wrong-pw@", func(o *server.Options) { o.Username, o.Password = "winnow", "s3cret-pw" }},
		{"token", "s3cret-tok@", "wrong-tok@", func(o *server.Options) { o.Authorization = "s3cret-tok" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := natstest.Start(t, c.server)
			good := strings.Replace(s.ClientURL(), "nats://", "nats://"+c.userinfo, 1)
			bad := strings.Replace(s.ClientURL(), "nats://", "nats://"+c.wrong, 1)
			secret := func(userinfo string) string {
				return strings.TrimSuffix(userinfo[strings.Index(userinfo, ":")+1:], "@")
			}
			code, stderr := runUntilReady(t, good, nil)
			if code != exitOK || strings.Contains(stderr, secret(c.userinfo)) || !strings.Contains(stderr, "xxxxx@127.0.0.1") {
				t.Fatalf("good URL: exit %d, stderr %s", code, stderr)
			}
			code, stderr = runUntilReady(t, bad, nil)
			if code != exitFatal || strings.Contains(stderr, secret(c.wrong)) || !strings.Contains(strings.ToLower(stderr), "authorization violation") {
				t.Fatalf("wrong credential: exit %d, stderr %s", code, stderr)
			}
			var out bytes.Buffer
			if code := Main(context.Background(), []string{"run", "--check-config", "--nats-url", good}, nil, &out, &bytes.Buffer{}); code != exitOK ||
				strings.Contains(out.String(), secret(c.userinfo)) {
				t.Fatalf("--check-config: exit %d: %s", code, out.String())
			}
		})
	}
}

// TestExitWhenTheConnectionIsClosedForGood: a connection nats.go closes by
// itself never comes back (here the server refused the worker's password
// twice after it was changed; a protocol line the server refused does the
// same). winnow run then stops with an error naming why, so its
// orchestrator starts it again: it stopped "cleanly" with exit 0, or,
// holding documents through an outage (paused), stayed up unready.
func TestExitWhenTheConnectionIsClosedForGood(t *testing.T) {
	var opts server.Options
	s := natstest.Start(t, func(o *server.Options) {
		o.Username, o.Password = "winnow", "s3cret"
		opts = *o
	})
	t.Setenv("WINNOW_NATS_USER", "winnow")
	t.Setenv("WINNOW_NATS_PASSWORD", "s3cret")
	// The server keeps the options it is given: each password goes in a
	// copy of its own, never changed once handed over.
	password := func(t *testing.T, p string) {
		t.Helper()
		o := opts
		o.Password = p
		if err := s.ReloadOptions(&o); err != nil {
			t.Fatal(err)
		}
	}
	for _, paused := range []bool{false, true} {
		t.Run(fmt.Sprintf("paused=%v", paused), func(t *testing.T) {
			password(t, "s3cret")
			r := startRun(t, s.ClientURL())
			waitReady(t, r, 20*time.Second)
			if paused { // holding documents through an outage: the output stream is full
				nc, err := nats.Connect(s.ClientURL(), nats.UserInfo("winnow", "s3cret"))
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				js, err := jetstream.New(nc)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				st, err := js.Stream(ctx, "WINNOW_OUT")
				if err != nil {
					t.Fatal(err)
				}
				cfg := st.CachedInfo().Config
				cfg.MaxMsgs, cfg.Discard = 1, jetstream.DiscardNew
				if _, err := js.UpdateStream(ctx, cfg); err != nil {
					t.Fatal(err)
				}
				for i := range 3 {
					if _, err := js.Publish(ctx, "docs.raw.t", []byte(fmt.Sprintf(`{"id":"p%d-%v","text":"A harbour at dawn."}`, i, paused))); err != nil {
						t.Fatal(err)
					}
				}
				nc.Close()
				for deadline := time.Now().Add(20 * time.Second); r.ready(); time.Sleep(50 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("not paused by a full output stream")
					}
				}
			}
			password(t, "rotated")
			select {
			case code := <-r.done:
				if log := r.stderr.String(); code != exitFatal || !strings.Contains(log, "nats connection closed") ||
					!strings.Contains(strings.ToLower(log), "authorization violation") {
					t.Errorf("exit %d: %s", code, log)
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("still running a minute after its connection closed: %s", r.stderr.String())
			}
		})
	}
}
