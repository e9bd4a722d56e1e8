#!/usr/bin/env bash
# The cost of Lua moderation on the send path: the referee scenarios with
# no scripts, then with antiflood.lua and wordfilter.lua as before_message
# handlers (limits raised so that no benchmark sender is ever limited: the
# cost measured is the check, not the rejection; cpu_ms is the whole window,
# or saturate would switch a script off for its CPU budget). Results go to
# bench/results/ tagged "noscripts" and "scripts", the two interleaved run
# by run (so that foreign load on a shared machine hits both alike); each
# run prints its table (docs/performance.md, "Scripts on the send path").
#
#   bench/run_scripts.sh [-n RUNS] [SCENARIO...]   (default: -n 3 fanout5 fanout200 saturate)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=3
while getopts n: opt; do
	case $opt in
	n) runs=$OPTARG ;;
	*) sed -n '2,10p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(fanout5 fanout200 saturate)
extra=$(mktemp)
trap 'rm -f "$extra"' EXIT
cat >"$extra" <<CONF
scripts = {
  { file = "$root/scripts/antiflood.lua", moderation = true, cpu_ms = 600000, cpu_window = 600,
    options = { max_messages = 100000, per_seconds = 10 } },
  { file = "$root/scripts/wordfilter.lua", cpu_ms = 600000, cpu_window = 600,
    options = { patterns = {
    { pattern = "buy cheap", plain = true, action = "reject", reason = "no advertising" },
    { pattern = "%f[%w]darn%f[%W]", action = "mask" },
    { pattern = "password", action = "warn" },
  } } },
}
CONF
for r in $(seq 1 "$runs"); do
	echo "== run $r without scripts" >&2
	TAG=noscripts "$root/bench/run_referee.sh" -n 1 "${scenarios[@]}"
	echo "== run $r with antiflood.lua and wordfilter.lua" >&2
	EXTRA_CONFIG=$extra TAG=scripts "$root/bench/run_referee.sh" -n 1 "${scenarios[@]}"
done
