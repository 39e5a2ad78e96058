#!/usr/bin/env bash
# End-to-end: the worker with the real nats CLI.
#  1. README flow: `winnow run` with embedded NATS, `nats pub docs.raw.demo` of the
#     seed article, the cleaned record read back from docs.clean.demo, repeats gone,
#     and the same record from `winnow clean --text seed-article.txt`; a context the
#     nats CLI saved, read by `winnow show --context --follow`, which shows the next
#     outcome as it comes and exits 0 on SIGINT; a gzipped windows-1252 body sent
#     with its headers, cleaned as its text; a text/html page,
#     cleaned as the text a browser shows; a page of 250,000 one-letter lines, its
#     record listing 1000 of its removals and counting the rest;
#     a 7 MB document over max_doc_bytes, its dead letter in parts, redriven whole;
#     `nats consumer pause` and `resume` seen in the log, winnow_consumer_pending and
#     winnow_consumer_lag_seconds.
#  2. The whole bench corpus through one worker on a separate nats-server, with
#     `kill -TERM` mid-stream and a restart: the worker turns unready, exits 0 within
#     the drain deadline, and afterwards every input has exactly one outcome.
source "$(dirname "$0")/lib.sh"

e2e_workdir

NATS=$(need_natscli)
build_binaries "$work"
W="$work/winnow"

# ---- 1. embedded NATS, seed article ------------------------------------------
nport=$(free_port); hport=$(free_port)
log "winnow run (embedded NATS on $nport)"
WINNOW_EMBEDDED_PORT=$nport "$W" run --store-dir "$work/embedded" --http-addr "127.0.0.1:$hport" >"$work/embedded.log" 2>&1 &
pids+=($!)
wait_until "$W" healthcheck --url "http://127.0.0.1:$hport/readyz" || { cat "$work/embedded.log"; fail "worker not ready"; }

python3 - "$CORPUS/seed-gold.jsonl" >"$work/seed.json" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read())
print(json.dumps({"id": "seed", "text": d["text"]}))
PY
"$NATS" -s "nats://127.0.0.1:$nport" sub docs.clean.demo --count 1 --raw >"$work/seed.out" 2>"$work/sub.err" &
sub=$!
sleep 0.5
"$NATS" -s "nats://127.0.0.1:$nport" pub docs.raw.demo --no-templates "$(cat "$work/seed.json")"
WAIT=20 wait_until test -s "$work/seed.out" || fail "no record on docs.clean.demo"
wait "$sub" || true
python3 - "$CORPUS/seed-gold.jsonl" "$work/seed.out" <<'PY'
import json, sys
gold = json.loads(open(sys.argv[1]).read())
rec = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
lines = gold["text"].split("\n")
raw = gold["text"].encode()
removed_lines = {raw[:r["offset"]].count(b"\n") for r in rec["removed"]}
for i in (5, 20, 43, 135, 137):
    assert i in removed_lines, f"seed line {i} not removed: {lines[i]!r}"
assert rec["text"].count("China illustration") == 1, "caption still repeated"
print(f"seed: {len(rec['removed'])} removals, {rec['stats']['bytes_in']} -> {rec['stats']['bytes_out']} bytes")
PY
# winnow show finds the record on the stream and says why the caption went.
"$W" show --nats-url "nats://127.0.0.1:$nport" seed >"$work/show.out" || fail "winnow show seed failed"
grep -q '^seed: clean on docs.clean.demo' "$work/show.out" && grep -q 'exact_repeat (line): repeats @124+18' "$work/show.out" ||
	fail "winnow show seed: $(head -5 "$work/show.out")"
echo "show: $(grep -c '^    @' "$work/show.out") removals explained"
# Batch mode on the plain-text file gives the record the worker gave.
"$W" clean --quiet --text "$CORPUS/seed-article.txt" >"$work/seed-text.jsonl" || fail "winnow clean --text seed-article.txt failed"
python3 - "$work/seed.out" "$work/seed-text.jsonl" <<'PY'
import json, sys
worker = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
batch = json.loads(open(sys.argv[2]).read())
for k in ("text", "removed", "flags", "stats"):
    assert batch[k] == worker[k], f"clean --text: {k} differs from the worker's record"
