// Package natstest starts real nats-servers in-process for tests, as
// nats-server's own tests do: JetStream on, a random loopback port, a
// temporary store, shut down when the test ends.
package natstest

import (
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
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
// cluster, the leaf connected through link, and waits until it is.
func HubAndLeaf(t testing.TB) (hub, leaf *server.Server, link *Link) {
	t.Helper()
	var hubOpts *server.Options
	hub = Start(t, func(o *server.Options) {
		hubOpts = o // nats-server writes the leaf port it chose back here
		o.ServerName, o.JetStreamDomain = "hub", "hub"
		o.LeafNode.Host, o.LeafNode.Port = "127.0.0.1", -1
	})
	link = newLink(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(hubOpts.LeafNode.Port)))
	remote := &url.URL{Scheme: "nats", Host: link.l.Addr().String()}
	leaf = Start(t, func(o *server.Options) {
		o.ServerName, o.JetStreamDomain = "leaf", "leaf"
		o.LeafNode.Remotes = []*server.RemoteLeafOpts{{URLs: []*url.URL{remote}}}
	})
	link.hub, link.leaf = hub, leaf
	link.WaitUp(t)
	return hub, leaf, link
}

// Link is the TCP relay between a leaf node and its hub (HubAndLeaf) that
// a test can cut, as a network partition would, and mend.
type Link struct {
	l         net.Listener
	target    string
	hub, leaf *server.Server
	mu        sync.Mutex
	down      bool
	conns     []net.Conn
}

func newLink(t testing.TB, target string) *Link {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := &Link{l: l, target: target}
	t.Cleanup(func() { l.Close(); k.Cut() })
	go k.accept()
	return k
}

func (k *Link) accept() {
	for {
		c, err := k.l.Accept()
		if err != nil {
			return
		}
		k.mu.Lock()
		var u net.Conn
		if !k.down {
			u, err = net.Dial("tcp", k.target)
		}
		if k.down || err != nil {
			k.mu.Unlock()
			c.Close()
			continue
		}
		k.conns = append(k.conns, c, u)
		k.mu.Unlock()
		go relay(c, u)
		go relay(u, c)
	}
}

func relay(from, to net.Conn) {
	io.Copy(to, from)
	from.Close()
	to.Close()
}

// Cut closes every connection through the link and refuses new ones until
// Mend.
func (k *Link) Cut() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.down = true
	for _, c := range k.conns {
		c.Close()
	}
	k.conns = nil
}

// Mend lets connections through again.
func (k *Link) Mend() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.down = false
}

// WaitUp waits until the hub and the leaf see each other over the link and
// the hub's JetStream (domain "hub") answers a client of the leaf.
func (k *Link) WaitUp(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for k.hub.NumLeafNodes() != 1 || k.leaf.NumLeafNodes() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the leaf node did not connect to the hub in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The hub's interest in its JetStream API reaches the leaf after the
	// connection counts: until then a request for domain "hub" made on the
	// leaf meets no responders (CI saw "jetstream not enabled" so).
	nc, err := nats.Connect(k.leaf.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for {
		_, err := nc.Request("$JS.hub.API.INFO", nil, time.Second)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub's JetStream did not answer through the leaf in 10s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
