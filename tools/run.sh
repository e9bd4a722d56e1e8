#!/usr/bin/env bash
# README command 1: install what is missing, build the release preset and
# start the server in the foreground.
#
#   tools/run.sh                  the embedded defaults: http://127.0.0.1:8080,
#                                 data in ./data (SQLite file, spool)
#   tools/run.sh ARGS...          passed to parley as they are, e.g.
#                                 tools/run.sh --listen 0.0.0.0:8080
#                                 tools/run.sh --config config/parley.conf
#
# The server's JSON log lines go to this terminal. The address to open and,
# on the first start, the link that creates the admin account are repeated
# in a box so that they are not lost among them. Ctrl-C stops the server
# gracefully.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tools/setup.sh
# No tests here: their libraries (cmocka) come with `tools/setup.sh --test`.
# A user's build: warnings are not errors here (CI and the presets make them so).
cmake --preset release -DPARLEY_TESTS=OFF -DPARLEY_WERROR=OFF >/dev/null
cmake --build --preset release -j"$(nproc)"

bin=build/release/parley
[ -x "$bin" ] || { echo "run.sh: $bin was not built" >&2; exit 1; }

bold="" plain=""
if [ -t 2 ]; then bold=$'\e[1m' plain=$'\e[0m'; fi

box() {
	printf '\n%s==================================================================%s\n' "$bold" "$plain" >&2
	for l in "$@"; do printf '%s  %s%s\n' "$bold" "$l" "$plain" >&2; done
	printf '%s==================================================================%s\n\n' "$bold" "$plain" >&2
}

# Echoes every line; once the server listens, shows the URL and, on a
# first start, the admin link (printed before or after "listening").
announce() {
	trap '' INT # Ctrl-C is the server's to handle; keep its last lines
	local line addr url="" link=""
	while IFS= read -r line; do
		printf '%s\n' "$line" >&2
		case $line in
		*'"event":"listening"'*)
			[ -z "$url" ] || continue # several listeners: the first one
			addr=$(sed -n 's/.*"addr":"\([^"]*\)".*/\1/p' <<<"$line")
			url="http://$addr"
			case $addr in
			0.0.0.0:* | '[::]:'*) url="http://localhost:${addr##*:}  (and this machine's address)" ;;
			esac
			if [ -n "$link" ]; then
				box "parley is running: open $url" "" "First start: create the admin account by opening" \
					"  $link" "(the link works once)" "" "Stop it with Ctrl-C."
			else
				box "parley is running: open $url" "Stop it with Ctrl-C."
			fi
			;;
		*'first start'*'open '*)
			link=$(sed -n 's/.*open \([^ ]*\) to create.*/\1/p' <<<"$line")
			[ -z "$url" ] || box "First start: create the admin account by opening" "  $link" \
				"(the link works once)"
			;;
		esac
	done
}

set +e
"$bin" "$@" 2>&1 | announce
rc=${PIPESTATUS[0]}
exit "$rc"
