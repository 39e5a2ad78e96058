#!/usr/bin/env bash
# Deployment end to end: build the images, bring up deploy/compose.yaml (3-node
# NATS JetStream cluster, 3 winnow replicas sharing one durable consumer and
# the KV dedupe state), publish the bench corpus as the crawler user, kill one
# winnow container and one NATS node mid-stream and bring them back, then
# check that every document ended as exactly one outcome with no id twice;
# roll the NATS cluster through lame duck mode while 6,000 more are published
# and check again; check that the worker's NATS user is refused outside its
# permissions, that the image is non-root and under 30 MB, that it cleans the
# bench corpus as a batch job in 72 MiB, that its health check follows the
# port the container sets, and that a replica stopped with SIGTERM turns
# unready, drains and exits 0. Everything is torn down, even on failure.
source "$(dirname "$0")/../scripts/lib.sh"

P=winnow-e2e-$$
DC=(docker-compose -p "$P" -f "$ROOT/deploy/compose.yaml")
docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null && DC=(docker compose -p "$P" -f "$ROOT/deploy/compose.yaml")
work=$(mktemp -d)
cleanup() {
	"${DC[@]}" logs --no-color >"$work/compose.log" 2>&1 || true
	[ "${KEEP_LOGS:-}" ] && cp "$work/compose.log" "$KEEP_LOGS"
	"${DC[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
export TAG=${TAG:-e2e}

log "building images"
bash "$ROOT/deploy/build-images.sh" 2>/dev/null
(cd "$ROOT" && go build -o "$work/winnow" ./cmd/winnow)
W="$work/winnow"
NATS=$(need_natscli)

size=$(docker image inspect -f '{{.Size}}' "winnow/winnow:$TAG")
user=$(docker image inspect -f '{{.Config.User}}' "winnow/winnow:$TAG")
[ "$size" -lt $((30 * 1000 * 1000)) ] || fail "image is $size bytes, over 30 MB"
[ "$user" = "65532:65532" ] || fail "image runs as '$user', not non-root"
rev=$(git -C "$ROOT" rev-parse HEAD)
label=$(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.revision"}}' "winnow/winnow:$TAG")
[ "$label" = "$rev" ] || fail "image's revision label is '$label', not $rev"
built=$(docker run --rm "winnow/winnow:$TAG" version)
case "$built" in "winnow $TAG, commit ${rev:0:12}"*) ;; *) fail "the image's winnow version says '$built'" ;; esac
log "image winnow/winnow:$TAG: $((size / 1000000)) MB, user $user; $built"

# The image as a batch job: `winnow clean` in a container of 72 MiB takes its
# Go memory limit from it (90%) and writes the records the host writes. It
# took none: the bench corpus's peak (about 95 MB) got it killed (137).
corpus=$(cd "$CORPUS" && pwd -P)
"$W" clean -quiet "$corpus/bench.jsonl.gz" | md5sum >"$work/host.md5"
rc=0
docker run --rm --memory 72m --memory-swap 72m -v "$corpus:/corpus:ro" "winnow/winnow:$TAG" clean -quiet /corpus/bench.jsonl.gz >"$work/job.jsonl" || rc=$?
[ "$rc" = 0 ] || fail "winnow clean in a 72 MiB container: exit $rc"
md5sum <"$work/job.jsonl" | cmp -s - "$work/host.md5" || fail "winnow clean in a 72 MiB container wrote other records than on the host"
log "winnow clean in a 72 MiB container: $(wc -l <"$work/job.jsonl") records, as on the host"
rm "$work/job.jsonl"

# The image's health check follows the port the container sets: it probed
# 127.0.0.1:8080 whatever WINNOW_HTTP_ADDR said, so this one stayed unhealthy.
moved="$P-port"
docker run -d --name "$moved" -e WINNOW_HTTP_ADDR=0.0.0.0:9090 "winnow/winnow:$TAG" >/dev/null
moved_healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$moved")" = healthy ]; }
ok=0
WAIT=60 wait_until moved_healthy || ok=$?
health=$(docker inspect -f '{{json .State.Health}}' "$moved" | head -c 600)
docker rm -f "$moved" >/dev/null
[ "$ok" = 0 ] || fail "a container on port 9090 is not healthy: $health"
log "a container with WINNOW_HTTP_ADDR=0.0.0.0:9090 turned healthy"

