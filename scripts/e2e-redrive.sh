#!/usr/bin/env bash
# Outage and redrive drill: winnow with its dedupe state in a KV bucket,
# against a separate nats-server. The bucket is deleted while documents
# flow: claims fail, and after max_deliver the documents that need one are
# dead-lettered as processing_failed. A restart recreates the bucket, `winnow
# redrive` sends the dead letters round again, and then every input has
# exactly one outcome (a redriven document counted once, by its new one). A
# second redrive finds nothing left to send.
source "$(dirname "$0")/lib.sh"

N=${REDRIVE_DOCS:-2000}
e2e_workdir
build_binaries "$work"
NATS=$(need_natscli)
W="$work/winnow"
python3 - "$CORPUS/bench.jsonl.gz" "$N" "$work" <<'PY'
import gzip, json, sys
src, n, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
docs = []
for line in gzip.open(src, "rt", encoding="utf-8"):
    d = json.loads(line)
    docs.append(json.dumps({"id": d["id"], "text": d["text"]}))
    if len(docs) == n:
        break
open(f"{work}/docs.jsonl", "w").write("\n".join(docs) + "\n")
open(f"{work}/before.jsonl", "w").write("\n".join(docs[: n // 2]) + "\n")
open(f"{work}/during.jsonl", "w").write("\n".join(docs[n // 2 :]) + "\n")
PY

nport=$(free_port); hport=$(free_port)
URL="nats://127.0.0.1:$nport"
nats_conf "$nport" "$work/js" "$work/nats.conf"
"$work/nats-server" -c "$work/nats.conf" >>"$work/nats.log" 2>&1 &
pids+=($!)
wait_port "$nport" || fail "nats-server did not start"
# While the bucket is gone each claim fails only after nats.go's retries on
# "no responders": 8 handlers got through about 9 documents a second (two
# failed claims each, about 0.4 s apiece), so 32 keep the outage phase short.
cat >"$work/winnow.yaml" <<'YAML'
log: {level: error}
worker: {state: kv, max_deliver: 2, backoff: [100ms], ack_wait: 5s, handlers: 32}
YAML
start_worker() {
	"$W" run --config "$work/winnow.yaml" --nats-url "$URL" --http-addr "127.0.0.1:$hport" >>"$work/worker.log" 2>&1 &
	wpid=$!
	pids+=($wpid)
	WAIT=30 wait_until "$W" healthcheck --url "http://127.0.0.1:$hport/readyz" || { cat "$work/worker.log"; fail "worker not ready"; }
}
outcomes() { curl -fs "http://127.0.0.1:$hport/metrics" | awk '/^winnow_documents_total/ {s += $2} END {print int(s)}'; }
outcomes_reach() { [ "$(outcomes)" -ge "$1" ]; }
wait_outcomes() { # $1: count
	WAIT=120 wait_until outcomes_reach "$1" || fail "$(outcomes) of $1 outcomes"
}

start_worker
"$W" publish --nats-url "$URL" --subject docs.raw.site "$work/before.jsonl" >/dev/null
wait_outcomes $((N / 2))
log "$((N / 2)) documents cleaned; deleting the dedupe bucket"
"$NATS" -s "$URL" kv del WINNOW_DEDUPE -f >/dev/null
"$W" publish --nats-url "$URL" --subject docs.raw.site "$work/during.jsonl" >/dev/null
wait_outcomes "$N"
failed=$(metric 'winnow_dead_letters_total{reason="processing_failed"}' "http://127.0.0.1:$hport/metrics")
failed=${failed%.*}
[ "${failed:-0}" -gt 0 ] || fail "no document was dead-lettered while the bucket was gone"
log "during the outage: $failed of $((N - N / 2)) documents dead-lettered as processing_failed"

kill -TERM "$wpid"
wait "$wpid" || fail "worker did not stop cleanly"
start_worker # recreates the bucket
"$W" redrive --nats-url "$URL" --since 10m >"$work/redrive1.json" || fail "redrive failed"
wait_outcomes "$failed" # the restarted worker's count: the redriven documents
"$W" audit --nats-url "$URL" --ids "$work/docs.jsonl" >"$work/audit.json" || true
"$W" redrive --nats-url "$URL" >"$work/redrive2.json" || fail "second redrive failed"
python3 - "$work" "$failed" "$N" <<'PY'
import json, sys
work, failed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r1, r2, a = (json.load(open(f"{work}/{f}.json")) for f in ("redrive1", "redrive2", "audit"))
print(f"redrive: {r1['redriven']} of {r1['dead_letters']} dead letters sent round; "
      f"audit: {a['messages']} messages {a['by_outcome']}, {a['redriven']} redriven, "
      f"missing {len(a.get('missing', []))}, ids twice {len(a.get('ids_twice', []))}; "
      f"second redrive: {r2['redriven']} sent, {r2['answered']} answered")
assert r1["dead_letters"] == failed and r1["redriven"] == {"processing_failed": failed}, r1
assert a["expected"] == n and a["distinct_ids"] == n and a["redriven"] == failed, a
assert not a.get("missing") and not a.get("ids_twice") and a["messages"] == n + failed, a
assert a["by_outcome"].get("dead_letter", 0) == failed, a  # the old ones, each answered
assert not r2["redriven"] and r2["answered"] == failed and r2["in_flight"] == 0, r2
PY
log "e2e-redrive: PASS"
