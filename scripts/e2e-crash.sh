#!/usr/bin/env bash
# Crash test: winnow against a separate nats-server, 100k documents (the bench
# corpus cycled, ids rewritten per cycle so every document is new) published
# with JetStream acks. Phase 1: kill -9 the worker 5 times at random moments,
# restarting it each time. Phase 2: the same stream again with the NATS server
# restarted once mid-stream. After each: every input has exactly one outcome
# (clean, duplicate, rejected or dead letter), none missing, no id twice.
# Phase 3 repeats the kills with the cross-document state on a KV bucket.
source "$(dirname "$0")/lib.sh"

N=${CRASH_DOCS:-100000}
cleanup_extra() {
	touch "$work/stop"
	[ -f "$work/worker.pid" ] && kill -9 "$(cat "$work/worker.pid")" 2>/dev/null || true
}
e2e_workdir
exec 2> >(grep -v --line-buffered ' Killed ' >&2) # bash's notices of the kills we make

build_binaries "$work"
W="$work/winnow"
python3 - "$CORPUS/bench.jsonl.gz" "$N" "$work/docs.jsonl" <<'PY'
import gzip, json, sys
src, n, out = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "w")
docs = [json.loads(l) for l in gzip.open(src, "rt", encoding="utf-8")]
k = 0
while k < n:
    for d in docs:
        if k == n:
            break
        c = k // len(docs) + 1
        out.write(json.dumps({"id": d["id"] if c == 1 else f"c{c}/{d['id']}", "text": d["text"]}) + "\n")
        k += 1
PY

nport=$(free_port); hport=$(free_port)
URL="nats://127.0.0.1:$nport"
nats_conf "$nport" "$work/js" "$work/nats.conf"
start_nats() {
	"$work/nats-server" -c "$work/nats.conf" >>"$work/nats.log" 2>&1 &
	npid=$!
	pids+=($npid)
	wait_port "$nport" || fail "nats-server did not start"
}
export WINNOW_WORKER_ACK_WAIT=5s WINNOW_LOG_LEVEL=warn
# supervise restarts the worker whenever it dies, as a container runtime would.
supervise() {
	while [ ! -e "$work/stop" ]; do
		"$W" run --nats-url "$URL" --http-addr "127.0.0.1:$hport" >>"$work/worker.log" 2>&1 &
		echo $! >"$work/worker.pid"
		wait $! || true
		sleep 0.2
	done
}
clean_count() {
	curl -fs "http://127.0.0.1:$hport/metrics" 2>/dev/null | awk '/^winnow_documents_total/ {s += $2} END {print int(s)}'
}

run_phase() { # $1: phase name, $2: chaos function
	rm -rf "$work/js" "$work/stop"
	start_nats
	sleep 0.5
	supervise 2>/dev/null &
	sup=$!
	WAIT=30 wait_until "$W" healthcheck --url "http://127.0.0.1:$hport/readyz" || { tail -20 "$work/worker.log"; fail "$1: worker not ready"; }
	# Rate-limited so the chaos lands while documents are still arriving.
	"$W" publish --nats-url "$URL" --subject docs.raw.crash --rate "${CRASH_RATE:-6000}" "$work/docs.jsonl" >"$work/publish.log" 2>&1 &
	pub=$!
	"$2"
	wait "$pub" || { cat "$work/publish.log"; fail "$1: publisher failed"; }
	log "$1: $(cat "$work/publish.log")"
	"$W" audit --nats-url "$URL" --ids "$work/docs.jsonl" --wait 300s --self-dups >"$work/audit.json" || true
	touch "$work/stop"
	kill -9 "$(cat "$work/worker.pid")" 2>/dev/null || true
	wait "$sup" 2>/dev/null || true
	kill -TERM "$npid" 2>/dev/null || true
	wait "$npid" 2>/dev/null || true
	python3 - "$work/audit.json" "$N" "$1" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); n = int(sys.argv[2])
missing, twice = a.get("missing") or [], a.get("ids_twice") or []
print(f"{sys.argv[3]}: {a['messages']} outcomes for {n} inputs {a['by_outcome']}; missing {len(missing)}, ids twice {len(twice)}")
assert not missing and not twice and a["distinct_ids"] == n, (missing[:5], twice[:5])
assert not a.get("self_duplicates"), ("documents marked duplicates of themselves", a["self_duplicates"][:5])
PY
}

kill_worker_5_times() {
	for i in 1 2 3 4 5; do
		sleep "$(python3 -c 'import random; print(round(random.uniform(0.5, 3.0), 2))')"
		pid=$(cat "$work/worker.pid")
		log "kill -9 worker ($pid) after $(clean_count) outcomes"
		kill -9 "$pid" 2>/dev/null || true
		sleep 0.5
		WAIT=30 wait_until "$W" healthcheck --url "http://127.0.0.1:$hport/readyz" || fail "worker did not come back"
	done
}

restart_nats_once() {
	sleep 4
	log "restarting nats-server after $(clean_count) outcomes"
	kill -TERM "$npid"
	wait "$npid" 2>/dev/null || true
	sleep 1
	start_nats
}

run_phase "kill -9 x5" kill_worker_5_times
rm -f "$work/worker.pid"
run_phase "nats-server restart" restart_nats_once
rm -f "$work/worker.pid"
# Phase 3: the same kills with the cross-document state shared on a KV
# bucket: a redelivered document must find its own claim and commit, never
# becoming a duplicate of itself (audit --self-dups checks every record). A
# window of 1,000 documents, so a restart replays only the bucket's newest
# commits (from a revision it counts) once it holds more than 6,000
# messages, as it does after a second or two: the restarts say which.
export WINNOW_WORKER_STATE=kv WINNOW_PIPELINE_CROSS_OPTIONS_MEMORY_MAX_DOCS=1000 WINNOW_LOG_LEVEL=info
: >"$work/worker.log"
run_phase "kill -9 x5, KV state" kill_worker_5_times
windowed=$(grep -c '"msg":"dedupe state replayed".*"from_revision":[1-9]' "$work/worker.log" || true)
log "KV state: $(grep -c '"msg":"dedupe state replayed"' "$work/worker.log" || true) starts, $windowed of them replaying the bucket's newest commits only"
[ "$windowed" -ge 1 ] || fail "no restart replayed from a revision: $(grep '"msg":"dedupe state replayed"' "$work/worker.log")"
log "e2e-crash: PASS"
