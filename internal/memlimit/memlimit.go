// Package memlimit reads the memory limit of the container a process runs
// in, so that the Go runtime can be told to collect harder before the
// kernel's OOM killer steps in (GOMEMLIMIT), without a second number to keep
// in step with the container's.
package memlimit

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// unlimited is the least a cgroup v1 memory.limit_in_bytes reads when no
// limit is set (the page-rounded maximum of a 64-bit counter).
const unlimited = 1 << 62

// Container returns the memory limit of the cgroup the process belongs to,
// or of the nearest of its ancestors that has one, read from the file
// system fsys holds ("/" for the machine's; tests give a directory): cgroup
// v2's memory.max, else cgroup v1's memory.limit_in_bytes. It returns 0 and
// no error when no cgroup limits the process, and the file the limit came
// from.
func Container(fsys fs.FS) (limit int64, file string, err error) {
	groups, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, "", nil // not Linux
	} else if err != nil {
		return 0, "", err
	}
	// Lines are hierarchy-ID:controllers:path; "0::/path" is cgroup v2.
	var v2, v1 string
	haveV2, haveV1 := false, false
	sc := bufio.NewScanner(bytes.NewReader(groups))
	for sc.Scan() {
		id, rest, _ := strings.Cut(sc.Text(), ":")
		controllers, p, ok := strings.Cut(rest, ":")
		switch {
		case !ok:
		case id == "0" && controllers == "":
			v2, haveV2 = p, true
		case slices.Contains(strings.Split(controllers, ","), "memory"):
			v1, haveV1 = p, true
		}
	}
	// A cgroup's own path, and the root a cgroup namespace shows a container.
	if haveV1 {
		if limit, file, err := lowest(fsys, "sys/fs/cgroup/memory", v1, "memory.limit_in_bytes"); limit > 0 || err != nil {
			return limit, file, err
		}
	}
	if haveV2 {
		return lowest(fsys, "sys/fs/cgroup", v2, "memory.max")
	}
	return 0, "", nil
}

// lowest returns the lowest limit named name on the way from the cgroup at
// mount/group up to mount, and the file it read: a limit on a parent holds
// its children too. Inside a cgroup namespace the group path is "/" and the
// mount's own file is the container's.
func lowest(fsys fs.FS, mount, group, name string) (limit int64, file string, err error) {
	dir := path.Join(mount, path.Clean("/" + group)[1:])
	for {
		f := path.Join(dir, name)
		b, rerr := fs.ReadFile(fsys, f)
		switch {
		case errors.Is(rerr, fs.ErrNotExist):
		case rerr != nil:
			return 0, "", rerr
		default:
			s := strings.TrimSpace(string(b))
			if s != "max" {
				n, perr := strconv.ParseInt(s, 10, 64)
				if perr != nil {
					return 0, "", &fs.PathError{Op: "parse", Path: "/" + f, Err: perr}
				}
				if n > 0 && n < unlimited && (limit == 0 || n < limit) {
					limit, file = n, "/"+f
				}
			}
		}
		if dir == mount {
			return limit, file, nil
		}
		dir = path.Dir(dir)
	}
}

// Root is the machine's file system, for Container.
func Root() fs.FS { return os.DirFS("/") }
