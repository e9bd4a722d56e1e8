#!/usr/bin/env bash
# Browser tests: real Chromium (Debian's) through playwright-core, each file
# against its own real server on a free loopback port, one Chromium for all.
#   tests/browser/run.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/debug}
node_bin=node
[ -f "$root/.tools-node" ] && node_bin=$(cat "$root/.tools-node")
[ -d "$root/tests/node_modules/playwright-core" ] || (cd "$root/tests" && npm ci --no-audit --no-fund)
"$node_bin" "$root/tests/browser/all.mjs" "$build"