print(f"clean --text seed-article.txt: the worker's record ({batch['stats']['bytes_in']} -> {batch['stats']['bytes_out']} bytes)")
PY
# A context the nats CLI saved takes the tools there; a follower started before the next
# document shows its outcome as it is stored, and SIGINT ends it with exit 0.
XDG_CONFIG_HOME="$work/xdg" "$NATS" context save e2e --server "nats://127.0.0.1:$nport" >/dev/null ||
	fail "nats context save failed"
XDG_CONFIG_HOME="$work/xdg" "$W" show --context e2e --follow latin1 >"$work/follow.out" 2>"$work/follow.err" &
follower=$!
pids+=("$follower")
WAIT=20 wait_until grep -q 'Ctrl-C ends' "$work/follow.err" || fail "winnow show --follow: $(cat "$work/follow.err")"
# A gzipped plain-text body in windows-1252, as a crawler passing on a page's bytes
# compressed would send it: the record holds the text, decoded, its repeat gone.
printf 'Caf\xe9 cr\xe8me at the harbour.\nCaf\xe9 cr\xe8me at the harbour.\nThe end.\n' | gzip >"$work/latin1.gz"
"$NATS" -s "nats://127.0.0.1:$nport" pub docs.raw.demo --no-templates --force-stdin -H Content-Encoding:gzip \
	-H 'Content-Type:text/plain; charset=windows-1252' -H Winnow-Id:latin1 <"$work/latin1.gz" >/dev/null 2>&1 ||
	fail "nats pub of the gzipped body failed"
WAIT=20 wait_until sh -c "'$W' show --nats-url nats://127.0.0.1:$nport latin1 >'$work/latin1.out' 2>&1" ||
	fail "no outcome for the gzipped body: $(cat "$work/latin1.out")"
grep -q '^latin1: clean on docs.clean.demo' "$work/latin1.out" && grep -q '"Café crème at the harbour."' "$work/latin1.out" ||
	fail "the gzipped windows-1252 body: $(cat "$work/latin1.out")"
echo "gzip, windows-1252: $(sed -n 2p "$work/latin1.out" | sed 's/^ *//')"
WAIT=20 wait_until grep -q '^latin1: clean on docs.clean.demo' "$work/follow.out" ||
	fail "winnow show --context e2e --follow latin1 showed no outcome: $(cat "$work/follow.out" "$work/follow.err")"
kill -INT "$follower"
code=0; wait "$follower" || code=$?
[ "$code" = 0 ] || fail "winnow show --follow: exit $code after SIGINT"
echo "show --context e2e --follow: the outcome as it came, exit 0 on SIGINT"
# A page as a crawler fetched it (text/html, its charset in its <meta>): cleaned as the
# text a browser shows, no markup or script in the record, the caption's repeat gone.
printf '<!DOCTYPE html><html><head><meta charset="windows-1252"><title>Harbour</title><script>track("page")</script></head>\n<body><nav><a href="/">Home</a></nav><figure><img src="a.jpg"><figcaption>Caf\xe9 at the harbour</figcaption></figure>\n<p>Caf\xe9 at the&nbsp;harbour</p><p>The boats came in at dawn.</p></body></html>\n' >"$work/page.html"
"$NATS" -s "nats://127.0.0.1:$nport" pub docs.raw.demo --no-templates --force-stdin -H Content-Type:text/html -H Winnow-Id:page \
	<"$work/page.html" >/dev/null 2>&1 || fail "nats pub of the page failed"
WAIT=20 wait_until sh -c "'$W' show --nats-url nats://127.0.0.1:$nport page >'$work/page.out' 2>&1" ||
	fail "no outcome for the page: $(cat "$work/page.out")"
grep -q '^page: clean on docs.clean.demo' "$work/page.out" && grep -q 'exact_repeat' "$work/page.out" &&
	! grep -qE '<|track\(' "$work/page.out" || fail "the text/html page: $(cat "$work/page.out")"
echo "text/html page: $(grep -c . "$work/page.out") lines of show, no markup; $(grep -m1 exact_repeat "$work/page.out" | sed 's/^ *//')"
# A page of 250,000 one-letter lines: its record lists max_removals (1000) of the
# repeats and counts the rest, where it was a 30 MB record, dead-lettered.
python3 -c 'import json; print(json.dumps({"id": "tiny", "text": "\n".join(["a"] * 250000)}))' >"$work/tiny.jsonl"
"$W" publish --nats-url "nats://127.0.0.1:$nport" "$work/tiny.jsonl" >/dev/null 2>&1 || fail "winnow publish of the page of one-letter lines failed"
WAIT=20 wait_until sh -c "'$W' show --nats-url nats://127.0.0.1:$nport tiny >'$work/tiny.out' 2>&1" ||
	fail "no outcome for the page of one-letter lines: $(head -3 "$work/tiny.out")"
