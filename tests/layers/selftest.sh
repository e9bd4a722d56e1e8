#!/bin/sh
# check.sh must fail on a tree where a lower layer includes a higher one,
# so that a passing layers test means something.
set -u
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/base" "$t/chat"
printf '#include "base/log.h"\n' >"$t/chat/ok.c"
sh "$here/check.sh" "$t" >/dev/null || { echo "selftest: a good tree was refused"; exit 1; }
printf '#include "chat/chat.h"\n' >"$t/base/bad.c"
out=$(sh "$here/check.sh" "$t") && { echo "selftest: base including chat passed"; exit 1; }
echo "$out" | grep -q 'core/base/bad.c includes chat/' || { echo "selftest: unexpected: $out"; exit 1; }
echo "selftest: ok"
