#!/usr/bin/env bash
# Malformed flood: 1,000 inputs over every bad class (invalid JSON, invalid
# UTF-8, empty, missing id, missing text, wrong types, nesting bombs, over the
# size limit, plain text without an id) against a worker process and a
# separate nats-server. All must be dead-lettered with a reason, the worker
# must keep running, and its RSS must stay within 10% of its level before the
# flood (after a warm-up round of the same mix).
source "$(dirname "$0")/lib.sh"

e2e_workdir

NATS=$(need_natscli)
build_binaries "$work"
W="$work/winnow"
nport=$(free_port); hport=$(free_port)
URL="nats://127.0.0.1:$nport"
nats_conf "$nport" "$work/js" "$work/nats.conf"
"$work/nats-server" -c "$work/nats.conf" >"$work/nats.log" 2>&1 &
pids+=($!)
wait_port "$nport" || fail "nats-server did not start"
WINNOW_WORKER_MAX_DOC_BYTES=65536 "$W" run --nats-url "$URL" --http-addr "127.0.0.1:$hport" >"$work/worker.log" 2>&1 &
wpid=$!
pids+=($wpid)
WAIT=20 wait_until "$W" healthcheck --url "http://127.0.0.1:$hport/readyz" || { cat "$work/worker.log"; fail "worker not ready"; }

# make_bad N FILE: N lines per class of the nine classes a line can carry.
make_bad() {
	python3 - "$1" "$2" <<'PY'
import sys
n, out = int(sys.argv[1]), open(sys.argv[2], "wb")
deep = b'{"a":' * 60 + b"1" + b"}" * 60
classes = [
    b'{"id":"x","text":',                              # invalid_json
    b'{"id":"u","text":"bad \xff\xfe bytes"}',          # invalid_utf8
    b'{"text":"no id"}',                                # missing_id
    b'{"id":"t","text":"x","fetched_at":5}',           # wrong_type
    b'{"id":"d","text":"x","metadata":' + deep + b"}",  # too_deep
    b'{"id":"big","text":"' + b"z" * 70000 + b'"}',     # too_large
    b"plain text without an id",                        # no_id
    b'{"id":"m"}',                                      # missing_text
    b'{"id":5,"text":"x"}',                             # wrong_type
]
for i in range(n):
    for c in classes:
        out.write(c + b"\n")
PY
}
dlq_count() { curl -fs "http://127.0.0.1:$hport/metrics" | awk '/^winnow_documents_total\{outcome="dead_letter"\}/ {print int($2)}'; }
dlq_reach() { [ "$(dlq_count)" -ge "$1" ]; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$wpid/status"; }

flood() { # $1: lines per class; also $1 empty messages
	make_bad "$1" "$work/bad.jsonl"
	"$W" publish --nats-url "$URL" --subject docs.raw.flood --no-msg-id "$work/bad.jsonl" >/dev/null
	"$NATS" -s "$URL" pub docs.raw.flood.empty "" --count "$1" >/dev/null 2>&1
}

flood 20 # warm-up: 200 inputs
WAIT=60 wait_until dlq_reach 200 ||
	fail "warm-up: $(dlq_count) of 200 dead-lettered"
sleep 1
before=$(rss_kb)
flood 100 # the flood: 1,000 inputs
WAIT=120 wait_until dlq_reach 1200 ||
	fail "flood: $(dlq_count) of 1200 dead-lettered"
sleep 1
after=$(rss_kb)
kill -0 "$wpid" || fail "worker exited during the flood"
curl -fs "http://127.0.0.1:$hport/metrics" | grep '^winnow_dead_letters_total' | tee "$work/reasons.txt"
for r in invalid_json invalid_utf8 empty missing_id missing_text wrong_type too_deep too_large no_id; do
	grep -q "reason=\"$r\"" "$work/reasons.txt" || fail "no dead letter with reason $r"
done
"$W" audit --nats-url "$URL" >"$work/audit.json" || true
python3 - "$work/audit.json" "$before" "$after" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); before, after = int(sys.argv[2]), int(sys.argv[3])
dl = a["by_outcome"].get("dead_letter", 0)
print(f"flood: {dl} dead letters on the stream for 1200 malformed inputs; worker RSS {before} kB before, {after} kB after ({100*(after-before)/before:+.1f}%)")
assert dl == 1200 and a["messages"] == 1200, a
assert after <= before * 1.10, "RSS grew more than 10%"
PY
# None of these is a processing failure: a redrive reads all 1,200 and sends none back.
"$W" redrive --nats-url "$URL" --dry-run >"$work/redrive.json" || fail "redrive --dry-run failed"
python3 - "$work/redrive.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"redrive --dry-run: {r['dead_letters']} dead letters read, {sum(r['redriven'].values())} to redrive, skipped {r['skipped']}")
assert r["dead_letters"] == 1200 and sum(r["skipped"].values()) == 1200 and not r["redriven"], r
PY
log "e2e-flood: PASS"