"${DC[@]}" up -d >/dev/null 2>&1
healthy() {
	local s id
	for s in winnow-1 winnow-2 winnow-3 nats-1 nats-2 nats-3; do
		id=$("${DC[@]}" ps -q "$s")
		[ "$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" = healthy ] || return 1
	done
}
WAIT=180 wait_until healthy || { "${DC[@]}" ps; "${DC[@]}" logs --tail=20; fail "stack not healthy"; }
log "stack healthy"
# Each replica took its Go memory limit from the container's (mem_limit 1g).
docker logs "$("${DC[@]}" ps -q winnow-1)" >"$work/start.log" 2>&1
grep -o '"gomemlimit":"[^"]*","gomemlimit_from":"[^"]*"' "$work/start.log" | head -1 >"$work/memlimit" || true
grep -q '"gomemlimit":"921MiB","gomemlimit_from":"90% of the container.s 1GiB' "$work/memlimit" ||
	fail "winnow-1 did not take its memory limit from the container: $(cat "$work/memlimit") $(head -c 600 "$work/start.log")"
log "winnow-1 $(cat "$work/memlimit")"

ADMIN=nats://admin:${ADMIN_PASSWORD:-admin-dev}@127.0.0.1:4222
CRAWLER=nats://crawler:${CRAWLER_PASSWORD:-crawler-dev}@127.0.0.1:4222
WORKER=nats://winnow:${WINNOW_PASSWORD:-winnow-dev}@127.0.0.1:4222

# The worker's user may not publish raw documents nor read outside its inbox.
if "$NATS" -s "$WORKER" pub docs.raw.x hello >"$work/perm1" 2>&1 && ! grep -q "Permissions Violation" "$work/perm1"; then
	fail "the winnow user could publish to docs.raw.>"
fi
grep -q "Permissions Violation" "$work/perm1" || fail "no permissions violation for publish: $(cat "$work/perm1")"
timeout 5 "$NATS" -s "$WORKER" sub 'docs.clean.>' >"$work/perm2" 2>&1 || true
grep -q "Permissions Violation" "$work/perm2" || fail "the winnow user could subscribe to docs.clean.>: $(cat "$work/perm2")"
log "winnow user refused: publish docs.raw.x, subscribe docs.clean.>"

zcat "$CORPUS/bench.jsonl.gz" >"$work/bench.jsonl"
total=$(wc -l <"$work/bench.jsonl")
log "publishing $total documents as the crawler"
"$W" publish --nats-url "$CRAWLER" --subject docs.raw.e2e --rate "${E2E_RATE:-3000}" "$work/bench.jsonl" >"$work/publish.log" 2>&1 &
pub=$!
sleep 3
log "killing winnow-2 and nats-2 mid-stream"
docker kill "$("${DC[@]}" ps -q winnow-2)" "$("${DC[@]}" ps -q nats-2)" >/dev/null
sleep 4
docker start "$("${DC[@]}" ps -q winnow-2)" "$("${DC[@]}" ps -q nats-2)" >/dev/null
wait "$pub" || { cat "$work/publish.log"; fail "publisher failed"; }
log "$(cat "$work/publish.log")"
# audited LABEL IDS WAIT: winnow audit finds every id of the JSON-lines file
# IDS exactly once (and no record a duplicate of itself); its report is kept
# in $work/audit.json.
audited() {
	"$W" audit --nats-url "$ADMIN" --ids "$2" --wait "$3" --self-dups >"$work/audit.json" || true
	python3 - "$1" "$work/audit.json" "$(wc -l <"$2")" <<'PY'
import json, sys
label, a, n = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])
missing, twice = a.get("missing") or [], a.get("ids_twice") or []
print(f"{label}: {a['messages']} outcomes for {n} inputs {a['by_outcome']}; missing {len(missing)}, ids twice {len(twice)}")
assert not missing and not twice and a["distinct_ids"] == n and not a.get("self_duplicates"), a
PY
}
audited compose "$work/bench.jsonl" 600s
# The dedupe bucket as worker.shared.max_bytes (WINNOW_WORKER_SHARED_MAX_BYTES)
# made it, and its size in a replica's metrics.
"$NATS" -s "$ADMIN" stream info KV_WINNOW_DEDUPE --json >"$work/bucket.json" || fail "stream info KV_WINNOW_DEDUPE failed"
python3 - "$work/bucket.json" <<'PY'
import json, sys, urllib.request
i = json.load(open(sys.argv[1]))
c, s = i["config"], i["state"]
m = urllib.request.urlopen("http://127.0.0.1:8081/metrics", timeout=5).read().decode()
gauge = [l for l in m.splitlines() if l.startswith("winnow_dedupe_bucket_bytes ")]
print(f"compose: dedupe bucket max_bytes {c['max_bytes']}, discard {c['discard']}, {s['messages']} messages, "
      f"{s['bytes']} bytes; winnow-1 says {gauge}")
