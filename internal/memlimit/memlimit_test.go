package memlimit

import (
	"testing"
	"testing/fstest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

// TestContainer reads the limit as Docker and Kubernetes set it: cgroup v2
// at a namespace's root or on a parent, cgroup v1 (a hybrid machine's
// memory controller), none at all.
func TestContainer(t *testing.T) {
	for name, c := range map[string]struct {
		fs        fstest.MapFS
		limit     int64
		file      string
		wantError bool
	}{
		"v2 container": {fs: fstest.MapFS{
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("1073741824\n"),
		}, limit: 1 << 30, file: "/sys/fs/cgroup/memory.max"},
		"v2 no limit": {fs: fstest.MapFS{
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("max\n"),
		}},
		"v2 parent lower": {fs: fstest.MapFS{
			"proc/self/cgroup":                          file("0::/kubepods/pod1/c1\n"),
			"sys/fs/cgroup/kubepods/pod1/c1/memory.max": file("max\n"),
			"sys/fs/cgroup/kubepods/pod1/memory.max":    file("536870912\n"),
			"sys/fs/cgroup/kubepods/memory.max":         file("8589934592\n"),
		}, limit: 512 << 20, file: "/sys/fs/cgroup/kubepods/pod1/memory.max"},
		"v1 hybrid": {fs: fstest.MapFS{
			"proc/self/cgroup": file("9:name=systemd:/\n4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/\n"),
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": file("268435456\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes":            file("9223372036854771712\n"),
		}, limit: 256 << 20, file: "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes"},
		"v1 namespaced, unlimited": {fs: fstest.MapFS{
			"proc/self/cgroup":                           file("4:memory:/\n0::/\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("9223372036854771712\n"),
		}},
		"not linux": {fs: fstest.MapFS{}},
		"garbled": {fs: fstest.MapFS{
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("lots\n"),
		}, wantError: true},
	} {
		limit, f, err := Container(c.fs)
		if (err != nil) != c.wantError || limit != c.limit || f != c.file {
			t.Errorf("%s: %d, %q, %v; want %d, %q (error %v)", name, limit, f, err, c.limit, c.file, c.wantError)
		}
	}
}
