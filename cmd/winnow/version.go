package main

import (
	"fmt"
	"io/fs"
	"math"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/winnow-dev/winnow/internal/memlimit"
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

// containerMemLimit sets the Go runtime's memory limit to 90% of the
// container's (cgroup) memory limit, as deploy/k8s once set GOMEMLIMIT by
// hand: near the limit the collector works harder instead of the kernel
// killing the process; the rest is the binary's mappings and what the
// kernel holds for it. A GOMEMLIMIT in the environment (off included) is
// left to the runtime. It says where the limit came from, for the start
// line.
func containerMemLimit(fsys fs.FS, lookupEnv func(string) (string, bool)) string {
	if v, ok := lookupEnv("GOMEMLIMIT"); ok && v != "" {
		return "GOMEMLIMIT"
	}
	limit, file, err := memlimit.Container(fsys)
	switch {
	case err != nil:
		return "none: the container's limit is unreadable: " + err.Error()
	case limit == 0:
		return "none: no container limit"
	}
	set := limit / 10 * 9
	if set >= 64<<20 {
		set &^= 1<<20 - 1 // whole MiB, as the start line writes it
	}
	debug.SetMemoryLimit(set)
	return fmt.Sprintf("90%% of the container's %s (%s)", memLimit(limit), file)
}
