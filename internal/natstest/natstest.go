// Package natstest starts real nats-servers in-process for tests, as
// nats-server's own tests do: JetStream on, a random loopback port, a
// temporary store, shut down when the test ends.
package natstest

import (
	"net"
	"net/url"
	"strconv"
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

// HubAndLeaf starts a hub with JetStream domain "hub" and a leaf node of it
// with JetStream domain "leaf", as a site runs one beside a central
// cluster, and waits until the leaf is connected.
func HubAndLeaf(t testing.TB) (hub, leaf *server.Server) {
	t.Helper()
	var hubOpts *server.Options
	hub = Start(t, func(o *server.Options) {
		hubOpts = o // nats-server writes the leaf port it chose back here
		o.ServerName, o.JetStreamDomain = "hub", "hub"
		o.LeafNode.Host, o.LeafNode.Port = "127.0.0.1", -1
	})
	remote := &url.URL{Scheme: "nats", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(hubOpts.LeafNode.Port))}
	leaf = Start(t, func(o *server.Options) {
		o.ServerName, o.JetStreamDomain = "leaf", "leaf"
		o.LeafNode.Remotes = []*server.RemoteLeafOpts{{URLs: []*url.URL{remote}}}
	})
	for deadline := time.Now().Add(10 * time.Second); hub.NumLeafNodes() != 1 || leaf.NumLeafNodes() != 1; {
		if time.Now().After(deadline) {
			t.Fatal("the leaf node did not connect to the hub in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return hub, leaf
}
