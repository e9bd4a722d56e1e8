#!/usr/bin/env bash
# The cost of Lua moderation on the send path: the referee scenarios with
# no scripts, then with antiflood.lua and wordfilter.lua as before_message
# handlers (limits raised so that no benchmark sender is ever limited: the
# cost measured is the check, not the rejection). Results go to
# bench/results/ tagged "noscripts" and "scripts"; compare the medians the
# two runs print (docs/performance.md, "Scripts on the send path").
#
#   bench/run_scripts.sh [-n RUNS] [SCENARIO...]   (default: -n 3 fanout5 fanout200 saturate)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-n 3 fanout5 fanout200 saturate)
extra=$(mktemp)
trap 'rm -f "$extra"' EXIT
cat >"$extra" <<CONF
scripts = {
  { file = "$root/scripts/antiflood.lua", moderation = true,
    options = { max_messages = 100000, per_seconds = 10 } },
  { file = "$root/scripts/wordfilter.lua", options = { patterns = {
    { pattern = "buy cheap", plain = true, action = "reject", reason = "no advertising" },
    { pattern = "%f[%w]darn%f[%W]", action = "mask" },
    { pattern = "password", action = "warn" },
  } } },
}
CONF
echo "== without scripts" >&2
TAG=noscripts "$root/bench/run_referee.sh" "${args[@]}"
echo "== with antiflood.lua and wordfilter.lua" >&2
EXTRA_CONFIG=$extra TAG=scripts "$root/bench/run_referee.sh" "${args[@]}"
