#!/usr/bin/env bash
# Runs the tests that wait on time (the browser console, the crash test,
# the feed's real-time reaction, the ClickHouse cluster, `vetrina up`) N
# times in a row (default 5) while `stress --cpu 1` burns one of the
# machine's cores, and prints how many runs of each passed. A test that
# depends on timing it does not control fails here first.
#   scripts/stress-tests.sh [N] [go test -run regexp]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-5}"
run="${2:-^(TestConsole_InABrowser|TestCrash_.*|TestRealtime_.*|TestCluster.*|TestUp_.*)$}"
scripts/install-deps.sh --test --stress
stress --cpu 1 --quiet &
burner=$!
trap 'kill "$burner" 2>/dev/null || true' EXIT
log="$(mktemp "${TMPDIR:-/tmp}/stress-tests.XXXXXX.log")"
echo "stress-tests: $n runs of $run with one core burnt; log in $log"
status=0
go test -count="$n" -p 1 -timeout 60m -v -run "$run" ./cmd/vetrina ./ranking ./store >"$log" 2>&1 || status=$?
grep -E '^--- (PASS|FAIL)' "$log" | sed -E 's/ \([0-9.]+s\)$//' | sort | uniq -c
grep -E '^--- FAIL' "$log" >/dev/null && grep -E -A15 '^--- FAIL' "$log" | head -80
exit "$status"
