package natstest

import (
	"net"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// TestWhyNotReadyNamesATakenPort: a server that cannot bind its fixed port
// (NoLog hides its own error) is reported with the port another process
// holds.
func TestWhyNotReadyNamesATakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	got := whyNotReady(&server.Options{Host: "127.0.0.1", Port: port})
	if !strings.Contains(got, "taken by another process") {
		t.Fatal(got)
	}
}
