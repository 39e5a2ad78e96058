// Package natstest starts real nats-servers in-process for tests, as
// nats-server's own tests do: JetStream on, a random loopback port, a
// temporary store, shut down when the test ends.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Start runs a JetStream server on 127.0.0.1 and a random port, with its
// store in t.TempDir(), after opt (when not nil) has adjusted the options:
// limits, users, TLS. It fails the test if the server does not start.
func Start(t testing.TB, opt func(*server.Options)) *server.Server {
	t.Helper()
	o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	if opt != nil {
		opt(o)
	}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s
}