grep -q '^tiny: clean on ' "$work/tiny.out" && grep -q '^  removed 249999 (exact_repeat 249999), 1000 listed:$' "$work/tiny.out" &&
	grep -q '^    … 248999 more, not listed' "$work/tiny.out" || fail "the page of one-letter lines: $(grep -v '^      ' "$work/tiny.out" | head -5)"
echo "250,000 one-letter lines: $(grep '^  removed' "$work/tiny.out" | sed 's/^ *//')"
# A 7 MB document over max_doc_bytes (1 MiB) whose dead letter, its backslashes
# escaped again, is over max_payload (8 MiB): kept in parts, and once the worker
# takes larger documents, `winnow redrive --reasons too_large` cleans it (before
# this, its dead letter kept the first 64 KiB, and a redrive skipped it).
python3 -c 'import json; print(json.dumps({"id": "wide", "text": "".join("Line %d: C:\\path\\to\\file\n" % i for i in range(230000))}))' >"$work/wide.jsonl"
"$W" publish --nats-url "nats://127.0.0.1:$nport" "$work/wide.jsonl" >/dev/null 2>&1 || fail "winnow publish of the 7 MB document failed"
WAIT=20 wait_until sh -c "'$W' show --nats-url nats://127.0.0.1:$nport wide >'$work/wide.out' 2>&1" ||
	fail "no outcome for the 7 MB document: $(head -3 "$work/wide.out")"
grep -q '^wide: dead_letter on ' "$work/wide.out" && grep -q "^  input: $(wc -c <"$work/wide.jsonl" | awk '{print $1-1}') bytes from docs.raw.bench (utf-8, the first of 2 parts," "$work/wide.out" ||
	fail "the 7 MB document's dead letter: $(cut -c1-160 "$work/wide.out")"
kill -TERM "${pids[0]}"; wait "${pids[0]}" || fail "embedded worker exited non-zero on SIGTERM"
WINNOW_EMBEDDED_PORT=$nport WINNOW_WORKER_MAX_DOC_BYTES=8MiB "$W" run --store-dir "$work/embedded" --http-addr "127.0.0.1:$hport" >>"$work/embedded.log" 2>&1 &
pids=($!)
wait_until "$W" healthcheck --url "http://127.0.0.1:$hport/readyz" || { tail -20 "$work/embedded.log"; fail "worker not ready again"; }
"$W" redrive --nats-url "nats://127.0.0.1:$nport" --reasons too_large >"$work/redrive.json" || fail "winnow redrive failed"
python3 - "$work/redrive.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["redriven"] == {"too_large": 1} and r["parts"] == 1 and not r["skipped"], r
PY
WAIT=30 wait_until sh -c "'$W' show --nats-url nats://127.0.0.1:$nport wide 2>&1 | grep -q '^wide: clean on '" ||
	fail "the redriven 7 MB document was not cleaned"
echo "7 MB document over max_doc_bytes: dead letter in 2 parts, redriven whole: $(tr -d ' \n' <"$work/redrive.json")"
# An operator's pause with the real CLI (`nats consumer pause`): the worker says so,
# /metrics counts the inputs held back, and after `nats consumer resume` they are
# cleaned and the count is 0 again (it is looked up every 10 s).
pending() { curl -fs "http://127.0.0.1:$hport/metrics" | awk '/^winnow_consumer_pending / {print int($2)}'; }
export -f pending; export hport
"$NATS" -s "nats://127.0.0.1:$nport" consumer pause WINNOW_RAW winnow 1h --force >/dev/null || fail "nats consumer pause failed"
for i in 1 2 3 4 5; do
	"$NATS" -s "nats://127.0.0.1:$nport" pub docs.raw.demo --no-templates "{\"id\":\"held-$i\",\"text\":\"Held back while the consumer is paused, number $i.\"}" >/dev/null 2>&1 ||
		fail "nats pub while the consumer is paused failed"