assert c["max_bytes"] == 1 << 30 and c["discard"] == "old", c
assert gauge and float(gauge[0].split()[1]) > 0, gauge
PY
# The admin user can read the dead letters back: a dry-run redrive against the cluster.
"$W" redrive --nats-url "$ADMIN" --dry-run >"$work/redrive.json" || fail "redrive --dry-run against the cluster failed"
python3 - "$work/redrive.json" "$work/audit.json" <<'PY'
import json, sys
r, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(f"compose: redrive --dry-run read {r['dead_letters']} dead letters")
assert r["dead_letters"] == a["by_outcome"].get("dead_letter", 0) and not r["redriven"], r
PY

# A rolling restart of the NATS cluster, as the NATS Helm chart does one: each
# server in turn put in lame duck mode (SIGUSR2, `nats-server --signal ldm`,
# what its preStop hook sends), which hands its leaders over, closes its
# clients and exits 0, then started again (Docker does not restart a
# container it signalled itself). Meanwhile the crawler publishes 6,000 more
# documents (bench documents under new ids) over 50s, longer than the roll.
python3 - "$work/bench.jsonl" "$work/roll.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for i, line in enumerate(f):
        if i == 6000:
            break
        d = json.loads(line)
        d["id"] = f"roll-{d['id']}"
        out.write(json.dumps(d) + "\n")
PY
"$W" publish --nats-url "$CRAWLER" --subject docs.raw.roll --rate 120 "$work/roll.jsonl" >"$work/publish-roll.log" 2>&1 &
pub=$!
log "rolling the NATS cluster through lame duck mode while publishing 6000 more"
exited() { [ "$(docker inspect -f '{{.State.Running}}' "$1")" = false ]; }
for node in nats-3 nats-2 nats-1; do
	id=$("${DC[@]}" ps -q "$node")
	docker kill --signal=USR2 "$id" >/dev/null
	WAIT=60 wait_until exited "$id" || fail "$node still running 60s after the lame duck signal"
	code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
	[ "$code" = 0 ] || fail "$node exited $code from lame duck mode"
	docker start "$id" >/dev/null
	WAIT=90 wait_until healthy || { "${DC[@]}" ps; fail "stack not healthy after $node's restart"; }
	log "$node: lame duck mode, exit 0, started again; stack healthy"
done
wait "$pub" || { cat "$work/publish-roll.log"; fail "publisher failed during the rolling restart"; }
log "$(cat "$work/publish-roll.log")"
notices=()
for s in winnow-1 winnow-2 winnow-3; do
	# Not `docker logs | grep -q`: grep leaving early fails docker logs on
	# SIGPIPE, and pipefail fails the check (seen in CI).
	docker logs "$("${DC[@]}" ps -q "$s")" >"$work/$s.log" 2>&1
	n=$(grep -c "nats server entering lame duck mode" "$work/$s.log" || true)
	[ "$n" -gt 0 ] || fail "$s logged no lame duck notice"
	notices+=("$s $n")
done
log "lame duck notices: ${notices[*]}"
cat "$work/bench.jsonl" "$work/roll.jsonl" >"$work/all.jsonl"
audited "compose rolling restart" "$work/all.jsonl" 300s

# SIGTERM: unready first, drain, exit 0 within the grace period.
id=$("${DC[@]}" ps -q winnow-3)
docker stop -t 40 "$id" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
docker logs "$id" 2>&1 | tail -20 >"$work/stop.log"
[ "$code" = 0 ] || { cat "$work/stop.log"; fail "winnow-3 exited $code on SIGTERM"; }
grep -q "shutting down: unready" "$work/stop.log" && grep -q '"drained"' "$work/stop.log" ||
	{ cat "$work/stop.log"; fail "winnow-3 did not turn unready and drain"; }
log "SIGTERM: winnow-3 turned unready, drained, exit 0"
log "deploy/e2e.sh: PASS"
