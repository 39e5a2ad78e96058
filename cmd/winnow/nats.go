package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/winnow-dev/winnow/worker"
)

// startEmbedded runs nats-server with JetStream in this process. A busy
// port is reported as such, before the server tries it.
func startEmbedded(c EmbeddedConfig, domain string, log *zap.Logger) (*server.Server, error) {
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	if c.Port != 0 {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("embedded nats-server: cannot listen on %s (is another NATS server running? set embedded.port, or nats.url to use it): %w", addr, err)
		}
		l.Close()
	}
	port := c.Port
	if port == 0 {
		port = -1 // nats-server's "any free port"
	}
	s, err := server.NewServer(&server.Options{
		ServerName: "winnow-embedded", Host: c.Host, Port: port, JetStream: true, StoreDir: c.StoreDir, JetStreamDomain: domain,
		MaxPayload: int32(c.MaxPayload), NoSigs: true, NoLog: true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(15 * time.Second) {
		s.Shutdown()
		return nil, errors.New("embedded nats-server: not ready after 15s")
	}
	log.Info("embedded nats-server listening", zap.String("url", s.ClientURL()), zap.String("store_dir", c.StoreDir))
	return s, nil
}

// connect dials NATS with the configured auth and TLS. Start-up fails fast
// on a wrong credential; later disconnects reconnect forever.
func connect(url string, c NATSConfig, log *zap.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(c.Name), nats.Timeout(c.ConnectTimeout), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		// nats.go calls the disconnect handler on Close and Drain too: a
		// shutdown is no disconnect to warn about. A connection that closes
		// by itself (nats.go gives up on a server refusing it) is.
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if !nc.IsClosed() {
				log.Warn("nats disconnected", zap.Error(err))
			}
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Warn("nats connection closed", zap.Error(err))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", zap.String("server", nc.ConnectedServerName()), zap.String("url", redactURLs(nc.ConnectedUrl())))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Warn("nats error", zap.Error(err)) }),
		// A server put in lame duck mode (`nats-server --signal ldm`, which
		// the NATS Helm chart's preStop hook sends) says so before it
		// closes its clients over its lame duck period; the connection
		// then moves to another server of the cluster by itself.
		nats.LameDuckModeHandler(func(nc *nats.Conn) {
			log.Info("nats server entering lame duck mode; the connection moves to another server when it closes",
				zap.String("server", nc.ConnectedServerName()), zap.String("url", redactURLs(nc.ConnectedUrl())))
		}),
	}
	switch {
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	case c.NKeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(c.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats: nkey_seed_file: %w", err)
		}
		opts = append(opts, o)
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(c.InboxPrefix))
	}
	if c.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(c.TLS.CA))
	}
	if c.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(c.TLS.Cert, c.TLS.Key))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w%s", redactURLs(url), err, paddedCredential(err, c))
	}
	if err := inboxAllowed(nc, c.ConnectTimeout); err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

// inboxAllowed subscribes to an inbox, as every JetStream call's answer and
// every pulled message arrives on one, and returns the server's refusal in
// words an operator can act on. (Without it a user who may not subscribe
// there waited out nats.startup_wait for JetStream "to answer" and failed
// with "context deadline exceeded".)
func inboxAllowed(nc *nats.Conn, timeout time.Duration) error {
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("nats: subscribe to %s: %w", inbox, err)
	}
	defer sub.Unsubscribe()
	// The server answers the flush's PING after the SUB, so a refusal has
	// been read (and kept as the connection's last error) when it returns.
	if err := nc.FlushTimeout(timeout); err != nil {
		return fmt.Errorf("nats: subscribe to %s: %w", inbox, err)
	}
	if err := nc.LastError(); errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), inbox) {
		prefix, _, _ := strings.Cut(inbox, ".")
		return fmt.Errorf("%w: the user may not subscribe to its reply inbox; allow it %s.> or set nats.inbox_prefix to a prefix it may subscribe below", err, prefix)
	}
	return nil
}

// connectWaiting connects as connect does and, while no server answers
// (not up yet, or unreachable: nats.ErrNoServers), tries again every
// second, doubling to 5 s, for up to c.StartupWait, so that a worker
// started beside its NATS servers (a compose project, pods rescheduled
// together) waits for them instead of exiting to be restarted. Any other
// error (a wrong credential, a TLS failure) fails at once. It returns a
// nil connection and no error when ctx ends first.
func connectWaiting(ctx context.Context, url string, c NATSConfig, log *zap.Logger, st *startup) (nc *nats.Conn, err error) {
	st.at("connecting to NATS at " + redactURLs(url))
	var since time.Time
	err = worker.StartupRetry{
		Wait:  c.StartupWait,
		Again: func(err error) bool { return errors.Is(err, nats.ErrNoServers) },
		Waiting: func(err error, retryIn time.Duration) {
			log.Warn("waiting for NATS", zap.String("url", redactURLs(url)), zap.Duration("retry_in", retryIn), zap.Error(err))
			if since.IsZero() {
				since = time.Now()
			}
			st.at(fmt.Sprintf("waiting for NATS at %s since %s (%s ago): %v", redactURLs(url),
				since.UTC().Format(time.RFC3339), time.Since(since).Round(time.Second), err))
		},
		GaveUp: func(err error) error { return fmt.Errorf("%w (waited %v: nats.startup_wait)", err, c.StartupWait) },
	}.Do(ctx, func() (err error) {
		nc, err = connect(url, c, log)
		return err
	})
	if err != nil && ctx.Err() != nil {
		return nil, nil
	}
	return nc, err
}

// paddedCredential says, after an authorization error, which credential
// starts or ends with white space: a Kubernetes Secret made from a file
// (kubectl create secret --from-file) holds the file's last line break,
// and NATS takes the value as it is sent.
func paddedCredential(err error, c NATSConfig) string {
	if !errors.Is(err, nats.ErrAuthorization) {
		return ""
	}
	for _, f := range []struct{ name, value string }{{"nats.user", c.User}, {"nats.password", c.Password}, {"nats.token", c.Token}} {
		if f.value != "" && strings.TrimSpace(f.value) != f.value {
			return fmt.Sprintf(" (%s starts or ends with white space, a line break perhaps, which is sent as it is)", f.name)
		}
	}
	return ""
}

// redactURLs returns a list of NATS URLs with the credentials any of them
// carries masked: a password, or a user part with no password, which NATS
// takes as a token. Logs, errors and --check-config print URLs through it.
// It reads the text as written, each URL between commas or white space
// (a list given with spaces, which Validate refuses and names), with or
// without a scheme: url.Parse refused the first and read "user:pw@host"
// as scheme "user", so their passwords were printed.
func redactURLs(urls string) string {
	return urlToken.ReplaceAllStringFunc(urls, redactURL)
}

// urlToken is one URL of a list.
var urlToken = regexp.MustCompile(`[^\s,]+`)

// redactURL masks the user information of one URL: what stands between
// "//" (or the start) and the last '@' before the path, query or fragment,
// its password after the first ':'.
func redactURL(u string) string {
	start := 0
	if i := strings.Index(u, "://"); i >= 0 {
		start = i + 3
	}
	end := len(u)
	if rest := strings.IndexAny(u[start:], "/?#"); rest >= 0 {
		end = start + rest
	}
	at := strings.LastIndexByte(u[start:end], '@')
	if at < 0 {
		return u
	}
	at += start
	if colon := strings.IndexByte(u[start:at], ':'); colon >= 0 {
		return u[:start+colon+1] + urlSecretMask + u[at:]
	}
	return u[:start] + urlSecretMask + u[at:]
}
