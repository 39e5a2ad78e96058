#!/usr/bin/env bash
# The alert rules parse and behave: promtool checks deploy/observability/alerts.yaml
# and runs its unit tests (alerts_test.yaml: each alert fires when it should and
# stays quiet when it should not).
source "$(dirname "$0")/lib.sh"
promtool=$(need_promtool)
cd "$ROOT/deploy/observability"
"$promtool" check rules alerts.yaml
"$promtool" test rules alerts_test.yaml
