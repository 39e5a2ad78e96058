# Shared helpers for the end-to-end scripts. Source it; do not run it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CORPUS=${WINNOW_CORPUS:-$ROOT/../shared/corpus}
CACHE=${WINNOW_CACHE:-$ROOT/.cache}
NATSCLI_VERSION=v0.5.0
export GOFLAGS=${GOFLAGS:--buildvcs=false}

# e2e_workdir makes $work, a temporary directory, and an empty pids array,
# and arranges that on exit cleanup_extra runs (when the script defines
# one), every process in pids is killed and reaped, and $work is removed;
# a script that failed first prints the end of each log in $work (the
# worker's, the server's), which go with it.
e2e_workdir() {
	work=$(mktemp -d)
	pids=()
	trap e2e_cleanup EXIT
}

e2e_cleanup() {
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		for f in "$work"/*.log; do
			[ -s "$f" ] || continue
			printf '== last lines of %s\n' "$(basename "$f")" >&2
			tail -n 30 "$f" >&2
		done
	fi
	if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done # not a bare wait: it would wait for a stderr filter too
	rm -rf "$work"
}

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

# free_port prints a TCP port nothing listens on.
free_port() {
	python3 - <<'PY'
import random, socket
# Below the kernel's ephemeral range where there is room: a port from it may
# meanwhile become an outgoing connection's source port (a cluster node
# dialling a route not yet up) and the server started on it fail to bind.
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
for port in [random.randrange(10000, low) for _ in range(100)] if low > 10000 else []:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# need_natscli installs the nats CLI (pinned) into $CACHE/bin and prints its path.
need_natscli() {
	local bin="$CACHE/bin/nats"
	if [ ! -x "$bin" ] || ! "$bin" --version 2>/dev/null | grep -q "${NATSCLI_VERSION#v}"; then
		log "installing nats CLI $NATSCLI_VERSION"
		mkdir -p "$CACHE/bin"
		(cd "$ROOT" && GOBIN="$CACHE/bin" go install "github.com/nats-io/natscli/nats@$NATSCLI_VERSION")
	fi
	echo "$bin"
}

# need_promtool prints the path of a promtool: the one on PATH, or one
# taken out of Debian's prometheus package (downloaded, not installed: no
# root, no service) into $CACHE/bin.
need_promtool() {
	if command -v promtool >/dev/null; then command -v promtool; return; fi
	local bin="$CACHE/bin/promtool"
	if [ ! -x "$bin" ]; then
		log "fetching promtool from Debian's prometheus package"
		local tmp
		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) || { rm -rf "$tmp"; fail "apt-get download prometheus failed"; }
		dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
		mkdir -p "$CACHE/bin"
		cp "$tmp/x/usr/bin/promtool" "$bin"
		rm -rf "$tmp"
	fi
	echo "$bin"
}

# build_binaries builds winnow and nats-server (from the module's own
# nats-server/v2 dependency) into $1.
build_binaries() {
	(cd "$ROOT" && go build -o "$1/winnow" ./cmd/winnow && go build -o "$1/nats-server" github.com/nats-io/nats-server/v2)
}

# wait_until CMD... retries CMD every 0.2s for up to $WAIT seconds (default 30).
wait_until() {
	local deadline=$(( $(date +%s) + ${WAIT:-30} ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# metric NAME{labels} prints a metric's value from a winnow /metrics URL ($2).
metric() {
	curl -fs "$2" | awk -v m="$1" 'index($0, m" ") == 1 { print $2 }'
}

# nats_conf PORT STOREDIR FILE writes a nats-server config: loopback only,
# JetStream in STOREDIR, 8 MB max payload (winnow's records can be larger
# than its 1 MiB input limit).
nats_conf() {
	cat >"$3" <<CONF
listen: 127.0.0.1:$1
max_payload: 8MB
jetstream { store_dir: "$2" }
CONF
}

# wait_port PORT waits until something accepts connections on it.
wait_port() {
	WAIT=${WAIT:-30} wait_until bash -c "echo >/dev/tcp/127.0.0.1/$1"
}
