#!/bin/sh
# The kill -9 durability trial of tests/integration/test_kill9.py, N times
# (default 200): each trial acks a random number of messages, kills the
# server, restarts it and checks every acked message is stored.
#   tests/soak_kill9.sh [N] [BUILD_DIR]      (BUILD_DIR default build/debug)
set -eu
n="${1:-200}"
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${2:-$here/build/debug}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "kill -9 soak: $n trials against $build/parley"
start=$(date +%s)
status=0
PARLEY_KILL9_TRIALS="$n" PARLEY_KILL9_SEED="${PARLEY_KILL9_SEED:-$start}" \
	/usr/bin/python3 -m pytest -q -p no:cacheprovider -rf \
	"$here/tests/integration/test_kill9.py" \
	--parley-bin="$build/parley" --parley-build="$build" >"$log" 2>&1 || status=$?
passed=$(grep -Eo '[0-9]+ passed' "$log" | grep -Eo '[0-9]+' || echo 0)
failed=$(grep -Eo '[0-9]+ failed' "$log" | grep -Eo '[0-9]+' || echo 0)
errors=$(grep -Eo '[0-9]+ errors?' "$log" | grep -Eo '[0-9]+' || echo 0)
grep '^FAILED' "$log" || true
echo "summary: $n trials, $passed passed, $failed failed, $errors errors," \
	"$(($(date +%s) - start)) s (seed ${PARLEY_KILL9_SEED:-$start}; full log: rerun with -v)"
if [ "$status" -ne 0 ]; then tail -n 40 "$log"; fi
exit "$status"
