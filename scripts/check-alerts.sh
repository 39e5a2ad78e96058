#!/usr/bin/env bash
# The alert rules parse and behave: promtool checks deploy/observability/alerts.yaml
# and runs its unit tests (alerts_test.yaml: each alert fires when it should and
# stays quiet when it should not). The dashboard's queries parse too: each is
# checked as a recording rule, Grafana's variables given values.
source "$(dirname "$0")/lib.sh"
promtool=$(need_promtool)
cd "$ROOT/deploy/observability"
"$promtool" check rules alerts.yaml
"$promtool" test rules alerts_test.yaml

queries=$(mktemp --suffix=.yaml)
trap 'rm -f "$queries"' EXIT
python3 - dashboard.json >"$queries" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
values = {"$__rate_interval": "5m", "$namespace": ".*", "$job": ".*"}
print("groups:\n  - name: dashboard\n    rules:")
n = 0
for p in d["panels"]:
    for t in p.get("targets", []):
        expr = t["expr"]
        for k, v in values.items():
            expr = expr.replace(k, v)
        if "$" in expr:
            sys.exit(f"panel {p['id']} {t['refId']}: a variable with no value here: {expr}")
        print(f"      - record: dashboard:panel{p['id']}:{t['refId']}")
        print(f"        expr: {json.dumps(expr)}")
        n += 1
if n == 0:
    sys.exit("dashboard.json: no queries")
PY
log "dashboard.json: $(grep -c 'record:' "$queries") queries"
"$promtool" check rules "$queries"