done
WAIT=30 wait_until bash -c '[ "$(pending)" = 5 ]' || fail "winnow_consumer_pending is not 5 while the consumer is paused: $(pending)"
# The lag is read just after the count in the same look: wait for it too.
lag() { curl -fs "http://127.0.0.1:$hport/metrics" | awk '/^winnow_consumer_lag_seconds / {print $2}'; }
export -f lag
WAIT=30 wait_until bash -c 'awk -v v="$(lag)" "BEGIN { exit !(v > 0) }"' ||
	fail "winnow_consumer_lag_seconds is not above 0 while inputs wait: '$(lag)'"
lag=$(lag)
grep -q '"the input consumer is paused (nats consumer pause)' "$work/embedded.log" || fail "no warning that the input consumer is paused"
"$NATS" -s "nats://127.0.0.1:$nport" consumer resume WINNOW_RAW winnow --force >/dev/null || fail "nats consumer resume failed"
WAIT=30 wait_until sh -c "'$W' show --nats-url nats://127.0.0.1:$nport held-1 held-5 >/dev/null 2>&1" || fail "the inputs held back were not cleaned after the resume"
WAIT=30 wait_until bash -c '[ "$(pending)" = 0 ]' || fail "winnow_consumer_pending is not 0 after the resume: $(pending)"
grep -q '"the input consumer is resumed"' "$work/embedded.log" || fail "no line that the input consumer is resumed"
echo "nats consumer pause: 5 inputs counted in winnow_consumer_pending, the oldest ${lag}s old, and a warning; after the resume, cleaned, pending 0"
kill -TERM "${pids[0]}"; wait "${pids[0]}" || fail "embedded worker exited non-zero on SIGTERM"
pids=()

# ---- 2. bench corpus, SIGTERM mid-stream, restart ------------------------------
nport=$(free_port); hport=$(free_port)
nats_conf "$nport" "$work/js" "$work/nats.conf"
"$work/nats-server" -c "$work/nats.conf" >"$work/nats.log" 2>&1 &
pids+=($!)
URL="nats://127.0.0.1:$nport"
wait_port "$nport" || fail "nats-server not up"

start_worker() {
	"$W" run --nats-url "$URL" --http-addr "127.0.0.1:$hport" >>"$work/worker.log" 2>&1 &
	wpid=$!
	pids+=($wpid)
	wait_until "$W" healthcheck --url "http://127.0.0.1:$hport/readyz" || { cat "$work/worker.log"; fail "worker not ready"; }
}
start_worker
zcat "$CORPUS/bench.jsonl.gz" >"$work/bench.jsonl"
total=$(wc -l <"$work/bench.jsonl")
log "publishing $total bench documents with JetStream acks"
"$NATS" -s "$URL" pub docs.raw.bench --send-on newline -J --no-templates --force-stdin <"$work/bench.jsonl" >"$work/pub.log" 2>&1 &
pub=$!

WAIT=120 wait_until sh -c "[ \"\$(curl -fs http://127.0.0.1:$hport/metrics | awk '/^winnow_documents_total\\{outcome=\"clean\"\\}/ {print int(\$2)}')\" -gt 3000 ]" ||
	fail "worker made no progress"
# Watch readiness while the worker shuts down.
( while curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$hport/readyz"; do sleep 0.005; done ) >"$work/ready.log" 2>/dev/null &
watch=$!
t0=$(date +%s%N)
kill -TERM "$wpid"
code=0; wait "$wpid" || code=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill "$watch" 2>/dev/null || true
[ "$code" -eq 0 ] || { tail -20 "$work/worker.log"; fail "worker exited $code on SIGTERM"; }
[ "$ms" -lt 25000 ] || fail "drain took ${ms}ms, over the 25s deadline"
grep -q "shutting down: unready" "$work/worker.log" || fail "no unready log line"
grep -q '"drained"' "$work/worker.log" || fail "worker did not report drained"
grep -q 503 "$work/ready.log" && log "readyz went 503 during shutdown" || log "readyz: the listener closed before a 503 was seen"
log "SIGTERM: exit 0 after ${ms}ms"

start_worker
wait "$pub" || { tail -5 "$work/pub.log"; fail "publishing failed"; }
"$W" audit --nats-url "$URL" --ids "$work/bench.jsonl" --wait 180s | tee "$work/audit.json"
python3 - "$work/audit.json" "$total" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); total = int(sys.argv[2])
assert a["messages"] == total and a["distinct_ids"] == total, a
assert not a.get("missing") and not a.get("ids_twice"), a
print(f"bench: {total} inputs -> {a['by_outcome']}, none missing, no id twice")
PY
log "e2e-worker: PASS"
