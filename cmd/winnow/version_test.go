package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/winnow-dev/winnow/internal/natstest"
)

// TestVersion: `winnow version` and `winnow --version` say the version and
// the Go release; a running worker logs them at start and exports them as
// winnow_build_info, so an operator can tell the builds of a fleet apart.
// (A test binary carries no commit: go test does not stamp one.)
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), args, nil, &out, &errb); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		if want := "winnow dev, " + runtime.Version() + "\n"; out.String() != want {
			t.Errorf("%v: %q, want %q", args, out.String(), want)
		}
	}

	s := natstest.Start(t, nil)
	r := startRun(t, s.ClientURL())
	waitReady(t, r, 20*time.Second)
	if !strings.Contains(r.stderr.String(), `"msg":"winnow starting","version":"dev","commit":"","go":"`+runtime.Version()+`"`) ||
		!strings.Contains(r.stderr.String(), `"gomemlimit":"off"`) || !strings.Contains(r.stderr.String(), `"config":"none","policy":"none"}`) {
		t.Errorf("no start line with the version: %s", r.stderr.String())
	}
	resp, err := http.Get(r.base() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `winnow_build_info{commit="",goversion="` + runtime.Version() + `",version="dev"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	r.cancel()
	if code := <-r.done; code != exitOK {
		t.Fatalf("exit %d: %s", code, r.stderr.String())
	}
}

// TestMemLimit: the start line writes the memory limit as GOMEMLIMIT takes it.
func TestMemLimit(t *testing.T) {
	for n, want := range map[int64]string{math.MaxInt64: "off", 900 << 20: "900MiB", 1 << 30: "1GiB",
		3 << 40: "3TiB", 1536: "1536B", 2048: "2KiB", 1000: "1000B", 0: "0B"} {
		if got := memLimit(n); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
}

// TestBuildString: the commit is shown when the build has one.
func TestBuildString(t *testing.T) {
	b := build{Version: "1.2.0", Commit: "0123456789ab+modified", Go: "go1.26.8"}
	if got, want := b.String(), "winnow 1.2.0, commit 0123456789ab+modified, go1.26.8"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

// TestContainerMemLimit: without GOMEMLIMIT, the Go memory limit is 90% of
// the container's, in whole MiB; with it, the runtime's own is left alone.
func TestContainerMemLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	container := fstest.MapFS{
		"proc/self/cgroup":         {Data: []byte("0::/\n")},
		"sys/fs/cgroup/memory.max": {Data: []byte("1073741824\n")},
	}
	if from := containerMemLimit(container, noEnv); from != "90% of the container's 1GiB (/sys/fs/cgroup/memory.max)" ||
		debug.SetMemoryLimit(-1) != 921<<20 {
		t.Errorf("container limit: %q, Go limit %d", from, debug.SetMemoryLimit(-1))
	}
	debug.SetMemoryLimit(before)
	if from := containerMemLimit(container, oneEnv("GOMEMLIMIT", "500MiB")); from != "GOMEMLIMIT" || debug.SetMemoryLimit(-1) != before {
		t.Errorf("GOMEMLIMIT set: %q, Go limit %d", from, debug.SetMemoryLimit(-1))
	}
	if from := containerMemLimit(fstest.MapFS{}, noEnv); from != "none: no container limit" || debug.SetMemoryLimit(-1) != before {
		t.Errorf("no container: %q, Go limit %d", from, debug.SetMemoryLimit(-1))
	}
}
