package main

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// build says which code a binary is: its version, the commit it was built
// from (as go build stamps it in a git checkout; "" otherwise, as in tests)
// with "+modified" when the tree had changes, and the Go release.
type build struct {
	Version, Commit, Go string
}

func buildOf() build {
	b := build{Version: version, Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
			if len(b.Commit) > 12 {
				b.Commit = b.Commit[:12]
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if b.Commit != "" && modified {
		b.Commit += "+modified"
	}
	return b
}

func (b build) String() string {
	s := "winnow " + b.Version
	if b.Commit != "" {
		s += ", commit " + b.Commit
	}
	return fmt.Sprintf("%s, %s", s, b.Go)
}

// register adds winnow_build_info{version,commit,goversion} 1, the
// Prometheus convention for telling apart the binaries of a fleet (during a
// rolling upgrade, say).
func (b build) register(reg prometheus.Registerer) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "winnow_build_info",
		Help:        "Always 1; its labels say which build of winnow this process runs.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.Go},
	})
	g.Set(1)
	reg.MustRegister(g)
}

// memLimit writes a Go memory limit as GOMEMLIMIT is written ("900MiB",
// "off"), for the start line: the runtime reports "no limit" as the
// largest int64.
func memLimit(n int64) string {
	if n == math.MaxInt64 {
		return "off"
	}
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}
