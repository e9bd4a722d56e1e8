#!/usr/bin/env bash
# Runs the referee load generator (../shared/loadgen) against parley with
# store_sqlite, the way its README describes, and keeps every result.
#
#   bench/run_referee.sh [-n RUNS] [SCENARIO...]
#       RUNS: runs of each scenario (default 3)
#       SCENARIO: idle19k fanout5 fanout200 saturate (default: all four)
#   LOADGEN=DIR  where the load generator lives (default ../shared/loadgen)
#   EXTRA_CONFIG=FILE  appended to the server's config (bench/run_scripts.sh)
#   TAG=NAME     added to the result files' names
#
# Builds the release preset if needed, starts build/release/parley on a free
# loopback port with a temporary data dir (log level warn), creates 19,000
# users with `parley user import` and their tokens with `parley session new`,
# finds the id of `general`, runs each scenario RUNS times, writes each JSON
# line to bench/results/<date>-<scenario>-<run>.json, prints the medians, and
# stops the server by its PID.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

users=19000         # the load generator's idle19k needs this many tokens
token_batch=4000    # names per `parley session new` call
start_timeout=30    # s for the server to answer /healthz
runs=3
while getopts n: opt; do
	case $opt in
	n) runs=$OPTARG ;;
	*) sed -n '2,16p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
scenarios=(idle19k fanout5 fanout200 saturate)
[ $# -eq 0 ] || scenarios=("$@")
loadgen=${LOADGEN:-$root/../shared/loadgen}
py=/usr/bin/python3 # Debian's, which has python3-websockets

[ -x build/release/parley ] || { cmake --preset release -DPARLEY_TESTS=OFF && cmake --build --preset release -j"$(nproc)"; }
make -C "$loadgen" -s loadgen
bin=$root/build/release/parley

# 19,000 connections need that many descriptors, in the server and the client.
ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

port=$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cfg=$tmp/parley.conf
cat >"$cfg" <<CONF
server = { listen = { "127.0.0.1:$port" }, data_dir = "$tmp/data" }
log = { level = "warn" }
-- The referee opens ~4,750 connections from one address and saturates on
-- purpose: the per-address limit and the per-user rate limits are off.
limits = { max_connections_per_addr = 0, rates = false, bot_rates = false }
plugins = { { "auth_local" }, { "store_sqlite" } }
CONF
[ -z "${EXTRA_CONFIG:-}" ] || cat "$EXTRA_CONFIG" >>"$cfg"

start_server() {
	"$bin" --config "$cfg" 2>>"$tmp/server.log" &
	pid=$!
	for _ in $(seq $((start_timeout * 10))); do
		curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
		sleep 0.1
	done
	curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "server did not start" >&2; exit 1; }
}
stop_server() {
	kill -TERM "$pid"
	wait "$pid" || true
	pid=""
}
start_server
echo "server: pid $pid on port $port" >&2

echo "creating $users users and their tokens" >&2
seq -f 'bench%05g' 1 "$users" >"$tmp/names"
sed 's/$/,member/' "$tmp/names" >"$tmp/users.csv"
"$bin" user import "$tmp/users.csv" --config "$cfg" >&2
xargs -n "$token_batch" "$bin" session new --config "$cfg" <"$tmp/names" >"$tmp/tokens"
[ "$(wc -l <"$tmp/tokens")" -eq "$users" ] || { echo "expected $users tokens" >&2; exit 1; }

room=$($py - "$port" "$(head -n1 "$tmp/tokens")" <<'PY'
import asyncio, json, sys
import websockets

async def main(port, token):
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["parley.v1"]) as ws:
        await ws.send(json.dumps({"type": "auth", "rid": 1, "token": token}))
        while True:
            f = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if f.get("rid") == 1:
                break
    rooms = [r["id"] for r in f.get("rooms", []) if r.get("name") == "general"]
    if f.get("type") != "ready" or not rooms:
        sys.exit(f"no general room in the reply: {f}")
    print(rooms[0])

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
PY
)
echo "room general: $room" >&2

# Every run starts from this snapshot (users and tokens, no messages): the
# load generator's client_ids ("lg-CONN-RID") repeat from run to run, and a
# repeated client_id is, by the protocol, a resend that stores and delivers
# nothing.
stop_server
cp -a "$tmp/data" "$tmp/data.clean"

mkdir -p bench/results
date=$(date +%Y%m%d-%H%M)
files=()
for r in $(seq 1 "$runs"); do
	for s in "${scenarios[@]}"; do
		out=bench/results/$date-$s${TAG:+-$TAG}-$r.json
		echo "run $r: $s -> $out" >&2
		rm -rf "$tmp/data" && cp -a "$tmp/data.clean" "$tmp/data"
		start_server
		ROOM=$room "$loadgen/scenarios" "$port" "$tmp/tokens" "$pid" "$s" >"$out.tmp" || true
		if [ -s "$out.tmp" ]; then mv "$out.tmp" "$out"; files+=("$out"); else rm -f "$out.tmp"; echo "  no result" >&2; fi
		kill -0 "$pid" 2>/dev/null || { echo "the server died; its log:" >&2; tail -n 50 "$tmp/server.log" >&2; exit 1; }
		stop_server
	done
done

[ ${#files[@]} -gt 0 ] || exit 1
$py - "${files[@]}" <<'PY'
import json, statistics, sys
from collections import defaultdict

by = defaultdict(list)
for path in sys.argv[1:]:
    with open(path) as f:
        d = json.loads(f.readline())
    by[d["label"].split("/")[-1]].append(d)

def med(rows, get):
    vals = [v for v in (get(r) for r in rows) if v is not None]
    return statistics.median(vals) if vals else None

cols = [
    ("conns", lambda r: r["conns_ready"]),
    ("deliv/s", lambda r: r["deliveries_per_s"]),
    ("p50 ms", lambda r: r["lat_us"]["p50"] / 1000),
    ("p99 ms", lambda r: r["lat_us"]["p99"] / 1000),
    ("missing", lambda r: r["total"]["missing"]),
    ("errors", lambda r: sum(r["errors"].values()) + r["server_errors"]),
    ("KiB/conn", lambda r: (r["server"] or {}).get("rss_per_conn_kb")),
    ("srv cpu%", lambda r: (r["server"] or {}).get("cpu_pct")),
    ("lg cpu%", lambda r: r["loadgen"]["cpu_pct"]),
]
print("medians of %s" % ", ".join(f"{k}: {len(v)} runs" for k, v in by.items()))
print("%-10s" % "scenario" + "".join("%11s" % c for c, _ in cols))
for name, rows in by.items():
    cells = []
    for _, get in cols:
        v = med(rows, get)
        cells.append("%11s" % ("-" if v is None else f"{v:,.1f}" if isinstance(v, float) else f"{v:,}"))
    print("%-10s" % name + "".join(cells))
PY
