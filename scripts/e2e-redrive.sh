#!/usr/bin/env bash
# Outage and redrive drill: winnow with its dedupe state in a KV bucket,
# against a separate nats-server. Twice, while documents flow, the bucket is
# filled up (its stream limited to the bytes it holds), so that no claim
# can be made:
# - under the default policy (outage: pause) the worker holds its
#   documents, turns unready and pulls no more; none is dead-lettered, and
#   all are cleaned once the limit is lifted; then the same with the output
#   stream full (discard: new at the messages it holds), where no document
#   can finish and none is nak'ed;
# - restarted with outage: retry, it dead-letters the documents that
#   need a claim as processing_failed after max_deliver. Once the limit is
#   lifted `winnow redrive` sends them round again, and then every input has
#   exactly one outcome (a redriven document counted once, by its new one).
#   A second redrive finds nothing left to send.
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
q = n // 5
open(f"{work}/docs.jsonl", "w").write("\n".join(docs) + "\n")
open(f"{work}/before.jsonl", "w").write("\n".join(docs[: 2 * q]) + "\n")
open(f"{work}/paused.jsonl", "w").write("\n".join(docs[2 * q : 3 * q]) + "\n")
open(f"{work}/full.jsonl", "w").write("\n".join(docs[3 * q : 4 * q]) + "\n")
open(f"{work}/during.jsonl", "w").write("\n".join(docs[4 * q :]) + "\n")
PY
Q=$((N / 5))

nport=$(free_port); hport=$(free_port)
URL="nats://127.0.0.1:$nport"
nats_conf "$nport" "$work/js" "$work/nats.conf"
"$work/nats-server" -c "$work/nats.conf" >>"$work/nats.log" 2>&1 &
pids+=($!)
wait_port "$nport" || fail "nats-server did not start"
# ack_wait x max_deliver + backoff: about 10 s, the longest the retry
# policy holds a document before its dead letter.
cat >"$work/winnow.yaml" <<'YAML'
log: {level: error}
worker: {state: kv, max_deliver: 2, backoff: [100ms], ack_wait: 5s, handlers: 32}
YAML
sed 's/handlers: 32}/handlers: 32, outage: retry}/' "$work/winnow.yaml" >"$work/retry.yaml"
start_worker() { # $1: config file
	"$W" run --config "$1" --nats-url "$URL" --http-addr "127.0.0.1:$hport" >>"$work/worker.log" 2>&1 &
	wpid=$!
	pids+=($wpid)
	WAIT=30 wait_until "$W" healthcheck --url "http://127.0.0.1:$hport/readyz" || { cat "$work/worker.log"; fail "worker not ready"; }
}
m() { metric "$1" "http://127.0.0.1:$hport/metrics" | cut -d. -f1; }
outcomes() { curl -fs "http://127.0.0.1:$hport/metrics" | awk '/^winnow_documents_total/ {s += $2} END {print int(s)}'; }
outcomes_reach() { [ "$(outcomes)" -ge "$1" ]; }
wait_outcomes() { # $1: count
	WAIT=120 wait_until outcomes_reach "$1" ||
		fail "$(outcomes) of $1 outcomes$(kill -0 "$wpid" 2>/dev/null || echo ', the worker has exited')"
}
stream_state() { # $1: stream, $2: field of its state (bytes, messages)
	"$NATS" -s "$URL" stream info "$1" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"][sys.argv[1]])' "$2"
}
fill_bucket() { "$NATS" -s "$URL" kv edit WINNOW_DEDUPE --max-bucket-size="$(stream_state KV_WINNOW_DEDUPE bytes)" >/dev/null; }
lift_limit() { "$NATS" -s "$URL" kv edit WINNOW_DEDUPE --max-bucket-size=-1 >/dev/null; }
fill_output() { "$NATS" -s "$URL" stream edit WINNOW_OUT -f --discard=new --max-msgs="$(stream_state WINNOW_OUT messages)" >/dev/null; }
lift_output() { "$NATS" -s "$URL" stream edit WINNOW_OUT -f --max-msgs=-1 >/dev/null; }
unready() { ! "$W" healthcheck --url "http://127.0.0.1:$hport/readyz"; }

