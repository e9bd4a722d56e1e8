#!/bin/sh
# The container image, without a Docker engine: runs the Dockerfile's build
# and install steps in a clean Debian 12 root made with mmdebstrap
# (tests/image/dockerfile.py; cached under CACHE, so a second run with
# unchanged sources is quick), then starts the image's command in it, as
# `docker run` would, in private namespaces (its own loopback, so port 8080
# is free), and checks what the image promises (docs/operations.md, Docker):
# the HEALTHCHECK passes, /healthz and /readyz answer, the first-start link
# carries public_url, `parley check-config` passes with the shipped config
# (notify_email finds its templates), the shipped scripts load, the
# documented sqlite3 backup works, SIGTERM stops the server with exit 0.
#
#   tests/image/run.sh [CACHE]     (default build/image; needs root)
# Run by `tools/test.sh --slow`.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-$src/build/image}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "image: needs root (mounts, chroot, namespaces)" >&2; exit 1; }
for t in mmdebstrap unshare ip; do
	command -v $t >/dev/null || { echo "image: $t is missing (tools/setup.sh --test)" >&2; exit 1; }
done

t0=$(date +%s)
/usr/bin/python3 "$src/tests/image/dockerfile.py" build "$src/Dockerfile" "$src" "$cache"
echo "image: built in $(($(date +%s) - t0)) s"

# Runs inside the container's namespaces; in_image, ROOT and IMAGE_* come
# from dockerfile.py. $tmp is the host's folder for logs.
cat >"$tmp/check.sh" <<EOF
tmp='$tmp'
EOF
cat >>"$tmp/check.sh" <<'EOF'
fail() {
	echo "image: FAIL: $*" >&2
	echo "--- server log" >&2
	cat "$tmp/server.log" >&2 || true
	exit 1
}

# As docker run starts it: ENTRYPOINT + CMD, as USER, in WORKDIR, with ENV.
image_exec /bin/sh -c "exec $IMAGE_CMD" >"$tmp/server.log" 2>&1 &
pid=$!

# The image's own HEALTHCHECK, until it passes (at most 20 s).
[ -n "$IMAGE_HEALTHCHECK" ] || fail "the Dockerfile has no HEALTHCHECK"
i=0
until in_image /bin/sh -c "$IMAGE_HEALTHCHECK" >/dev/null 2>&1; do
	kill -0 $pid 2>/dev/null || fail "the server exited"
	i=$((i + 1))
	[ $i -lt 100 ] || fail "HEALTHCHECK did not pass in 20 s"
	sleep 0.2
done
echo "image: HEALTHCHECK passes ($IMAGE_HEALTHCHECK)"

# The image's own config turns on the welcome, dice, poll and remind scripts.
for s in welcome dice poll remind; do
	grep -q "\"event\":\"script_loaded\",\"script\":\"$s\"" "$tmp/server.log" ||
		fail "the image's config did not load the $s script"
done
echo "image: its config loads the welcome, dice, poll and remind scripts"

body=$(curl -fsS http://127.0.0.1:8080/healthz) || fail "/healthz"
[ "$body" = '{"status":"ok"}' ] || fail "/healthz answered $body"
curl -fsS http://127.0.0.1:8080/readyz >/dev/null || fail "/readyz: $(curl -sS http://127.0.0.1:8080/readyz)"
curl -fsS http://127.0.0.1:8080/ | grep -qi '<html' || fail "/ does not serve the web client"
echo "image: /healthz, /readyz and the web client answer on 0.0.0.0:8080"

# The image's /proc is this pid namespace's.
uid=$(awk '/^Uid:/ { print $2 }' "$ROOT/proc/$pid/status")
[ "$(grep "^parley:" "$ROOT/etc/passwd" | cut -d: -f3)" = "$uid" ] ||
	fail "the server runs as uid $uid, not the user parley"
grep -q 'open http://localhost:8080/#invite=' "$tmp/server.log" ||
	fail "the first-start link does not carry public_url"
echo "image: runs as parley; the first-start link carries public_url"

# Every command reads the shipped config through PARLEY_CONFIG.
in_image parley check-config >"$tmp/check.log" 2>&1 ||
	{ cat "$tmp/check.log" >&2; fail "parley check-config with the shipped config"; }
grep -q '"notify_email"' "$ROOT/etc/parley/parley.conf" || fail "the shipped config lost notify_email"
# The same check fails when the templates are not there: it does look.
sed 's|{ "notify_email",|{ "notify_email", templates = "/nonexistent",|' \
	"$ROOT/etc/parley/parley.conf" >"$ROOT/tmp/no-templates.conf"
if in_image parley check-config --config /tmp/no-templates.conf >"$tmp/check2.log" 2>&1; then
	fail "check-config passes without templates: the check above proves nothing"
fi
grep -q 'templates' "$tmp/check2.log" || fail "check-config failed for another reason: $(cat "$tmp/check2.log")"
echo "image: check-config passes with the shipped config (notify_email templates found)"

# The shipped scripts are there and load (a second server, after the checks
# below: the shipped config plus every script, on another port and folder).
scripts=$(cd "$ROOT/usr/local/share/parley/scripts" && ls *.lua) || fail "no scripts installed"
case $scripts in *_test.lua*) fail "test scripts were installed" ;; esac
{
	cat "$ROOT/etc/parley/parley.conf"
	echo 'scripts = {'
	for s in $scripts; do echo "  { file = \"/usr/local/share/parley/scripts/$s\" },"; done
	echo '}'
} >"$ROOT/tmp/scripts.conf"

# The documented backup (docs/operations.md, Backups), while serving.
in_image sqlite3 /var/lib/parley/parley.db ".backup '/tmp/backup.db'" || fail "sqlite3 .backup"
[ "$(in_image sqlite3 /tmp/backup.db 'PRAGMA integrity_check')" = ok ] || fail "the backup is damaged"
[ "$(in_image sqlite3 /tmp/backup.db 'SELECT count(*) FROM sqlite_master')" -gt 0 ] ||
	fail "the backup holds no table"
echo "image: sqlite3 backs the store up while the server runs"

kill -TERM $pid
rc=0
wait $pid || rc=$?
[ $rc = 0 ] || fail "SIGTERM: exit $rc"
echo "image: SIGTERM stops the server with exit 0"

image_exec parley --config /tmp/scripts.conf --listen 127.0.0.1:8081 --data-dir /tmp/data2 \
	>"$tmp/scripts.log" 2>&1 &
pid=$!
i=0
until curl -fsS http://127.0.0.1:8081/healthz >/dev/null 2>&1; do
	kill -0 $pid 2>/dev/null || { cat "$tmp/scripts.log" >&2; fail "the server with the scripts exited"; }
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the server with the scripts did not answer in 20 s"
	sleep 0.2
done
kill -TERM $pid
wait $pid || { cat "$tmp/scripts.log" >&2; fail "the server with the scripts: exit $?"; }
loaded=$(grep -c '"event":"script_loaded"' "$tmp/scripts.log" || true)
[ "$loaded" = "$(echo $scripts | wc -w)" ] ||
	{ cat "$tmp/scripts.log" >&2; fail "$loaded of $(echo $scripts | wc -w) scripts loaded"; }
echo "image: the shipped scripts load:" $scripts
EOF

t1=$(date +%s)
/usr/bin/python3 "$src/tests/image/dockerfile.py" shell "$cache" "$tmp/check.sh"
echo "image: all checks passed (container $(($(date +%s) - t1)) s, total $(($(date +%s) - t0)) s)"
