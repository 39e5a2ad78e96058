// Package natstest starts real nats-servers in-process for tests, as
// nats-server's own tests do: JetStream on, a random loopback port, a
// temporary store, shut down when the test ends.
package natstest

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
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
		s.Shutdown()
		t.Fatalf("nats-server not ready in 10 s%s", whyNotReady(o))
	}
	t.Cleanup(s.Shutdown)
	return s
}

// whyNotReady says, for each port the options fixed, whether another
// process holds it now that the server is down: a port a test picked free
// and let go can be taken before the server binds it, and NoLog hides the
// server's own "address already in use".
func whyNotReady(o *server.Options) string {
	var out []string
	for _, p := range []struct {
		name string
		port int
	}{{"client", o.Port}, {"cluster", o.Cluster.Port}, {"leaf", o.LeafNode.Port}} {
		if p.port <= 0 {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(p.port)))
		if err != nil {
			out = append(out, fmt.Sprintf("%s port %d taken by another process (%v)", p.name, p.port, err))
			continue
		}
		l.Close()
		out = append(out, fmt.Sprintf("%s port %d free", p.name, p.port))
	}
	if out == nil {
		return ""
	}
	return ": " + strings.Join(out, ", ")
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

// Cluster is an in-process JetStream cluster of three or more servers on
// loopback, as deploy/compose.yaml runs one, whose servers a test can
// restart the way an operator rolls a cluster: lame duck mode first.
type Cluster struct {
	Servers []*server.Server
	t       testing.TB
	opts    []*server.Options
	routes  []*url.URL
}

// StartCluster starts n servers named n1, n2, ... in cluster "w", each
// with its own store, and waits until every one is routed to the others
// and its JetStream is current. Lame duck mode lasts 2s, 0.5s of it grace.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	// A clustered JetStream server needs its routes when it starts, so the
	// cluster ports are chosen first (each a port the kernel just handed
	// out and took back).
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.routes = append(c.routes, &url.URL{Scheme: "nats", Host: l.Addr().String()})
		l.Close()
	}
	for i := range n {
		var opts *server.Options
		port, _ := strconv.Atoi(c.routes[i].Port())
		s := Start(t, func(o *server.Options) {
			opts = o // nats-server writes the client port it chose back here
			o.ServerName = fmt.Sprint("n", i+1)
			o.Cluster.Name, o.Cluster.Host, o.Cluster.Port = "w", "127.0.0.1", port
			o.Routes = c.routes
			o.LameDuckDuration, o.LameDuckGracePeriod = 2*time.Second, 500*time.Millisecond
		})
		c.Servers, c.opts = append(c.Servers, s), append(c.opts, opts)
	}
	c.WaitCurrent()
	return c
}

// URLs lists the servers' client URLs, comma-separated, as a client
// configured with the whole cluster has them.
func (c *Cluster) URLs() string {
	var urls []string
	for _, s := range c.Servers {
		urls = append(urls, s.ClientURL())
	}
	return strings.Join(urls, ",")
}

// WaitCurrent waits (up to 30s) until every server is routed to all the
// others and its JetStream is current.
func (c *Cluster) WaitCurrent() {
	c.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		current := true
		for _, s := range c.Servers {
			routed := map[string]bool{}
			if rz, err := s.Routez(nil); err == nil {
				for _, r := range rz.Routes {
					routed[r.RemoteName] = true
				}
			}
			current = current && len(routed) == len(c.Servers)-1 && s.JetStreamIsCurrent()
		}
		if current {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatal("the cluster was not current after 30s")
		}
	}
}

// Restart puts server i in lame duck mode, as `nats-server --signal ldm`
// (the NATS Helm chart's preStop hook) does: it hands off its Raft
// leaders, stops taking clients and closes those it has over the lame
// duck period. Then Restart waits until it is down, starts it again on
// the same ports and store, and waits until the cluster is current.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Servers[i].LameDuckShutdown()
	c.Servers[i].WaitForShutdown()
	c.Servers[i] = Start(c.t, func(o *server.Options) { *o = *c.opts[i].Clone() }) // the same ports and store
	c.WaitCurrent()
}