start_worker "$work/winnow.yaml"
"$W" publish --nats-url "$URL" --subject docs.raw.site "$work/before.jsonl" >/dev/null
wait_outcomes $((2 * Q))
log "$((2 * Q)) documents cleaned; filling the dedupe bucket (outage: pause)"
fill_bucket
"$W" publish --nats-url "$URL" --subject docs.raw.site "$work/paused.jsonl" >/dev/null
WAIT=30 wait_until unready || fail "the worker stayed ready with the bucket full"
[ "$(m winnow_paused)" = 1 ] || fail "winnow_paused is not 1 during the outage"
sleep 12 # longer than the retry policy would hold a document
held=$(($(outcomes) - 2 * Q))
dead=$(m 'winnow_dead_letters_total{reason="processing_failed"}')
log "paused: $held of $Q finished in 12 s (they needed no claim), $dead dead-lettered"
[ "$dead" = 0 ] || fail "$dead documents dead-lettered while paused"
[ "$held" -lt "$Q" ] || fail "nothing was held while the bucket was full"
lift_limit
wait_outcomes $((3 * Q))
WAIT=30 wait_until "$W" healthcheck --url "http://127.0.0.1:$hport/readyz" || fail "the worker did not turn ready again"
dead=$(m 'winnow_dead_letters_total{reason="processing_failed"}')
[ "$dead" = 0 ] || fail "$dead documents dead-lettered after the pause"
log "resumed: $((3 * Q)) outcomes, 0 dead letters, $(m winnow_pauses_total) pause(s), $(m winnow_redeliveries_total) redeliveries"

log "filling the output stream (outage: pause)"
fill_output
"$W" publish --nats-url "$URL" --subject docs.raw.site "$work/full.jsonl" >/dev/null
WAIT=30 wait_until unready || fail "the worker stayed ready with the output stream full"
sleep 12
held=$(($(outcomes) - 3 * Q))
naks=$(m 'winnow_naks_total{cause="publish"}')
dead=$(m 'winnow_dead_letters_total{reason="max_deliveries"}')
log "output stream full: $held of $Q finished in 12 s, $naks naks, $dead dead-lettered"
[ "$held" = 0 ] && [ "$naks" = 0 ] && [ "$dead" = 0 ] || fail "documents finished, were nak'ed or dead-lettered with the output stream full"
lift_output
wait_outcomes $((4 * Q))
WAIT=30 wait_until "$W" healthcheck --url "http://127.0.0.1:$hport/readyz" || fail "the worker did not turn ready again"
log "resumed: $((4 * Q)) outcomes, $(m winnow_pauses_total) pauses in all, $(m winnow_redeliveries_total) redeliveries"

kill -TERM "$wpid"
wait "$wpid" || fail "worker did not stop cleanly"
start_worker "$work/retry.yaml"
log "restarted with outage: retry; filling the bucket again"
fill_bucket
"$W" publish --nats-url "$URL" --subject docs.raw.site "$work/during.jsonl" >/dev/null
wait_outcomes "$((N - 4 * Q))"
failed=$(m 'winnow_dead_letters_total{reason="processing_failed"}')
[ "${failed:-0}" -gt 0 ] || fail "no document was dead-lettered while the bucket was full"
log "during the outage: $failed of $((N - 4 * Q)) documents dead-lettered as processing_failed"

lift_limit
"$W" redrive --nats-url "$URL" --since 10m >"$work/redrive1.json" || fail "redrive failed"
wait_outcomes $((N - 4 * Q + failed)) # this worker's count: the outage's documents and the redriven ones
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
